"""CSM books as the data names them: each distinct ``accounts.csm`` with its number of accounts.

A CSM user's book is the accounts whose ``csm`` column equals the user's CSM name exactly,
so an admin picks that name from here instead of typing it. No Streamlit.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.access import Viewer


def csm_books(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Columns csm, accounts: every CSM name on the viewer's accounts, most accounts first, then by name."""
    scope, params = viewer.scope_sql("a")
    return con.execute(f"""
        SELECT a.csm, count(*) AS accounts
        FROM accounts a
        WHERE a.csm IS NOT NULL AND trim(a.csm) <> '' AND {scope}
        GROUP BY a.csm
        ORDER BY accounts DESC, a.csm
    """, params).df()  # noqa: S608 - only Viewer.scope_sql's fixed predicate is formatted in; values are bound


def book_warning(name: str | None, books: pd.DataFrame) -> str | None:
    """Why ``name`` is probably not the CSM name meant (no account carries it exactly), or ``None`` if it is fine.

    Suggests the name that differs only in case or spacing, e.g. "Maya patel" -> "Maya Patel".
    """
    if not name:
        return None
    known = [str(c) for c in books["csm"]] if not books.empty else []
    if name in known:
        return None

    def folded(s: str) -> str:
        return " ".join(s.split()).casefold()

    near = [c for c in known if folded(c) == folded(name)]
    hint = f" Did you mean {near[0]!r}?" if near else ""
    return (f"No account has the CSM name {name!r}, so this user sees no accounts until some do.{hint} "
            "Pick a name from the list to match the data exactly.")
