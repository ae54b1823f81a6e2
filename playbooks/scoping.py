"""Scoping operational rows (runs, steps, tasks, alerts) to the viewer's book, and refusing writes outside it.

Every reader and writer in :mod:`playbooks.runs`, :mod:`playbooks.tasks`,
:mod:`playbooks.alerts` and :mod:`playbooks.outbox` scopes through :func:`in_book`, so the
rule "a CSM sees the rows of the accounts they own *now*" is written once. The book is
read from the warehouse (``accounts.csm``, see :func:`data.access.book_account_ids`),
never from the CSM copied onto a row when it was made.
"""

from __future__ import annotations

import sqlalchemy as sa

from data.access import Viewer, book_account_ids
from playbooks.errors import PlaybookError


def in_book(account_column, viewer: Viewer | None, warehouse):
    """A SQL predicate keeping rows whose account (``account_column``) is in the viewer's book *now*.

    ``None`` when nothing is filtered (a role that sees every account; ``None`` is the
    outbox worker, which acts for the system). A CSM viewer needs ``warehouse``: a
    Warehouse, or an open DuckDB connection such as a page's cached cursor (much cheaper per call).
    """
    if viewer is None or viewer.sees_all_accounts:
        return None
    if warehouse is None:
        raise TypeError("Scoping to a CSM's book reads the warehouse: pass warehouse=.")
    ids = book_account_ids(warehouse, viewer)
    return account_column.in_(sorted(ids)) if ids else sa.false()


def scoped(q, viewer: Viewer, warehouse, account_column):
    """``q`` filtered to the viewer's current book (unchanged for roles that see every account)."""
    predicate = in_book(account_column, viewer, warehouse)
    return q if predicate is None else q.where(predicate)


def require_in_book(engine: sa.Engine, table: sa.Table, row_id: int, viewer: Viewer, warehouse,
                    refusal: str) -> None:
    """Raise :class:`PlaybookError` (``refusal``) unless row ``row_id`` of ``table`` is about an account
    in the viewer's current book. Checked before the write transaction opens (it reads the warehouse)."""
    predicate = in_book(table.c.account_id, viewer, warehouse)
    if predicate is None:
        return
    with engine.connect() as conn:
        if conn.execute(sa.select(table.c.id).where(table.c.id == row_id, predicate)).first() is None:
            raise PlaybookError(refusal)
