"""What playbooks read from the warehouse: accounts, latest scores and drivers, contacts, renewals.

Scores come straight from the ``scores`` / ``score_drivers`` result tables (playbooks
depends on ``data`` only, not on ``models``). Every reader accepts a Warehouse or an open
connection, so a batch reads through one connection. No scores yet
means no score columns (rules then enroll nobody and say so). "Today" for renewals and
active contacts is the data's as-of date (:func:`data_as_of`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

TOP_DRIVERS_FOR_RULES = 3
SCORE_COLUMNS = ["account_id", "scored_at", "model_id", "p_churn", "risk_band", "p_expansion", "score_arr"]


@contextlib.contextmanager
def _reading(source) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for ``source``: an open DuckDB connection as is, or a new reader on a Warehouse."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        yield source
    else:
        with source.reader() as con:
            yield con


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0] > 0


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [name]).fetchall()}


def data_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The last day the data describes: ``workspace_meta.end_date``, else the newest subscription date, else today."""
    if _has_table(con, "workspace_meta"):
        row = con.execute("SELECT value FROM workspace_meta WHERE key = 'end_date'").fetchone()
        if row and row[0]:
            try:
                return date.fromisoformat(row[0])
            except ValueError:
                pass
    row = con.execute("SELECT greatest(max(start_date), max(end_date)) FROM subscriptions").fetchone()
    if row and row[0] is not None:
        return row[0] if isinstance(row[0], date) else pd.Timestamp(row[0]).date()
    return date.today()


def latest_scores(warehouse, account_ids: list[str] | None = None) -> pd.DataFrame | None:
    """Latest score per account (:data:`SCORE_COLUMNS`), or ``None`` when nothing is scored yet."""
    with _reading(warehouse) as con:
        if not _has_table(con, "scores"):
            return None
        cols = _columns(con, "scores")
        if not {"account_id", "scored_at", "p_churn"} <= cols:
            return None
        pick = ", ".join(
            f"{c}" if c in cols else f"NULL AS {c}" for c in ("model_id", "risk_band", "p_expansion")
        )
        arr = "arr AS score_arr" if "arr" in cols else "NULL AS score_arr"
        df = con.execute(
            f"SELECT account_id, scored_at, {pick}, p_churn, {arr} FROM scores "  # noqa: S608 - fixed identifiers
            "QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY scored_at DESC) = 1"
        ).df()
    if df.empty:
        return None
    if account_ids is not None:
        df = df[df["account_id"].isin(set(account_ids))]
    return df[SCORE_COLUMNS].reset_index(drop=True)


def top_drivers(warehouse, account_ids: list[str] | None = None, n: int = 5) -> pd.DataFrame:
    """Top churn drivers (positive SHAP first, by rank) at each account's latest scoring.

    Columns: account_id, rank, feature, label, group, value, shap, sentence. Empty when
    there is no ``score_drivers`` table.
    """
    empty = pd.DataFrame(columns=["account_id", "rank", "feature", "label", "group", "value", "shap", "sentence"])
    with _reading(warehouse) as con:
        if not _has_table(con, "score_drivers"):
            return empty
        cols = _columns(con, "score_drivers")
        if not {"account_id", "scored_at", "feature", "shap"} <= cols:
            return empty
        sel = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"'
                        for c in ("rank", "feature", "label", "group", "value", "shap", "sentence"))
        target = "AND lower(coalesce(CAST(target AS VARCHAR), 'churn')) NOT LIKE '%expan%'" if "target" in cols else ""
        df = con.execute(
            f"""
            WITH latest AS (
                SELECT account_id, max(scored_at) AS scored_at FROM score_drivers GROUP BY account_id
            ), d AS (
                SELECT sd.account_id, {sel},
                       row_number() OVER (PARTITION BY sd.account_id
                                          ORDER BY (sd.shap > 0) DESC, sd.shap DESC) AS pos
                FROM score_drivers sd JOIN latest l USING (account_id, scored_at)
                WHERE TRUE {target}
            )
            SELECT * EXCLUDE (pos) FROM d WHERE pos <= ? ORDER BY account_id, pos
            """,  # noqa: S608 - identifiers are fixed names checked against the table's columns
            [n],
        ).df()
    if account_ids is not None:
        df = df[df["account_id"].isin(set(account_ids))]
    return df.reset_index(drop=True)


