"""The world as of a date: the raw tables as they were known before it (the leakage check's reference)."""

from __future__ import annotations

from datetime import date

import duckdb

from data.metrics.tables import contacts_first_seen
from data.schema import ALL_RAW_TABLES, CANONICAL_TABLES, create_table_sql


def truncate_raw_tables(src: duckdb.DuckDBPyConnection, cut: date,
                        account_ids: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection holding the raw tables as they were known before ``cut``.

    Rows created on or after ``cut`` are dropped; ends, closes, payments and departures on
    or after ``cut`` become NULL; a failed invoice not yet due is still ``open``. Used by the
    leakage check: metrics computed here must equal metrics computed on the full data.
    """
    con = duckdb.connect()
    con.execute("SET threads = 2")
    ids = list(account_ids) if account_ids is not None else None
    for table in ALL_RAW_TABLES:
        con.execute(create_table_sql(table))
    where_ids = "account_id IN (SELECT unnest($ids))" if ids is not None else "TRUE"
    params = {"cut": cut, **({"ids": ids} if ids is not None else {})}
    rules = {
        "accounts": ("*", "TRUE"),
        "subscriptions": ("* REPLACE (CASE WHEN end_date >= $cut THEN NULL ELSE end_date END AS end_date)",
                          "start_date < $cut"),
        "events": ("*", "event_time < $cut"),
        "tickets": ("* REPLACE (CASE WHEN closed_at >= $cut THEN NULL ELSE closed_at END AS closed_at, "
                    "CASE WHEN closed_at >= $cut THEN NULL ELSE csat END AS csat)", "opened_at < $cut"),
        "nps": ("*", "responded_at < $cut"),
        "invoices": ("* REPLACE (CASE WHEN paid_at >= $cut THEN NULL ELSE paid_at END AS paid_at, "
                     "CASE WHEN coalesce(due_at, issued_at) >= $cut THEN 'open' "
                     "WHEN paid_at >= $cut AND lower(status) <> 'failed' THEN 'open' ELSE status END AS status)",
                     "issued_at < $cut"),
        "contacts": ("* REPLACE (CASE WHEN active_to >= $cut THEN NULL ELSE active_to END AS active_to)",
                     "coalesce(active_from, $first_seen) < $cut"),
    }
    first_seen = contacts_first_seen(src)
    params["first_seen"] = first_seen if first_seen is not None else date.max
    for table, (select, cond) in rules.items():
        q = f"SELECT {select} FROM {table} WHERE {cond} AND {where_ids}"  # noqa: S608 - our identifiers
        df = src.execute(q, {k: v for k, v in params.items() if f"${k}" in q}).df()
        if table == "accounts":
            con.execute("DROP TABLE accounts")
            con.register("_acc", df)
            con.execute("CREATE TABLE accounts AS SELECT * FROM _acc")
            con.unregister("_acc")
        else:
            con.register("_t", df)
            cols = ", ".join(f'"{c}"' for c, _, _ in CANONICAL_TABLES[table])
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _t")  # noqa: S608
            con.unregister("_t")
    if first_seen is not None:  # the as-of world keeps the day unknown-start contacts were first seen
        con.execute("INSERT INTO workspace_meta VALUES ('contacts_first_seen', ?)", [first_seen.isoformat()])
    return con
