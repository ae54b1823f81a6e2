"""Account page widgets for what people record by hand: contacts they edit, activities they log.

Writes go through :mod:`data.contacts` and :mod:`data.activities` (both audited) inside
``st.form``; CSMs, managers and admins may write, data scientists read. The page has already
checked that the account is in the viewer's book.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import formatting as fmt
from components.session import cursor, workspace
from data.activities import ACTIVITY_KINDS, log_activity
from data.contacts import CONTACT_ROLES, add_contact, deactivate_contact, edit_contact
from data.errors import UserError
from data.opstore import now
from data.users import User
from playbooks.contacts import account_contacts
from playbooks.timeline import own_events

WRITE_ROLES = ("admin", "manager", "csm")
WHICH_WINS = ("Contacts come from your CRM import. A change made here counts at once (playbook emails use it) "
              "and until the next contacts import; from then on the imported list wins again, and this page "
              "says which edits it replaced.")


def can_write(user: User) -> bool:
    return bool(set(WRITE_ROLES).intersection(user.roles))


def _flash(key: str) -> None:
    msg = st.session_state.pop(key, None)
    if msg:
        st.success(msg, icon=":material/check_circle:")


def _write(action, key: str, message: str) -> None:
    try:
        action()
    except UserError as exc:
        st.error(str(exc))
        return
    st.session_state[key] = message
    st.rerun()


def contacts_panel(user: User, account_id: str) -> None:
    """The account's contacts, imported and edited here side by side, with add / edit / deactivate forms."""
    ws = workspace()
    _flash("contacts_flash")
    merged = account_contacts(ws.engine, ws.warehouse, account_id)
    st.caption(WHICH_WINS)
    if merged.empty:
        st.info("No contacts recorded for this account yet.")
    else:
        st.dataframe(
            merged.drop(columns=["editable"]), hide_index=True, key="contacts_table",
            column_config={
                "contact_id": st.column_config.TextColumn("ID", width="small"),
                "email": st.column_config.TextColumn("Email (what counts now)", width="medium"),
                "role": "Role", "status": "Status", "source": "Source",
                "imported_email": st.column_config.TextColumn("Email in the import"),
                "imported_role": st.column_config.TextColumn("Role in the import"),
                "note": st.column_config.TextColumn("Which wins", width="large"),
            }, placeholder="–")
    if not can_write(user):
        st.caption("Your role can read contacts but not change them.")
        return
    left, right = st.columns(2)
    with left, st.form("contact_add", clear_on_submit=True):
        st.markdown("**Add a contact**")
        email = st.text_input("Email", key="contact_add_email", max_chars=320, placeholder="name@company.com")
        role = st.selectbox("Role", CONTACT_ROLES, key="contact_add_role")
        if st.form_submit_button("Add contact", icon=":material/person_add:"):
            _write(lambda: add_contact(ws.engine, account_id, user.username, email, role), "contacts_flash",
                   f"Added {email.strip()} as {role}.")
    editable = merged[merged["editable"]] if not merged.empty else merged
    with right:
        if editable.empty:
            st.caption("No active contact to edit.")
            return
        labels = {r["contact_id"]: f"{r['email']} ({r['role']})" for r in editable.to_dict("records")}
        chosen = st.selectbox("Contact to change", list(labels), format_func=labels.get, key="contact_edit_pick")
        current = editable.set_index("contact_id").loc[chosen]
        with st.form("contact_edit"):
            new_email = st.text_input("Email", value=current["email"], key=f"contact_edit_email_{chosen}",
                                      max_chars=320)
            new_role = st.selectbox("Role", CONTACT_ROLES, key=f"contact_edit_role_{chosen}",
                                    index=CONTACT_ROLES.index(current["role"]) if current["role"] in CONTACT_ROLES
                                    else 0)
            save, off = st.columns(2)
            if save.form_submit_button("Save", icon=":material/save:"):
                _write(lambda: edit_contact(ws.engine, account_id, chosen, user.username, email=new_email,
                                            role=new_role), "contacts_flash", f"Saved {new_email.strip()}.")
            if off.form_submit_button("Deactivate", icon=":material/person_off:"):
                _write(lambda: deactivate_contact(ws.engine, account_id, chosen, user.username,
                                                  email=current["email"], role=current["role"]),
                       "contacts_flash", f"{current['email']} is no longer active; playbooks stop writing to them.")


def activity_form(user: User, account_id: str) -> None:
    """Log a call, meeting, email or note with the day it happened."""
    _flash("activity_flash")
    if not can_write(user):
        return
    with st.form("activity_log", clear_on_submit=True), st.container(horizontal=True, vertical_alignment="bottom"):
        kind = st.selectbox("Activity", ACTIVITY_KINDS, key="activity_kind", format_func=str.capitalize,
                            width=140)
        day = st.date_input("When", value=now().date(), max_value=now().date(), key="activity_day",
                            format="DD/MM/YYYY", width=150)
        summary = st.text_input("What happened", key="activity_summary", max_chars=2000,
                                placeholder="e.g. QBR with the sponsor; renewal looks safe")
        if st.form_submit_button("Log activity", icon=":material/add_task:"):
            _write(lambda: log_activity(workspace().engine, account_id, user.username, kind, day, summary),
                   "activity_flash", f"Logged a {kind} on {fmt.day(day)}.")


def timeline_table(viewer, account_id: str, imported: pd.DataFrame) -> pd.DataFrame:
    """The team's activities, notes and playbook runs beside the imported events, newest first."""
    own = own_events(workspace().engine, viewer, account_id, warehouse=cursor())
    both = pd.concat([own, imported[own.columns.intersection(imported.columns)]], ignore_index=True) \
        if not imported.empty else own
    both["occurred_at"] = pd.to_datetime(both["occurred_at"])
    # Stable: same-time rows keep the order they came in (the team's own first, the imported ones as queried).
    return both.sort_values("occurred_at", ascending=False, kind="stable").reset_index(drop=True)
