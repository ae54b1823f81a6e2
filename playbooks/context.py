"""What playbooks read from the warehouse: accounts, latest scores and drivers, contacts, renewals.

Scores come straight from the ``scores`` / ``score_drivers`` result tables (playbooks
depends on ``data`` only, not on ``models``). Every reader accepts a Warehouse or an open
connection, so a batch reads through one connection. No scores yet
means no score columns (rules then enroll nobody and say so). "Today" for renewals and
active contacts is the workspace's as-of date (:func:`data.readmodel.as_of_date`). Accounts,
scores and eligibility come from the read model (``data/sql/eligibility.sql``, ``latest_scores.sql``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from data import readmodel

TOP_DRIVERS_FOR_RULES = readmodel.TOP_DRIVERS_FOR_RULES
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


def latest_scores(warehouse, account_ids: list[str] | None = None) -> pd.DataFrame | None:
    """Latest score per account (:data:`SCORE_COLUMNS`), or ``None`` when nothing is scored yet.

    The read model's latest scores (``data/sql/latest_scores.sql``), renamed for playbooks.
    """
    with _reading(warehouse) as con:
        df = readmodel.latest_scores(con, account_ids)
    if df.empty:
        return None
    return df.rename(columns={"arr": "score_arr"})[SCORE_COLUMNS].reset_index(drop=True)


def top_drivers(warehouse, account_ids: list[str] | None = None, n: int = 5) -> pd.DataFrame:
    """Top churn drivers (positive SHAP first) at the latest scoring: the read model's ``top_drivers``.

    Columns: account_id, rank, feature, label, group, value, shap, sentence.
    """
    with _reading(warehouse) as con:
        return readmodel.top_drivers(con, account_ids, n)


def account_frame(warehouse, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Accounts with name, segment, csm, active flag, ARR, next renewal date and days to renewal, and ``as_of``.

    The read model's eligibility mart (``data/sql/eligibility.sql``): active and ARR from the account
    state, ``days_to_renewal`` to the next contract renewal from the workspace's as-of date.
    """
    with _reading(warehouse) as con:
        return readmodel.eligibility(con, account_ids)


def eligibility_frame(warehouse) -> tuple[pd.DataFrame, bool]:
    """Every account with its latest score and driver groups; second value: whether scores exist.

    ``top_driver_group`` is the group of the strongest risk-raising driver;
    ``top_driver_groups`` the groups of the top :data:`TOP_DRIVERS_FOR_RULES` risk-raising ones.
    """
    with _reading(warehouse) as con:
        frame = readmodel.eligibility(con)
        scored = readmodel.has_scores(con)
    return frame, scored


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
    """Active contacts per account: account_id -> role -> {email, name, role} (latest started wins, then
    the highest contact id; contacts without a role are under ``contact``)."""
    if not account_ids:
        return {}
    with _reading(warehouse) as con:
        as_of = readmodel.as_of_date(con)
        cols = _columns(con, "contacts")
        name = '"name"' if "name" in cols else "NULL"
        rows = con.execute(
            f"""SELECT account_id, role, email, {name} AS name FROM contacts
                WHERE account_id IN (SELECT unnest(?)) AND email IS NOT NULL
                  AND (active_from IS NULL OR active_from <= ?) AND (active_to IS NULL OR active_to > ?)
                ORDER BY account_id, active_from NULLS FIRST, contact_id""",  # noqa: S608 - fixed identifiers
            [list(account_ids), as_of, as_of],
        ).fetchall()
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for account_id, role, email, nm in rows:
        key = str(role).lower() if role else "contact"  # a contact without a role is still someone to write to
        out.setdefault(account_id, {})[key] = {"role": role or "contact", "email": email,
                                               "name": nm or _contact_name(email)}
    return out


RECIPIENT_FALLBACK = ("executive", "champion")


def recipient(contacts: dict[str, dict[str, Any]], wanted: str) -> tuple[dict[str, Any] | None, str | None]:
    """Who an email to the ``wanted`` role goes to, and the role used: the wanted role, then the executive,
    then the champion, then any active contact with an email; (None, None) when the account has none
    (the step then becomes a task for the CSM to add a contact)."""
    for role in (wanted, *RECIPIENT_FALLBACK):
        if role in contacts:
            return contacts[role], role
    for role, contact in contacts.items():
        return contact, role
    return None, None


def account_contexts(warehouse, account_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Everything a template or a run snapshot needs about each account (unknown ids are left out).

    A handful of warehouse queries for the whole batch, so rule runs over thousands of
    accounts stay fast. Each value has ``account``, ``score``, ``drivers``, ``contacts``.
    """
    ids = list(dict.fromkeys(account_ids))
    with _reading(warehouse) as con:  # one connection for the batch, not one per query
        acc = readmodel.eligibility(con, ids)
        if acc.empty:
            return {}
        drivers = readmodel.top_drivers(con, ids, n=5)
        contacts = contacts_by_role(con, ids)
    score_by_id = {r["account_id"]: r for r in acc.to_dict("records") if _py(r["p_churn"]) is not None}
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
