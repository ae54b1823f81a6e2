"""Data health of the warehouse's raw tables: what a data scientist checks before training.

:func:`data_health` returns one :class:`TableHealth` per canonical table (plus
``account_labels``): rows, accounts covered, date range, freshness, null rates, rows
per day, and plain-language warnings (empty tables, stale data, too few churned
accounts for a stable model, low coverage, mostly empty columns).
"""

# Identifiers in the f-string SQL below come from our schema or the warehouse catalogue.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd

from data.schema import CANONICAL_TABLES
from data.warehouse import Warehouse

# The column that dates each table's rows (freshness, date range, rows per day).
DATE_COLUMNS = {
    "accounts": "created_at",
    "subscriptions": "start_date",
    "events": "event_time",
    "tickets": "opened_at",
    "nps": "responded_at",
    "invoices": "issued_at",
    "contacts": "active_from",
}
STALE_DAYS = 30  # activity tables whose newest row is older than this are stale
ACTIVITY_TABLES = ("events", "tickets", "nps", "invoices")
MIN_CHURNED = 50
MIN_COVERAGE = 0.5
MOSTLY_EMPTY = 0.5


@dataclass
class TableHealth:
    """Health of one table. ``freshness_days``: days from the newest row to ``today``."""

    table: str
    rows: int
    accounts_covered: int | None = None
    accounts_total: int = 0
    date_column: str | None = None
    first: datetime | date | None = None
    last: datetime | date | None = None
    freshness_days: int | None = None
    null_rates: dict[str, float] = field(default_factory=dict)
    per_day: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["day", "rows"]))
    warnings: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        """Share of all accounts that have at least one row here."""
        if self.accounts_covered is None or not self.accounts_total:
            return None
        return self.accounts_covered / self.accounts_total

    def to_dict(self) -> dict:
        return {
            "table": self.table, "rows": self.rows, "accounts_covered": self.accounts_covered,
            "accounts_total": self.accounts_total, "date_column": self.date_column,
            "first": str(self.first) if self.first is not None else None,
            "last": str(self.last) if self.last is not None else None,
            "freshness_days": self.freshness_days, "null_rates": self.null_rates, "warnings": self.warnings,
        }


def _columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]


def data_health(warehouse: Warehouse, today: date | None = None) -> dict[str, TableHealth]:
    """Health of every raw table, keyed by table name (``accounts`` first)."""
    today = today or datetime.now(UTC).date()
    out: dict[str, TableHealth] = {}
    with warehouse.reader() as con:
        total_accounts = con.execute("SELECT count(*) FROM accounts").fetchall()[0][0]
        for table in [*CANONICAL_TABLES, "account_labels"]:
            cols = _columns(con, table)
            counts = con.execute(
                f'SELECT count(*), {", ".join(f"count({_q(c)})" for c in cols)} FROM "{table}"'
            ).fetchall()[0]
            rows = counts[0]
            h = TableHealth(table, rows, accounts_total=total_accounts)
            h.null_rates = {c: (1 - n / rows) if rows else 0.0 for c, n in zip(cols, counts[1:], strict=True)}
            if "account_id" in cols:
                h.accounts_covered = con.execute(
                    f'SELECT count(DISTINCT t.account_id) FROM "{table}" AS t '
                    "WHERE t.account_id IN (SELECT account_id FROM accounts)"
                ).fetchall()[0][0]
            dcol = DATE_COLUMNS.get(table)
            if dcol and dcol in cols:
                h.date_column = dcol
                h.first, h.last = con.execute(f'SELECT min({_q(dcol)}), max({_q(dcol)}) FROM "{table}"').fetchall()[0]
                if h.last is not None:
                    last_day = h.last.date() if isinstance(h.last, datetime) else h.last
                    h.freshness_days = (today - last_day).days
                h.per_day = con.execute(
                    f'SELECT CAST({_q(dcol)} AS DATE) AS day, count(*) AS rows FROM "{table}" '
                    f"WHERE {_q(dcol)} IS NOT NULL GROUP BY 1 ORDER BY 1"
                ).df()
            _warn(h, table)
            out[table] = h
        churned, source = _churned(con, today)
    if source:
        if churned < MIN_CHURNED:
            out[source].warnings.append(
                f"only {churned} churned account(s): too few for a stable model (aim for at least {MIN_CHURNED})")
    elif total_accounts:
        out["accounts"].warnings.append(
            "no churn information: import subscriptions or a flat table with a churn label to train a model")
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Columns whose empty value means something (an open subscription has no end date): never "mostly empty".
EMPTY_BY_DESIGN = frozenset({("subscriptions", "end_date")})


def _warn(h: TableHealth, table: str) -> None:
    if h.rows == 0:
        if table == "accounts":
            h.warnings.append("no accounts: import accounts first; every other table refers to them")
        elif table != "account_labels":
            h.warnings.append(f"{table} is empty: metrics from it will be missing")
        return
    if table in ACTIVITY_TABLES and h.freshness_days is not None and h.freshness_days > STALE_DAYS:
        h.warnings.append(f"stale data: the newest row is {h.freshness_days} days old")
    if h.freshness_days is not None and h.freshness_days < -1:
        h.warnings.append(f"{h.date_column} has dates in the future (up to {-h.freshness_days} days ahead)")
    if table != "accounts" and h.coverage is not None and h.coverage < MIN_COVERAGE:
        h.warnings.append(f"covers only {h.coverage:.0%} of accounts ({h.accounts_covered} of {h.accounts_total})")
    empty = [c for c, r in h.null_rates.items() if r >= MOSTLY_EMPTY and (table, c) not in EMPTY_BY_DESIGN]
    if empty:
        h.warnings.append(f"mostly empty column(s): {', '.join(empty)}")


def _churned(con, today: date) -> tuple[int, str | None]:
    """Number of churned accounts and the table it comes from (labels win over subscriptions)."""
    labels = con.execute("SELECT count(*), count(*) FILTER (WHERE label = 1) FROM account_labels").fetchall()[0]
    if labels[0]:
        return labels[1], "account_labels"
    subs = con.execute(
        "SELECT count(*) FROM (SELECT account_id FROM subscriptions GROUP BY account_id "
        "HAVING count(*) = count(end_date) AND max(end_date) < ?)",
        [today],
    ).fetchall()[0][0]
    has_subs = con.execute("SELECT count(*) FROM subscriptions").fetchall()[0][0]
    return subs, ("subscriptions" if has_subs else None)
