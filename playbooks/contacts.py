"""Playbooks write to the contacts people edited in the app, as well as to imported ones.

:func:`with_edited_contacts` applies the account's contact edits (see :mod:`data.contacts`
for which wins) to a playbook context, so a contact added on the Account page, or given
inline in the playbook form, is the recipient of the next run, and a contact deactivated
there is no longer written to.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from data import queries
from data.access import SYSTEM
from data.contacts import active_by_role, contact_edits, contacts_imported_at, list_contact_edits, merged_contacts


def _name(email: str) -> str:
    local = email.split("@", 1)[0].rstrip("0123456789")
    return " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)


def account_contacts(engine: sa.Engine, warehouse, account_id: str):
    """The account's imported contacts and edits made here, merged (:func:`data.contacts.merged_contacts`)."""
    edits = list_contact_edits(engine, [account_id])
    with warehouse.reader() as con:
        imported = queries.contacts(con, SYSTEM, account_id)
        stamp = contacts_imported_at(con)
    return merged_contacts(imported, edits, stamp)


def with_edited_contacts(engine: sa.Engine, warehouse, ctx: dict[str, Any]) -> dict[str, Any]:
    """``ctx`` with its ``contacts`` (role -> contact) updated by the edits that currently count."""
    account_id = ctx["account"]["account_id"]
    edits = list_contact_edits(engine, [account_id])
    if edits.empty:
        return ctx
    merged = account_contacts(engine, warehouse, account_id)
    contacts = dict(ctx.get("contacts", {}))
    for row in merged[merged["status"] == "deactivated here"].to_dict("records"):
        role = str(row["role"]).lower()
        if role in contacts and contacts[role].get("email") in (row["email"], row["imported_email"]):
            contacts.pop(role)
    here = merged[merged["source"] != "imported"]
    for role, contact in active_by_role(here).items():
        contacts[role] = {"role": contact["role"], "email": contact["email"], "name": _name(contact["email"])}
    return {**ctx, "contacts": contacts}


def with_contact_edits(engine: sa.Engine, warehouse, contexts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``contexts`` (account id -> playbook context) with :func:`with_edited_contacts` applied to each account
    whose contacts were edited here. One query finds those accounts, so a rule pass or a start for many
    accounts costs nothing more when nobody edited a contact."""
    with engine.connect() as conn:
        edited = {r[0] for r in conn.execute(sa.select(contact_edits.c.account_id).distinct())}
    return {a: (with_edited_contacts(engine, warehouse, ctx) if a in edited else ctx) for a, ctx in contexts.items()}
