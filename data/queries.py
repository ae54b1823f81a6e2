"""Read queries for the pages. Every function takes the :class:`~data.access.Viewer`.

All SQL is parameterised; the viewer's scope is applied inside each query.
Dates are relative to the workspace's *as-of* date (:func:`data.readmodel.as_of_date`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data import readmodel
from data.access import NotInBook, Viewer


def account_overview(con: duckdb.DuckDBPyConnection, viewer: Viewer, account_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per account the viewer may see: the read model's account state (``data/sql/account_state.sql``)."""
    return readmodel.account_state(con, viewer, account_ids)


def filter_options(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> dict[str, list[str]]:
    """Distinct segment / CSM / plan / region values within the viewer's book."""
    scope, params = viewer.scope_sql("a")
    out = {}
    for col in ("segment", "csm", "plan", "region"):
        rows = con.execute(
            f"SELECT DISTINCT {col} FROM accounts a WHERE {scope} AND {col} IS NOT NULL ORDER BY 1",  # noqa: S608 - fixed column names
            params,
        ).fetchall()
        out[col] = [r[0] for r in rows]
    return out


def require_account(con: duckdb.DuckDBPyConnection, viewer: Viewer, account_id: str) -> pd.Series:
    """The account's overview row, or :class:`NotInBook` if the viewer may not see it."""
    df = account_overview(con, viewer, [account_id])
    if df.empty:
        raise NotInBook(f"Account {account_id!r} is not in your book.")
    return df.iloc[0]


def _scoped(con, viewer: Viewer, account_id: str, sql: str, extra: list | None = None) -> pd.DataFrame:
    require_account(con, viewer, account_id)
    return con.execute(sql, [account_id, *(extra or [])]).df()


def usage_by_week(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    """Weekly event quantity per event type (week starts Monday)."""
    return _scoped(con, viewer, account_id, """
        SELECT date_trunc('week', event_time)::DATE AS week, event_type, sum(quantity) AS quantity
        FROM events WHERE account_id = ? GROUP BY ALL ORDER BY week, event_type""")


def active_users_by_week(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    """Weekly active users: distinct user ids when present, else the peak daily 'login' count."""
    return _scoped(con, viewer, account_id, """
        SELECT date_trunc('week', event_time)::DATE AS week,
               greatest(count(DISTINCT user_id),
                        coalesce(max(quantity) FILTER (WHERE event_type = 'login' AND user_id IS NULL), 0)) AS active_users
        FROM events WHERE account_id = ? GROUP BY ALL ORDER BY week""")


def seats_history(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    return _scoped(con, viewer, account_id, """
        SELECT start_date, end_date, product, mrr, seats, billing_period, renewal_date
        FROM subscriptions WHERE account_id = ?
        ORDER BY start_date, product, end_date NULLS LAST, mrr, seats, billing_period, renewal_date""")


def timeline(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    """Tickets, NPS responses, invoices and contact changes as one dated list (newest first; rows of the same
    time by kind, then detail)."""
    return _scoped(con, viewer, account_id, """
        SELECT opened_at AS occurred_at, 'Ticket' AS kind,
               coalesce(priority, 'normal') || ' priority ticket ' || ticket_id ||
               CASE WHEN closed_at IS NULL THEN ' (open)'
                    ELSE ' resolved in ' || round(datediff('hour', opened_at, closed_at) / 24.0, 1) || ' days' END ||
               CASE WHEN csat IS NOT NULL THEN ', CSAT ' || csat ELSE '' END AS detail,
               CASE WHEN priority IN ('high', 'urgent') THEN 'bad' ELSE 'neutral' END AS tone
        FROM tickets WHERE account_id = ?1
        UNION ALL
        SELECT responded_at, 'NPS', 'Score ' || score || coalesce(': "' || comment || '"', ''),
               CASE WHEN score >= 9 THEN 'good' WHEN score <= 6 THEN 'bad' ELSE 'neutral' END
        FROM nps WHERE account_id = ?1
        UNION ALL
        SELECT issued_at::TIMESTAMP, 'Invoice',
               'Invoice ' || invoice_id || ' for $' || format('{:,.0f}', amount) || ' ' || coalesce(status, ''),
               CASE WHEN status IN ('failed', 'late') THEN 'bad' ELSE 'neutral' END
        FROM invoices WHERE account_id = ?1
        UNION ALL
        SELECT active_from::TIMESTAMP, 'Contact', coalesce(role, 'contact') || ' ' || coalesce(email, contact_id) || ' joined', 'neutral'
        FROM contacts WHERE account_id = ?1 AND active_from IS NOT NULL
        UNION ALL
        SELECT active_to::TIMESTAMP, 'Contact', coalesce(role, 'contact') || ' ' || coalesce(email, contact_id) || ' left',
               CASE WHEN role = 'champion' THEN 'bad' ELSE 'neutral' END
        FROM contacts WHERE account_id = ?1 AND active_to IS NOT NULL
        ORDER BY occurred_at DESC, kind, detail, tone""")


def contacts(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    return _scoped(con, viewer, account_id, """
        SELECT contact_id, email, role, active_from, active_to,
               CASE WHEN active_to IS NULL THEN 'active' ELSE 'left' END AS status
        FROM contacts WHERE account_id = ? ORDER BY active_to NULLS FIRST, role, email, contact_id""")
