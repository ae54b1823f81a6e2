"""Who is asking: every read query for a page takes a :class:`Viewer`.

A CSM sees only the accounts whose ``csm`` equals their CSM name; managers, admins
and data scientists see every account. The filter is applied here, in the data
layer, so no page can forget it.
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
