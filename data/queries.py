"""Read queries for the pages. Every function takes the :class:`~data.access.Viewer`.

All SQL is parameterised; the viewer's scope is applied inside each query.
Dates are relative to the workspace's *as-of* date (the demo's end date, or today).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from data.access import NotInBook, Viewer

ACCOUNT_OVERVIEW_SQL = """
WITH params AS (SELECT CAST(? AS DATE) AS as_of),
cur AS (
    SELECT s.account_id,
           sum(s.mrr) AS mrr,
           sum(coalesce(s.seats, 0)) AS seats,
           min(s.renewal_date) FILTER (WHERE s.renewal_date >= p.as_of) AS annual_renewal,
           min(CASE WHEN coalesce(s.billing_period, 'monthly') = 'monthly'
                    THEN CAST(s.start_date + to_months(CAST(datediff('month', s.start_date, p.as_of) AS INTEGER) + 1) AS DATE) END)
               AS monthly_renewal,
           bool_or(s.billing_period = 'annual') AS has_annual
    FROM subscriptions s, params p
    WHERE s.start_date <= p.as_of AND (s.end_date IS NULL OR s.end_date > p.as_of)
    GROUP BY s.account_id
),
first_sub AS (
    SELECT account_id, min(start_date) AS first_start, max(coalesce(end_date, DATE '9999-12-31')) AS last_end
    FROM subscriptions GROUP BY account_id
)
SELECT a.account_id, a.name, a.segment, a.industry, a.region, a.plan, a.csm, a.created_at,
       coalesce(cur.mrr, 0) AS mrr,
       coalesce(cur.mrr, 0) * 12 AS arr,
       cur.seats,
       CASE WHEN cur.account_id IS NULL THEN NULL
            WHEN cur.has_annual THEN cur.annual_renewal ELSE cur.monthly_renewal END AS renewal_date,
       CASE WHEN cur.has_annual THEN 'annual' WHEN cur.account_id IS NOT NULL THEN 'monthly' END AS billing_period,
       datediff('day', coalesce(fs.first_start, a.created_at), p.as_of) AS tenure_days,
       CASE WHEN cur.account_id IS NOT NULL THEN 'active'
            WHEN fs.account_id IS NULL THEN 'no subscription' ELSE 'churned' END AS status,
       CASE WHEN cur.account_id IS NULL AND fs.account_id IS NOT NULL AND fs.last_end <= p.as_of
            THEN fs.last_end END AS churned_on
FROM accounts a
CROSS JOIN params p
LEFT JOIN cur ON cur.account_id = a.account_id
LEFT JOIN first_sub fs ON fs.account_id = a.account_id
WHERE {scope}
"""


def as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The date the workspace's data describes: the demo's end date, else today."""
    rows = con.execute("SELECT value FROM workspace_meta WHERE key = 'end_date'").fetchall()
    if rows and rows[0][0]:
        return date.fromisoformat(rows[0][0])
    return date.today()


def account_overview(con: duckdb.DuckDBPyConnection, viewer: Viewer, account_ids: list[str] | None = None) -> pd.DataFrame:
    """One row per account the viewer may see: firmographics, MRR/ARR, seats, renewal, tenure, status."""
    scope, params = viewer.scope_sql("a")
    sql = ACCOUNT_OVERVIEW_SQL.format(scope=scope)
    args: list = [as_of_date(con), *params]
    if account_ids is not None:
        sql += " AND a.account_id IN (SELECT unnest(?::VARCHAR[]))"
        args.append(list(account_ids))
    sql += " ORDER BY arr DESC, a.account_id"
    return con.execute(sql, args).df()


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
        FROM subscriptions WHERE account_id = ? ORDER BY start_date, product""")


def timeline(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    """Tickets, NPS responses, invoices and contact changes as one dated list (newest first)."""
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
        ORDER BY occurred_at DESC""")


def contacts(con, viewer: Viewer, account_id: str) -> pd.DataFrame:
    return _scoped(con, viewer, account_id, """
        SELECT contact_id, email, role, active_from, active_to,
               CASE WHEN active_to IS NULL THEN 'active' ELSE 'left' END AS status
        FROM contacts WHERE account_id = ? ORDER BY active_to NULLS FIRST, role, email""")
