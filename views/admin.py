"""Admin: users and roles, the audit log, and the workspace settings (read-only).

User changes go through ``data.users`` (the same code as ``cli.py users``) and each
one is written to the audit log with the admin's username as the actor.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from components import auth, books, sso
from components.session import settings, workspace
from components.tables import csv_download
from data import users as user_store
from data.errors import UserError
from data.opstore import audit, read_audit
from data.sources import mask_url
from data.users import ROLE_LABELS, ROLES

AUDIT_LIMIT = 5000

user = auth.current_user()
ws = workspace()
auth_file = settings().auth_file

st.title("Admin")
st.caption("Users and roles, who did what, and how this workspace is configured.")


def _audited(action: str, target: str, **detail) -> None:
    with ws.engine.begin() as conn:
        audit(conn, user.username, action, target, **detail)


def _flash(message: str, warning: str | None = None) -> None:
    """Show ``message`` as a success note (and ``warning``, if any) after the rerun that refreshes the tables."""
    st.session_state["admin_flash"] = message
    st.session_state["admin_flash_warning"] = warning


def _readable_detail(detail: object) -> str:
    """``{"mode": "replace", "rows": 2}`` -> ``mode: replace · rows: 2``; empty (None or NaN) -> ""."""
    if not isinstance(detail, str) or not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return str(detail)
    if not isinstance(data, dict):
        return str(data)
    return " · ".join(f"{k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in data.items())


def _csm_or_none(text: str) -> str | None:
    return text.strip() or None


if flash := st.session_state.pop("admin_flash", None):
    st.success(flash, icon=":material/check_circle:")
if flash_warning := st.session_state.pop("admin_flash_warning", None):
    st.warning(flash_warning, icon=":material/warning:")

users_tab, sso_tab, audit_tab, settings_tab = st.tabs(["Users and roles", "Single sign-on", "Audit log", "Settings"])

# ------------------------------------------------------------------ users
with users_tab:
    people = user_store.list_users(auth_file)
    m1, m2, m3 = st.columns(3)
    m1.metric("Users", len(people), border=True)
    m2.metric("Enabled", sum(not u.disabled for u in people), border=True)
    m3.metric("Admins", sum("admin" in u.roles and not u.disabled for u in people), border=True)
    table = pd.DataFrame([{
        "username": u.username, "name": u.name, "email": u.email,
        "role": ROLE_LABELS.get(u.role, u.role), "book": u.csm or ("—" if u.role != "csm" else "missing"),
        "status": "disabled" if u.disabled else "enabled",
    } for u in people], columns=["username", "name", "email", "role", "book", "status"])
    st.dataframe(table, hide_index=True, key="users_table", column_config={
        "username": "Username", "name": "Name", "email": "Email", "role": "Role",
        "book": st.column_config.TextColumn("CSM book", help="The CSM name on the accounts a CSM user sees"),
        "status": "Status"}, placeholder="–")

    add_tab, role_tab, password_tab, access_tab = st.tabs(
        ["Add a user", "Change role", "Reset password", "Disable or enable"])
    usernames = [u.username for u in people]
    csm_books = books.books(auth.viewer(user))

    with add_tab, st.form("add_user", clear_on_submit=False, border=False):
        a1, a2 = st.columns(2)
        new_username = a1.text_input("Username", key="add_username", max_chars=40, placeholder="e.g. jsmith",
                                     help="2-40 lower-case letters, digits, '.', '_' or '-'")
        new_name = a2.text_input("Full name", key="add_name", max_chars=100)
        new_email = a1.text_input("Email", key="add_email", max_chars=200)
        new_role = a2.selectbox("Role", ROLES, format_func=lambda r: ROLE_LABELS[r], index=ROLES.index("csm"), key="add_role")
        new_csm = books.book_input(a1, csm_books, pick_key="add_csm_pick", text_key="add_csm") or ""
        st.caption("Passwords need at least 8 characters. Share them with the person outside this app.")
        p1, p2 = st.columns(2)
        new_password = p1.text_input("Password", type="password", key="add_password", max_chars=72)
        new_password2 = p2.text_input("Repeat password", type="password", key="add_password2", max_chars=72)
        add_clicked = st.form_submit_button("Add user", type="primary", icon=":material/person_add:")
    if add_clicked:
        username = new_username.strip().lower()
        try:
            if new_password != new_password2:
                raise UserError("The two passwords differ; type the same password twice.")
            if new_role == "csm" and not new_csm.strip():
                raise UserError("A CSM needs a CSM name: the name on the accounts in their book.")
            created = user_store.add_user(auth_file, username, role=new_role, password=new_password,
                                          csm=_csm_or_none(new_csm) if new_role == "csm" else None,
                                          email=new_email.strip() or None, name=new_name.strip() or None)
        except UserError as exc:
            add_tab.error(str(exc))
        else:
            _audited("user.add", created.username, role=new_role, csm=created.csm)
            for key in ("add_username", "add_name", "add_email", "add_csm", "add_password", "add_password2"):
                st.session_state.pop(key, None)
            _flash(f"Added {created.username} ({ROLE_LABELS[new_role]}).", books.book_warning(created.csm, csm_books))
            st.rerun()

    with role_tab, st.form("change_role", border=False):
        r1, r2, r3 = st.columns(3)
        role_user = r1.selectbox("User", usernames, key="role_user")
        role_new = r2.selectbox("New role", ROLES, format_func=lambda r: ROLE_LABELS[r], key="role_new")
        role_csm = books.book_input(r3, csm_books, pick_key="role_csm_pick", text_key="role_csm",
                                    text_help="Leave both empty to keep the user's current CSM book. Other roles "
                                              "have no book.") or ""
        role_clicked = st.form_submit_button("Change role", icon=":material/badge:")
    if role_clicked and role_user:
        try:
            if role_user == user.username and role_new != "admin":
                raise UserError("You cannot take the admin role from yourself; ask another admin.")
            user_store.set_role(auth_file, role_user, role_new, _csm_or_none(role_csm))
        except UserError as exc:
            role_tab.error(str(exc))
        else:
            _audited("user.set_role", role_user, role=role_new,
                     csm=_csm_or_none(role_csm) if role_new == "csm" else None)
            _flash(f"{role_user} is now {ROLE_LABELS[role_new]}.",
                   books.book_warning(_csm_or_none(role_csm), csm_books) if role_new == "csm" else None)
            st.rerun()

    with password_tab, st.form("reset_password", border=False):
        w1, w2, w3 = st.columns(3)
        pw_user = w1.selectbox("User", usernames, key="pw_user")
        pw_new = w2.text_input("New password", type="password", key="pw_new", max_chars=72)
        pw_new2 = w3.text_input("Repeat new password", type="password", key="pw_new2", max_chars=72)
        pw_clicked = st.form_submit_button("Reset password", icon=":material/key:")
    if pw_clicked and pw_user:
        try:
            if pw_new != pw_new2:
                raise UserError("The two passwords differ; type the same password twice.")
            user_store.set_password(auth_file, pw_user, pw_new)
        except UserError as exc:
            password_tab.error(str(exc))
        else:
            _audited("user.set_password", pw_user)
            for key in ("pw_new", "pw_new2"):
                st.session_state.pop(key, None)
            _flash(f"Password of {pw_user} was reset.")
            st.rerun()

    with access_tab, st.form("disable_user", border=False):
        d1, d2 = st.columns([1, 2])
        access_user = d1.selectbox("User", usernames, key="access_user",
                                   format_func=lambda u: f"{u} (disabled)" if next(
                                       (p.disabled for p in people if p.username == u), False) else u)
        st.caption("A disabled user cannot sign in and is signed out at their next click; nothing else changes. "
                   "\"Log out everywhere\" signs the user out of every browser (e.g. a lost laptop); "
                   "they can sign in again with their password.")
        c1, c2, c3, _ = st.columns([1, 1, 2, 2])
        disable_clicked = c1.form_submit_button("Disable", icon=":material/block:")
        enable_clicked = c2.form_submit_button("Enable", icon=":material/check_circle:")
        everywhere_clicked = c3.form_submit_button("Log out everywhere", icon=":material/logout:")
    if everywhere_clicked and access_user:
        try:
            auth.sign_out_everywhere(access_user)
        except UserError as exc:
            access_tab.error(str(exc))
        else:
            _audited("user.sign_out_everywhere", access_user)
            _flash(f"{access_user} is signed out in every browser.")
            st.rerun()
    if (disable_clicked or enable_clicked) and access_user:
        try:
            if disable_clicked and access_user == user.username:
                raise UserError("You cannot disable your own account.")
            user_store.set_disabled(auth_file, access_user, bool(disable_clicked))
        except UserError as exc:
            access_tab.error(str(exc))
        else:
            verb = "disabled" if disable_clicked else "enabled"
            _audited("user.disable" if disable_clicked else "user.enable", access_user)
            _flash(f"{access_user} is {verb}.")
            st.rerun()

# ------------------------------------------------------------------ single sign-on
with sso_tab:
    sso.admin_panel(user.username)

# ------------------------------------------------------------------ audit log
with audit_tab:
    everything = pd.DataFrame(read_audit(ws.engine, limit=AUDIT_LIMIT),
                              columns=["id", "at", "actor", "action", "target", "detail"])
    if everything.empty:
        st.info("Nothing has been recorded yet. Imports, user changes, model promotions and playbook runs "
                "appear here.")
    else:
        everything["at"] = pd.to_datetime(everything["at"])
        f1, f2, f3 = st.columns([1, 1, 2])
        actor = f1.selectbox("Actor", sorted(everything["actor"].dropna().unique()), index=None,
                             placeholder="Anyone", key="audit_actor")
        action = f2.selectbox("Action", sorted(everything["action"].dropna().unique()), index=None,
                              placeholder="Any action", key="audit_action")
        first_day, last_day = everything["at"].min().date(), everything["at"].max().date()
        period = f3.date_input("Between", value=(max(first_day, last_day - timedelta(days=90)), last_day),
                               min_value=first_day, max_value=last_day, key="audit_period")
        start, end = (period + (period[-1],))[:2] if isinstance(period, tuple) and period else (first_day, last_day)
        rows = pd.DataFrame(read_audit(ws.engine, actor=actor, action=action,
                                       since=datetime.combine(start, time.min), limit=AUDIT_LIMIT),
                            columns=everything.columns)
        rows["at"] = pd.to_datetime(rows["at"])
        rows = rows[rows["at"] < datetime.combine(end + timedelta(days=1), time.min)]
        rows["target"] = rows["target"].fillna("")
        rows["detail"] = rows["detail"].map(_readable_detail)
        st.caption(f"{len(rows):,} event(s) shown, newest first (times in UTC).")
        st.dataframe(rows.drop(columns=["id"]), hide_index=True, key="audit_table", height=420, column_config={
            "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
            "actor": "Actor", "action": "Action", "target": "Target",
            "detail": st.column_config.TextColumn("Detail", width="large")}, placeholder="–")
        csv_download(rows, "audit_log.csv", label="Export CSV", key="export_audit")

# ------------------------------------------------------------------ settings
with settings_tab:
    s = settings()
    smtp = s.smtp
    shown = pd.DataFrame([
        ("Workspace folder", str(s.workspace), "CSAI_WORKSPACE"),
        ("Operational database", mask_url(s.database_url), "CSAI_DATABASE_URL"),
        ("Email (SMTP) server", f"{smtp.host}:{smtp.port}" + (" with TLS" if smtp.tls else "") if smtp.host
         else "not set: emails stay in the outbox", "CSAI_SMTP_HOST, CSAI_SMTP_PORT, CSAI_SMTP_TLS"),
        ("Email sender", smtp.sender, "CSAI_SMTP_FROM"),
        ("SMTP login", "set" if smtp.user else "not set", "CSAI_SMTP_USER, CSAI_SMTP_PASSWORD"),
        ("Upload limit", f"{s.max_upload_mb:,} MB per file", "CSAI_MAX_UPLOAD_MB"),
        ("Sign-out after inactivity", f"{s.idle_timeout_hours} hour(s)", "CSAI_IDLE_TIMEOUT_HOURS"),
        ("Users file", str(s.auth_file), "(inside the workspace)"),
        ("Edited Learn content", str(s.content_dir), "(inside the workspace)"),
    ], columns=["setting", "value", "variable"])
    st.dataframe(shown, hide_index=True, key="settings_table", column_config={
        "setting": "Setting", "value": st.column_config.TextColumn("Value", width="large"),
        "variable": "Set with"}, placeholder="–")
    st.info(
        "Settings are read once when the app starts. To change one, set the environment variable shown "
        "(for example `CSAI_MAX_UPLOAD_MB=500`) or put it without the `CSAI_` prefix in the `[csai]` table "
        "of `.streamlit/secrets.toml` (for example `max_upload_mb = 500`), then restart the app. "
        "Environment variables win over secrets.toml. Passwords are never shown here.",
        icon=":material/info:")
