"""Who is asking: every read query for a page takes a :class:`Viewer`.

A CSM sees only the accounts whose ``csm`` equals their CSM name; managers, admins
and data scientists see every account. The filter is applied here, in the data
layer, so no page can forget it. Rows of the operational store that belong to an
account (playbook runs, steps, tasks, alerts) are scoped by :func:`book_account_ids`:
the account's owner in the warehouse now, never a CSM name copied onto the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.errors import UserError

ALL_ACCOUNT_ROLES = frozenset({"admin", "manager", "data_scientist"})


class NotInBook(UserError):
    """The viewer asked for an account outside their book (or one that does not exist)."""


@dataclass(frozen=True)
class Viewer:
    username: str
    roles: tuple[str, ...]
    csm: str | None = None

    @property
    def sees_all_accounts(self) -> bool:
        return bool(ALL_ACCOUNT_ROLES.intersection(self.roles))

    @property
    def cache_key(self) -> str:
        return f"{self.username}|{','.join(self.roles)}|{self.csm or ''}"

    def scope_sql(self, alias: str = "a") -> tuple[str, list]:
        """SQL predicate on the accounts alias and its bound parameters."""
        if self.sees_all_accounts:
            return "TRUE", []
        if not self.csm:
            return "FALSE", []
        return f"{alias}.csm = ?", [self.csm]


SYSTEM = Viewer(username="system", roles=("admin",))


def csm_account_ids(source, csm: str) -> frozenset[str]:
    """Ids of the accounts whose *current* ``accounts.csm`` (in the warehouse) is ``csm``.

    ``source`` is a :class:`~data.warehouse.Warehouse` or an open DuckDB connection.
    Rows copied into the operational store (playbook runs, tasks, alerts) keep the CSM
    of the day they were made; scoping them through this set makes them follow the
    account when an import reassigns it.
    """
    sql = "SELECT account_id FROM accounts WHERE csm = ?"
    if hasattr(source, "reader"):
        with source.reader() as con:
            rows = con.execute(sql, [csm]).fetchall()
    else:
        rows = source.cursor().execute(sql, [csm]).fetchall()
    return frozenset(str(r[0]) for r in rows)


def book_account_ids(source, viewer: Viewer) -> frozenset[str] | None:
    """The account ids the viewer may see now, or ``None`` for every account.

    Read from the warehouse (``source``: a Warehouse or a DuckDB connection) on each
    call, so it is always the current owner that counts, not a CSM stored elsewhere.
    """
    if viewer.sees_all_accounts:
        return None
    if not viewer.csm:
        return frozenset()
    return csm_account_ids(source, viewer.csm)