def account_frame(warehouse, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Accounts with name, segment, csm, active flag, ARR, next renewal date and days to renewal.

    ``days_to_renewal`` counts from :func:`data_as_of`; ARR is 12 × the MRR of the
    subscriptions active on that day.
    """
    with _reading(warehouse) as con:
        as_of = data_as_of(con)
        df = con.execute(
            """
            WITH subs AS (
                SELECT account_id,
                       sum(mrr) FILTER (WHERE start_date <= ? AND (end_date IS NULL OR end_date > ?)) * 12 AS arr,
                       bool_or(start_date <= ? AND (end_date IS NULL OR end_date > ?)) AS active,
                       min(renewal_date) FILTER (WHERE renewal_date >= ? AND (end_date IS NULL OR end_date > ?))
                           AS renewal_date
                FROM subscriptions GROUP BY account_id
            )
            SELECT a.account_id, a.name, a.segment, a.plan, a.csm,
                   coalesce(s.active, FALSE) AS active, coalesce(s.arr, 0) AS arr, s.renewal_date,
                   datediff('day', CAST(? AS DATE), s.renewal_date) AS days_to_renewal
            FROM accounts a LEFT JOIN subs s USING (account_id)
            ORDER BY a.account_id
            """,
            [as_of] * 7,
        ).df()
    if account_ids is not None:
        df = df[df["account_id"].isin(set(account_ids))]
    df["as_of"] = as_of
    return df.reset_index(drop=True)


def eligibility_frame(warehouse) -> tuple[pd.DataFrame, bool]:
    """Every account with its latest score and driver groups; second value: whether scores exist.

    ``top_driver_group`` is the group of the strongest risk-raising driver;
    ``top_driver_groups`` the groups of the top :data:`TOP_DRIVERS_FOR_RULES` risk-raising ones.
    """
    with _reading(warehouse) as con:
        accounts = account_frame(con)
        scores = latest_scores(con)
        drivers = top_drivers(con, n=TOP_DRIVERS_FOR_RULES) if scores is not None else None
    if scores is None:
        for col in SCORE_COLUMNS[1:]:
            accounts[col] = None
        accounts["top_driver_group"] = None
        accounts["top_driver_groups"] = [[] for _ in range(len(accounts))]
        return accounts, False
    df = accounts.merge(scores, on="account_id", how="left")
    top = drivers.drop_duplicates("account_id")[["account_id", "group"]].rename(columns={"group": "top_driver_group"})
    df = df.merge(top, on="account_id", how="left")
    rising = drivers.loc[(pd.to_numeric(drivers["shap"], errors="coerce") > 0) & drivers["group"].notna(),
                         ["account_id", "group"]]
    groups = _lists_by_key(rising.drop_duplicates().sort_values(["account_id", "group"]))
    df["top_driver_groups"] = [groups.get(a, []) for a in df["account_id"]]
    return df, True


def _lists_by_key(pairs: pd.DataFrame) -> dict[Any, list]:
    """First column -> list of the second column's values, for rows sorted by the first (one pass, no groupby)."""
    if pairs.empty:
        return {}
    keys = pairs.iloc[:, 0].to_numpy(dtype=object)
    values = pairs.iloc[:, 1].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return {keys[i]: values[i:j].tolist() for i, j in zip(starts, np.r_[starts[1:], len(keys)], strict=True)}


def _contact_name(email: str | None) -> str:
    if not email:
        return ""
    local = email.split("@", 1)[0].rstrip("0123456789")
    return " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)


def contacts_by_role(warehouse, account_ids: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Active contacts per account: account_id -> role -> {email, name, role} (latest started wins)."""
    if not account_ids:
        return {}
    with _reading(warehouse) as con:
        as_of = data_as_of(con)
        cols = _columns(con, "contacts")
        name = '"name"' if "name" in cols else "NULL"
        rows = con.execute(
            f"""SELECT account_id, role, email, {name} AS name FROM contacts
                WHERE account_id IN (SELECT unnest(?)) AND email IS NOT NULL
                  AND (active_from IS NULL OR active_from <= ?) AND (active_to IS NULL OR active_to > ?)
                ORDER BY account_id, active_from NULLS FIRST""",  # noqa: S608 - fixed identifiers
            [list(account_ids), as_of, as_of],
        ).fetchall()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for account_id, role, email, nm in rows:
        if role:
            out.setdefault(account_id, {})[str(role).lower()] = {
                "role": role, "email": email, "name": nm or _contact_name(email)}
    return out


def account_contexts(warehouse, account_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Everything a template or a run snapshot needs about each account (unknown ids are left out).

    A handful of warehouse queries for the whole batch, so rule runs over thousands of
    accounts stay fast. Each value has ``account``, ``score``, ``drivers``, ``contacts``.
    """
    ids = list(dict.fromkeys(account_ids))
    with _reading(warehouse) as con:  # one connection for the batch, not one per query
        acc = account_frame(con, ids)
        if acc.empty:
            return {}
        scores = latest_scores(con, ids)
        drivers = top_drivers(con, ids, n=5)
        contacts = contacts_by_role(con, ids)
    score_by_id = {} if scores is None else {r["account_id"]: r for r in scores.to_dict("records")}
    drivers_by_id: dict[str, list[dict]] = {}
    for d in _records(drivers):
        drivers_by_id.setdefault(d.pop("account_id"), []).append(d)
    out: dict[str, dict[str, Any]] = {}
    for row in acc.to_dict("records"):
        aid = row["account_id"]
        s = score_by_id.get(aid) or {}
        renewal = _py(row["renewal_date"])
        out[aid] = {
            "account": {
                "account_id": aid, "id": aid, "name": _py(row["name"]) or aid, "segment": _py(row["segment"]),
                "plan": _py(row["plan"]), "csm": _py(row["csm"]), "active": bool(row["active"]),
                "arr": float(_py(row["arr"]) or 0.0),
                "renewal_date": pd.Timestamp(renewal).date().isoformat() if renewal is not None else "",
                "days_to_renewal": _py(row["days_to_renewal"]),
            },
            "score": {k: _py(s.get(k)) for k in ("p_churn", "risk_band", "p_expansion", "model_id", "scored_at")},
            "drivers": drivers_by_id.get(aid, []),
            "contacts": contacts.get(aid, {}),
            "as_of": row["as_of"],
        }
    return out


def account_context(warehouse, account_id: str) -> dict[str, Any] | None:
    """:func:`account_contexts` for one account, or ``None`` if the account does not exist."""
    return account_contexts(warehouse, [account_id]).get(account_id)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (what :func:`_py` gives per value), converted column by column."""
    columns = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            columns[col] = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        else:
            values = s.to_numpy(dtype=object, na_value=None)
            columns[col] = [v.item() if hasattr(v, "item") else v for v in values]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _py(v: Any) -> Any:
    """numpy / pandas scalars and missing values as plain Python."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        return v
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v
