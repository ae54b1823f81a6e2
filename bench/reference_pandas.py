"""Reference metric build: straightforward pandas groupbys, one observation date at a time.

Not product code. It recomputes a representative subset of the metric layer (every
event metric for every event type, active days, tickets, MRR and seats) from the raw
tables the product reads, so ``make bench`` can check the product's DuckDB SQL returns
identical values and report how much faster it is. Raw tables are loaded once with
integer codes for accounts and event types (what a pandas user would do with
categoricals); that load is timed separately from the per-date loop.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

EVENT_SUFFIXES = ("per_month_30d", "per_month_90d", "change_30v60", "days_since")
ACCOUNT_METRICS = ("active_days_30d", "tickets_30d", "tickets_90d", "mrr", "seats")


def load_raw(con) -> dict:
    """Raw tables as pandas frames with integer day numbers and codes (days since 1970-01-01)."""
    accounts = con.execute("SELECT account_id, date_diff('day', DATE '1970-01-01', created_at) AS created "
                           "FROM accounts ORDER BY account_id").df()
    code = {a: i for i, a in enumerate(accounts["account_id"])}
    types = [r[0] for r in con.execute("SELECT DISTINCT event_type FROM events ORDER BY 1").fetchall()]
    con.register("_bench_types", pd.DataFrame({"event_type": types, "code": np.arange(len(types), dtype=np.int8)}))
    con.register("_bench_accounts", pd.DataFrame({"account_id": accounts["account_id"],
                                                  "acc": np.arange(len(accounts), dtype=np.int32)}))
    try:
        events = con.execute(
            "SELECT a.acc, CAST(date_diff('day', DATE '1970-01-01', CAST(e.event_time AS DATE)) AS INTEGER) AS day, "
            "t.code AS type, e.quantity FROM events e JOIN _bench_accounts a USING (account_id) "
            "JOIN _bench_types t USING (event_type)").df()
        tickets = con.execute(
            "SELECT a.acc, epoch(t.opened_at) / 86400.0 AS opened FROM tickets t "
            "JOIN _bench_accounts a USING (account_id)").df()
        subs = con.execute(
            "SELECT a.acc, date_diff('day', DATE '1970-01-01', s.start_date) AS start, "
            "date_diff('day', DATE '1970-01-01', s.end_date) AS end_day, s.mrr, s.seats "
            "FROM subscriptions s JOIN _bench_accounts a USING (account_id)").df()
    finally:
        con.unregister("_bench_types")
        con.unregister("_bench_accounts")
    return {"accounts": accounts, "code": code, "types": types, "events": events, "tickets": tickets, "subs": subs}


def _slug(event_type: str) -> str:
    from data.metrics import event_slug

    return event_slug(event_type)


def metrics_for_date(raw: dict, accs: np.ndarray, d: int) -> pd.DataFrame:
    """The subset of metrics for accounts ``accs`` (codes) as of day number ``d``."""
    ev, subs, tk = raw["events"], raw["subs"], raw["tickets"]
    out = pd.DataFrame(index=pd.Index(accs, name="acc"))
    # tenure: days since the earlier of the first subscription start (before d) and created_at
    s_before = subs[subs["start"] < d]
    first = s_before.groupby("acc")["start"].min()
    created = raw["accounts"]["created"]
    start = pd.concat([first.reindex(accs), pd.Series(created.to_numpy()[accs], index=accs)], axis=1).min(axis=1)
    tenure = d - start
    active = s_before[s_before["end_day"].isna() | (s_before["end_day"] >= d)]
    g = active.groupby("acc")
    out["mrr"] = g["mrr"].sum().reindex(accs)
    out["seats"] = g["seats"].sum().reindex(accs)
    t = tk[(tk["opened"] < d)]
    out["tickets_30d"] = t[t["opened"] >= d - 30].groupby("acc").size().reindex(accs).fillna(0)
    out["tickets_90d"] = t[t["opened"] >= d - 90].groupby("acc").size().reindex(accs).fillna(0)

    past = ev[ev["day"] < d]
    w90 = past[past["day"] >= d - 90]
    w30 = w90[w90["day"] >= d - 30]
    out["active_days_30d"] = w30.groupby("acc")["day"].nunique().reindex(accs).fillna(0)
    q30 = w30.groupby(["acc", "type"])["quantity"].sum()
    q90 = w90.groupby(["acc", "type"])["quantity"].sum()
    qprev = w90[w90["day"] < d - 30].groupby(["acc", "type"])["quantity"].sum()
    last = past.groupby(["acc", "type"])["day"].max()
    tenure_days = tenure.fillna(90).clip(lower=0).to_numpy(dtype=float)
    months_observed = np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0
    prev_days = np.clip(tenure_days - 30.0, 0.0, 60.0)
    for code, et in enumerate(raw["types"]):
        slug = _slug(et)
        idx = pd.MultiIndex.from_arrays([accs, np.full(len(accs), code, dtype=np.int8)])
        a30 = q30.reindex(idx).fillna(0).to_numpy()
        a90 = q90.reindex(idx).fillna(0).to_numpy()
        a60 = qprev.reindex(idx).fillna(0).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            rate30 = a30 / 30.0
            rate60 = np.where(prev_days > 0, a60 / np.maximum(prev_days, 1.0), np.nan)
            change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
        change = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
        since = d - last.reindex(idx).to_numpy(dtype=float)
        since = np.where(np.isnan(since), 365.0, np.minimum(since, 365.0))
        out[f"ev_{slug}_per_month_30d"] = a30
        out[f"ev_{slug}_per_month_90d"] = a90 / months_observed
        out[f"ev_{slug}_change_30v60"] = change
        out[f"ev_{slug}_days_since"] = since
    return out


def run(con, rows: pd.DataFrame, product: pd.DataFrame, *, max_dates: int | None = None) -> dict:
    """Time the reference on every observation date (or ``max_dates`` evenly spaced ones,
    extrapolated linearly in the number of observation rows) and compare with ``product``
    (the product's metric frame for ``rows``)."""
    t0 = time.perf_counter()
    raw = load_raw(con)
    load_s = time.perf_counter() - t0
    dates = sorted(pd.to_datetime(rows["obs_date"]).dt.date.unique())
    picked = dates
    if max_dates and len(dates) > max_dates:
        picked = [dates[i] for i in np.linspace(0, len(dates) - 1, max_dates).round().astype(int)]
    day_of = {d: int((pd.Timestamp(d) - pd.Timestamp("1970-01-01")).days) for d in dates}
    obs_dates = pd.to_datetime(rows["obs_date"]).dt.date
    per_date_rows = obs_dates.value_counts()
    prod = product.copy()
    prod["obs_date"] = pd.to_datetime(prod["obs_date"]).dt.date
    prod = prod.set_index(["account_id", "obs_date"])
    loop_s = 0.0
    mismatches: dict[str, int] = {}
    compared = 0
    columns: list[str] = []
    for d in picked:
        ids = rows.loc[obs_dates == d, "account_id"].astype(str).to_numpy()
        accs = np.array([raw["code"][a] for a in ids], dtype=np.int64)
        t = time.perf_counter()
        ref = metrics_for_date(raw, accs, day_of[d])
        loop_s += time.perf_counter() - t
        columns = list(ref.columns)
        mine = prod.loc[[(a, d) for a in ids], columns]
        for c in columns:
            x = ref[c].to_numpy(dtype=float)
            y = mine[c].to_numpy(dtype=float)
            if c.startswith("tickets") or c == "active_days_30d":
                y = np.nan_to_num(y)
            same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=1e-9, atol=1e-9)
            bad = int((~same).sum())
            if bad:
                mismatches[c] = mismatches.get(c, 0) + bad
        compared += len(ids) * len(columns)
    measured_rows = int(sum(per_date_rows.get(d, 0) for d in picked))
    total_rows = int(len(rows))
    loop_total = loop_s * total_rows / max(measured_rows, 1)
    return {
        "load_s": round(load_s, 3), "loop_measured_s": round(loop_s, 3), "dates_measured": len(picked),
        "dates_total": len(dates), "rows_measured": measured_rows, "rows_total": total_rows,
        "extrapolated": len(picked) < len(dates), "seconds": round(load_s + loop_total, 3),
        "columns": columns, "values_compared": compared, "mismatches": mismatches,
        "identical": not mismatches,
    }
