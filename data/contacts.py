"""Contacts people edit in the app (operational store), beside the contacts imported into the warehouse.

Table ``contact_edits``: the current state of each contact someone added or changed here, one
row per (account, contact). ``contact_id`` is the warehouse contact's id for an edit of an
imported contact, or ``app-<n>`` for a contact added here. Every change is audited.

**Which wins.** An edit made here counts until the next import of the contacts table; from
then on the imported contacts are the source of truth again and the older edit is shown as
replaced. :func:`merged_contacts` applies the rule and says, per row, where it comes from.
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from data.errors import UserError
from data.opstore import audit, metadata, now
from data.vocabulary import CONTACT_ROLES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IMPORT_STAMP_KEY = "imported_contacts"

contact_edits = sa.Table(
    "contact_edits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(200), nullable=False),
    sa.Column("contact_id", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(50), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
    sa.UniqueConstraint("account_id", "contact_id", name="uq_contact_edits_account_contact"),
)

EDIT_COLUMNS = ["id", "account_id", "contact_id", "email", "role", "active", "created_by", "created_at", "updated_by",
                "updated_at"]
MERGED_COLUMNS = ["contact_id", "email", "role", "status", "source", "imported_email", "imported_role", "note",
                  "editable"]


def validate_contact(email: str, role: str) -> tuple[str, str]:
    """The email and role, cleaned; raises :class:`UserError` with what to fix when either is wrong."""
    email = (email or "").strip()
    role = (role or "").strip().lower()
    if not EMAIL.match(email):
        raise UserError(f"“{email}” is not an email address; write it like name@company.com.")
    if role not in CONTACT_ROLES:
        raise UserError(f"Choose a role: {', '.join(CONTACT_ROLES)}.")
    return email, role


def add_contact(engine: sa.Engine, account_id: str, actor: str, email: str, role: str) -> str:
    """Add a contact to the account here; returns its id (``app-<n>``). Raises UserError for a bad email or role."""
    email, role = validate_contact(email, role)
    at = now()
    with engine.begin() as conn:
        row_id = conn.execute(contact_edits.insert().values(
            account_id=account_id, contact_id=f"pending-{at.timestamp()}-{actor}", email=email, role=role, active=True,
            created_by=actor, created_at=at, updated_by=actor, updated_at=at)).inserted_primary_key[0]
        contact_id = f"app-{row_id}"
        conn.execute(contact_edits.update().where(contact_edits.c.id == row_id).values(contact_id=contact_id))
        audit(conn, actor, "contact.add", account_id, contact_id=contact_id, email=email, role=role)
    return contact_id


def edit_contact(engine: sa.Engine, account_id: str, contact_id: str, actor: str, *, email: str, role: str,
                 active: bool = True) -> None:
    """Change a contact's email, role or active flag here (an imported contact gets an edit row). Audited."""
    email, role = validate_contact(email, role)
    at = now()
    with engine.begin() as conn:
        res = conn.execute(contact_edits.update().where(
            contact_edits.c.account_id == account_id, contact_edits.c.contact_id == contact_id).values(
            email=email, role=role, active=active, updated_by=actor, updated_at=at))
        if res.rowcount == 0:
            if contact_id.startswith("app-"):
                raise UserError(f"Contact {contact_id} does not exist on this account.")
            conn.execute(contact_edits.insert().values(
                account_id=account_id, contact_id=contact_id, email=email, role=role, active=active,
                created_by=actor, created_at=at, updated_by=actor, updated_at=at))
        audit(conn, actor, "contact.edit" if active else "contact.deactivate", account_id, contact_id=contact_id,
              email=email, role=role, active=active)


def deactivate_contact(engine: sa.Engine, account_id: str, contact_id: str, actor: str, *, email: str,
                       role: str) -> None:
    """Mark a contact as no longer active here (playbooks stop writing to them). Audited."""
    edit_contact(engine, account_id, contact_id, actor, email=email, role=role, active=False)


def list_contact_edits(engine: sa.Engine, account_ids: list[str]) -> pd.DataFrame:
    """The edits of the given accounts: :data:`EDIT_COLUMNS`."""
    q = sa.select(contact_edits).where(contact_edits.c.account_id.in_(list(account_ids))).order_by(contact_edits.c.id)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=EDIT_COLUMNS)


def contacts_imported_at(con) -> datetime | None:
    """When the contacts table was last imported (None for the demo or before any import)."""
    rows = con.execute("SELECT value FROM workspace_meta WHERE key = ?", [IMPORT_STAMP_KEY]).fetchall()
    return datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None


def merged_contacts(imported: pd.DataFrame, edits: pd.DataFrame, imported_at: datetime | None) -> pd.DataFrame:
    """Imported contacts and edits made here as one list, saying per row which one counts and why.

    ``imported`` has contact_id, email, role, status ('active' or 'left'); ``edits`` is
    :func:`list_contact_edits` for the same account. An edit newer than the last contacts
    import wins (``source`` 'edited here' / 'added here'); an older one is replaced by the
    import (``source`` 'imported', ``note`` says so; an older added contact shows as
    'replaced by import' and is not active). Columns: :data:`MERGED_COLUMNS`.
    """
    rows = []
    by_id = {e["contact_id"]: e for e in edits.to_dict("records")}
    for c in imported.to_dict("records"):
        edit = by_id.pop(c["contact_id"], None)
        row = {"contact_id": c["contact_id"], "email": c["email"], "role": c["role"], "status": c["status"],
               "source": "imported", "imported_email": c["email"], "imported_role": c["role"], "note": "",
               "editable": c["status"] == "active"}
        if edit is not None:
            if imported_at is None or edit["updated_at"] > imported_at:
                row.update(email=edit["email"], role=edit["role"], source="edited here",
                           status="active" if edit["active"] else "deactivated here",
                           note=f"edited by {edit['updated_by']}; counts until the next contacts import")
            else:
                row["note"] = (f"an edit by {edit['updated_by']} was replaced by the import of "
                               f"{imported_at:%-d %b %Y}")
        rows.append(row)
    for edit in by_id.values():
        current = imported_at is None or edit["updated_at"] > imported_at
        rows.append({"contact_id": edit["contact_id"], "email": edit["email"], "role": edit["role"],
                     "status": ("active" if edit["active"] else "deactivated here") if current else "replaced by import",
                     "source": "added here", "imported_email": None, "imported_role": None,
                     "note": (f"added by {edit['created_by']}; counts until the next contacts import" if current else
                              f"added by {edit['created_by']}; not in the import of {imported_at:%-d %b %Y}"),
                     "editable": current})
    return pd.DataFrame(rows, columns=MERGED_COLUMNS)


def active_by_role(merged: pd.DataFrame) -> dict[str, dict[str, str]]:
    """role -> {email, role} of the active contacts in a :func:`merged_contacts` list (edits made here first)."""
    out: dict[str, dict[str, str]] = {}
    active = merged[merged["status"] == "active"]
    for row in active.sort_values("source", key=lambda s: s != "imported").to_dict("records"):
        out[str(row["role"]).lower()] = {"email": row["email"], "role": row["role"]}
    return out
