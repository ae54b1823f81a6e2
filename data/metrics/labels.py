"""Churn and expansion labels: what happened *after* each observation date (targets, never features)."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from data.metrics.staging import _register_obs
from data.sqlfiles import load_sql


def compute_labels(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame, *, horizon_days: int = 90,
                   lead_days: int = 0, gap_days: int = 30, expansion_ratio: float = 1.10,
                   data_end: date | None = None, inactive_days: int | None = None) -> pd.DataFrame:
    """Churn and expansion labels (and churn date, MRR at obs) for each ``obs`` row.

    These read data *after* ``obs_date`` on purpose; they are targets, never features.
    ``data_end`` is the last day of history: labels whose window plus ``gap_days`` passes it
    are censored (NULL, ``label_known`` false) and billing periods ending at or after it (or
    within ``gap_days`` before it) are not churn (``data/sql/labels.sql``). ``None`` treats
    every recorded end as final (a complete export, or a hand-made test case).

    ``inactive_days`` (accounts without billing data): churn is ``inactive_days`` days without
    activity (``data/sql/activity_spells.sql``); a churn is known once that day is inside the data, so
    no renewal gap applies (``gap_days`` is 0) and a window past the data's end is censored.
    """
    obs = obs[["account_id", "obs_date"]].copy()
    obs["obs_date"] = pd.to_datetime(obs["obs_date"]).dt.date
    params = {"gap_days": int(gap_days) if inactive_days is None else 0, "lead_days": int(lead_days),
              "horizon_days": int(horizon_days), "expansion_ratio": float(expansion_ratio),
              "data_end": data_end if data_end is not None else date(9000, 1, 1)}
    if inactive_days is None:
        spells = con.execute(load_sql("subscription_spells"), {"gap_days": params["gap_days"]}).df()
    else:
        spells = activity_spells(con, inactive_days, params["data_end"])
    name = _register_obs(con, obs)
    con.register("spells", spells)
    try:
        sql = load_sql("labels").replace(" obs o", f" {name} o")
        out = con.execute(sql, params).df()
    finally:
        con.unregister(name)
        con.unregister("spells")
    out["obs_date"] = pd.to_datetime(out["obs_date"]).dt.date
    return obs.merge(out, on=["account_id", "obs_date"], how="left")


def activity_spells(con: duckdb.DuckDBPyConnection, inactive_days: int, data_end: date) -> pd.DataFrame:
    """(account_id, spell, spell_start, spell_end) runs of activity: ``data/sql/activity_spells.sql``."""
    return con.execute(load_sql("activity_spells"),
                       {"inactive_days": int(inactive_days), "data_end": data_end}).df()


def active_accounts(con: duckdb.DuckDBPyConnection, at: date) -> list[str]:
    """Accounts with a subscription active on the eve of ``at`` (start before, no end before)."""
    rows = con.execute(
        "SELECT DISTINCT account_id FROM subscriptions WHERE start_date < ? AND (end_date IS NULL OR end_date >= ?) "
        "ORDER BY 1", [at, at]).fetchall()
    return [r[0] for r in rows]
