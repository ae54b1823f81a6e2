"""Reference metric build: straightforward pandas groupbys, one observation date at a time.

Not product code. It recomputes every metric the product derives from the raw tables
(all of ``STATIC_METRICS``: contract, usage, adoption, support, sentiment, billing and
relationship metrics, plus count, trend and recency metrics for every event type) so
``make bench`` can check that the product's metric build returns identical values and
report how much faster it is. Account attributes (copied from ``accounts`` as they are)
are not recomputed.

Raw tables are loaded once, the way a pandas user would: one frame per table, accounts
as integer codes, event days as integer day numbers and event types and user ids as
categorical codes (the events table is by far the largest). That load is timed
separately and included in the total. Then, for each observation date, every metric is a
boolean-mask filter and a ``groupby`` on the rows before that date.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from data.metrics import contacts_first_seen, event_slug

EVENT_SUFFIXES = ("per_month_30d", "per_month_90d", "change_30v60", "days_since")
HIGH_PRIORITIES = ("high", "urgent", "critical", "p1", "p2")
SEVERITY = {"urgent": 1.0, "critical": 1.0, "p1": 1.0, "high": 0.6, "p2": 0.6, "normal": 0.15, "medium": 0.15,
            "p3": 0.15}
EPOCH = pd.Timestamp("1970-01-01")


def load_raw(con) -> dict:
    """Every raw table as a pandas frame with an integer account code ``acc``.

    Codes index ``accounts`` (accounts referenced elsewhere but missing there are
    appended, with ``known`` False). DATE and TIMESTAMP columns stay ``datetime64``;
    events carry ``day`` (days since 1970-01-01 of ``event_time``), ``type`` and
    ``user`` (codes, -1 for no user), converted in the query as one would with
    categoricals, because the events table is by far the largest.
    """
    accounts = con.execute("SELECT account_id, created_at FROM accounts").df()
    tables = {t: con.execute(f"SELECT * FROM {t}").df()  # noqa: S608 - fixed table names
              for t in ("subscriptions", "tickets", "nps", "invoices", "contacts")}
    ids = pd.Index(accounts["account_id"].astype(str))
    extra = pd.Index([r[0] for r in con.execute("SELECT DISTINCT account_id FROM events").fetchall()]).difference(ids)
    for t in tables.values():
        extra = extra.union(pd.Index(t["account_id"].astype(str)).difference(ids))
    index = ids.append(extra)
    created = pd.concat([accounts["created_at"], pd.Series(pd.NaT, index=range(len(extra)), dtype="datetime64[us]")],
                        ignore_index=True)
    raw = {"index": index, "created": created.to_numpy(), "known": np.arange(len(index)) < len(ids)}
    for name, t in tables.items():
        t["acc"] = index.get_indexer(t["account_id"].astype(str))
        raw[name] = t.drop(columns=["account_id"])
    types = [r[0] for r in con.execute("SELECT DISTINCT event_type FROM events ORDER BY 1").fetchall()]
    users = [r[0] for r in con.execute("SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL").fetchall()]
    codes = {"_ref_accounts": pd.DataFrame({"account_id": index, "acc": np.arange(len(index), dtype=np.int32)}),
             "_ref_types": pd.DataFrame({"event_type": types, "type": np.arange(len(types), dtype=np.int16)}),
             "_ref_users": pd.DataFrame({"user_id": pd.Series(users, dtype=object),
                                         "user": np.arange(len(users), dtype=np.int32)})}
    for name, frame in codes.items():
        con.register(name, frame)
    try:
        raw["events"] = con.execute(
            "SELECT a.acc, CAST(date_diff('day', DATE '1970-01-01', CAST(e.event_time AS DATE)) AS INTEGER) AS day, "
            "t.type, e.quantity, coalesce(u.user, -1) AS user FROM events e "
            "JOIN _ref_accounts a USING (account_id) JOIN _ref_types t USING (event_type) "
            "LEFT JOIN _ref_users u USING (user_id)").df()
    finally:
        for name in codes:
            con.unregister(name)
    raw["types"] = types

    first_seen = contacts_first_seen(con)
    raw["contacts_first_seen"] = pd.Timestamp(first_seen) if first_seen is not None else pd.Timestamp.max
    return raw


def _slug(event_type: str) -> str:
    return event_slug(event_type)


def _per_acc(series: pd.Series, accs: np.ndarray, fill=np.nan) -> np.ndarray:
    return series.reindex(accs).fillna(fill).to_numpy(dtype=float)


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.days.astype(float)


def metrics_for_date(raw: dict, accs: np.ndarray, obs_date) -> pd.DataFrame:
    """Every raw-table metric for accounts ``accs`` (codes) as of ``obs_date``.

    Reads only rows strictly before ``obs_date``; an end, close, payment or departure on
    or after it counts as not yet happened (the product's rules, docs/architecture.md section 5).
    """
    d = pd.Timestamp(obs_date)
    day = int((d - EPOCH).days)
    out = pd.DataFrame(index=pd.Index(accs, name="acc"))

    # contract
    subs = raw["subscriptions"]
    started = subs[subs["start_date"] < d]
    active = started[started["end_date"].isna() | (started["end_date"] >= d)]
    g = active.groupby("acc")
    out["mrr"] = _per_acc(g["mrr"].sum(), accs, 0.0)
    out["seats"] = _per_acc(g["seats"].sum(min_count=1).astype(float), accs)
    out["active_subscriptions"] = _per_acc(g.size(), accs, 0)
    annual = active["billing_period"].str.lower().eq("annual").fillna(False)
    out["contract_annual"] = _per_acc(annual.groupby(active["acc"]).max().astype(float), accs, 0)
    renewing = active[annual & active["renewal_date"].notna()]
    until = _days(renewing["renewal_date"] - d) % 365
    out["days_to_renewal"] = _per_acc(until.groupby(renewing["acc"]).min(), accs)
    out["renewal_within_90d"] = (out["days_to_renewal"] <= 90).astype(float)
    ago = d - pd.Timedelta(days=90)
    then = started[(started["start_date"] < ago) & (started["end_date"].isna() | (started["end_date"] >= ago))]
    mrr_ago = _per_acc(then.groupby("acc")["mrr"].sum(), accs)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["mrr_change_90d"] = np.where(mrr_ago > 0, (out["mrr"] - mrr_ago) / mrr_ago, np.nan)
    first_start = started.groupby("acc")["start_date"].min().reindex(accs)
    created = pd.Series(raw["created"][accs], index=accs)
    since = pd.concat([first_start, created], axis=1).min(axis=1)
    tenure = _days(d - since).where(raw["known"][accs])
    out["tenure_days"] = tenure.to_numpy()

    # usage and adoption (all event types)
    ev = raw["events"]
    past = ev[ev["day"] < day]
    w90 = past[past["day"] >= day - 90]
    w30 = w90[w90["day"] >= day - 30]
    out["active_days_30d"] = _per_acc(w30.groupby("acc")["day"].nunique(), accs, 0)
    named = w90[w90["user"] >= 0]
    login = raw["types"].index("login") if "login" in raw["types"] else -2
    day_keys = w90.groupby(["acc", "day"]).size().index
    named_per_day = named.groupby(["acc", "day"])["user"].nunique().reindex(day_keys, fill_value=0)
    login_qty = w90[(w90["type"] == login) & (w90["user"] < 0)].groupby(["acc", "day"])["quantity"].sum()
    users = named_per_day.astype(float).where(named_per_day > 0, login_qty.reindex(day_keys))
    users = users.reset_index(name="users")
    users30 = users[users["day"] >= day - 30].groupby("acc")["users"]
    dau_30d = _per_acc(users30.sum(), accs, 0) / 30.0
    dau_prev_60d = _per_acc(users[users["day"] < day - 30].groupby("acc")["users"].sum(), accs, 0) / 60.0
    max_daily_users = _per_acc(users30.max(), accs)
    named_users = _per_acc(named[named["day"] >= day - 30].groupby("acc")["user"].nunique(), accs, 0)
    active_users = np.where(named_users > 0, named_users, np.nan_to_num(max_daily_users, nan=0.0))
    out["active_users_30d"] = active_users
    seats = out["seats"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["seat_utilisation"] = np.where(seats > 0, active_users / seats, np.nan)
        change = np.where(dau_prev_60d > 0, np.clip((dau_30d - dau_prev_60d) / dau_prev_60d, -1.0, 3.0),
                          np.where(dau_30d > 0, 3.0, 0.0))
    out["dau_change_30v60"] = np.where(tenure.to_numpy() < 44, np.nan, change)

    # support
    tk = raw["tickets"]
    tk = tk[tk["opened_at"] < d]
    priority = tk["priority"].str.lower()
    recent = tk["opened_at"] >= d - pd.Timedelta(days=90)
    out["tickets_30d"] = _per_acc(tk[tk["opened_at"] >= d - pd.Timedelta(days=30)].groupby("acc").size(), accs, 0)
    out["tickets_90d"] = _per_acc(tk[recent].groupby("acc").size(), accs, 0)
    out["high_priority_tickets_90d"] = _per_acc(
        tk[recent & priority.isin(HIGH_PRIORITIES)].groupby("acc").size(), accs, 0)
    severity = priority.map(SEVERITY).fillna(0.0).astype(float)
    last60 = tk["opened_at"] >= d - pd.Timedelta(days=60)
    out["ticket_severity_60d"] = _per_acc(severity[last60].groupby(tk.loc[last60, "acc"]).sum(), accs, 0)
    out["open_tickets"] = _per_acc(tk[tk["closed_at"].isna() | (tk["closed_at"] >= d)].groupby("acc").size(), accs, 0)
    closed = tk[(tk["closed_at"] < d) & (tk["closed_at"] >= d - pd.Timedelta(days=90))]
    hours = (closed["closed_at"].dt.floor("h") - closed["opened_at"].dt.floor("h")) / pd.Timedelta(hours=1)
    out["resolution_hours_90d"] = _per_acc(hours.groupby(closed["acc"]).mean(), accs)
    rated = tk[(tk["closed_at"] < d) & (tk["closed_at"] >= d - pd.Timedelta(days=180))]
    out["csat_180d"] = _per_acc(rated.groupby("acc")["csat"].mean(), accs)

    # sentiment
    nps = raw["nps"]
    responses = nps[nps["responded_at"] < d].sort_values("responded_at", kind="stable").groupby("acc")
    latest = responses.nth(-1).set_index("acc")
    previous = responses.nth(-2).set_index("acc")
    out["nps_latest"] = _per_acc(latest["score"].astype(float), accs)
    out["nps_change"] = out["nps_latest"] - _per_acc(previous["score"].astype(float), accs)
    out["days_since_nps"] = _per_acc(_days(d - latest["responded_at"].dt.normalize()), accs)

    # billing
    inv = raw["invoices"]
    inv = inv[inv["issued_at"] < d]
    due = inv["due_at"].fillna(inv["issued_at"])
    failed = inv["status"].str.lower().eq("failed").fillna(False) & (due < d)
    for days in (90, 180):
        hit = failed & (due >= d - pd.Timedelta(days=days))
        out[f"failed_payments_{days}d"] = _per_acc(inv[hit].groupby("acc").size(), accs, 0)
    late = (inv["paid_at"] < d) & (inv["paid_at"] > inv["due_at"]) & (inv["due_at"] >= d - pd.Timedelta(days=180))
    out["late_payments_180d"] = _per_acc(inv[late].groupby("acc").size(), accs, 0)
    overdue = (inv["due_at"] < d) & (inv["paid_at"].isna() | (inv["paid_at"] >= d))
    out["overdue_invoices"] = _per_acc(inv[overdue].groupby("acc").size(), accs, 0)

    # relationship
    ct = raw["contacts"]
    unknown_start = ct["active_from"].isna()
    start = ct["active_from"].fillna(raw["contacts_first_seen"])  # missing start: first seen at import
    keep = start < d
    ct, start, unknown_start = ct[keep], start[keep], unknown_start[keep]
    current = ct["active_to"].isna() | (ct["active_to"] >= d)
    champion = ct["role"].str.lower().eq("champion").fillna(False)
    left = champion & (ct["active_to"] < d)
    out["active_contacts"] = _per_acc(ct[current].groupby("acc").size(), accs, 0)
    out["active_champions"] = _per_acc(ct[current & champion].groupby("acc").size(), accs, 0)
    out["champions_left_90d"] = _per_acc(
        ct[left & (ct["active_to"] >= d - pd.Timedelta(days=90))].groupby("acc").size(), accs, 0)
    in_place = current & champion & ~unknown_start
    out["champion_tenure_days"] = _per_acc(_days(d - start[in_place]).groupby(ct.loc[in_place, "acc"]).min(), accs)
    out["days_since_champion_left"] = _per_acc(_days(d - ct.loc[left, "active_to"]).groupby(ct.loc[left, "acc"]).min(),
                                               accs)

    # per event type: counts per month, trend, recency
    q30 = w30.groupby(["acc", "type"])["quantity"].sum()
    q90 = w90.groupby(["acc", "type"])["quantity"].sum()
    qprev = w90[w90["day"] < day - 30].groupby(["acc", "type"])["quantity"].sum()
    last = past.groupby(["acc", "type"])["day"].max()
    tenure_days = tenure.fillna(90).clip(lower=0).to_numpy(dtype=float)
    months_observed = np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0
    prev_days = np.clip(tenure_days - 30.0, 0.0, 60.0)
    for code, et in enumerate(raw["types"]):
        slug = _slug(et)
        idx = pd.MultiIndex.from_arrays([accs, np.full(len(accs), code, dtype=ev["type"].dtype)])
        a30 = q30.reindex(idx).fillna(0).to_numpy()
        a90 = q90.reindex(idx).fillna(0).to_numpy()
        a60 = qprev.reindex(idx).fillna(0).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            rate30 = a30 / 30.0
            rate60 = np.where(prev_days > 0, a60 / np.maximum(prev_days, 1.0), np.nan)
            change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
        change = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
        since_last = day - last.reindex(idx).to_numpy(dtype=float)
        since_last = np.where(np.isnan(since_last), 365.0, np.minimum(since_last, 365.0))
        out[f"ev_{slug}_per_month_30d"] = a30
        out[f"ev_{slug}_per_month_90d"] = a90 / months_observed
        out[f"ev_{slug}_change_30v60"] = change
        out[f"ev_{slug}_days_since"] = since_last
    return out


def run(con, rows: pd.DataFrame, product: pd.DataFrame, *, max_dates: int | None = None) -> dict:
    """Time the reference on every observation date (or ``max_dates`` evenly spaced ones,
    extrapolated linearly in the number of observation rows) and compare with ``product``
    (the product's metric frame for ``rows``): NaN-aware, relative (and absolute) tolerance 1e-9.

    ``not_covered`` lists product numeric columns the reference does not recompute
    (account attributes)."""
    t0 = time.perf_counter()
    raw = load_raw(con)
    load_s = time.perf_counter() - t0
    obs_dates = pd.to_datetime(rows["obs_date"]).dt.date
    dates = sorted(obs_dates.unique())
    picked = dates
    if max_dates and len(dates) > max_dates:
        picked = [dates[i] for i in np.linspace(0, len(dates) - 1, max_dates).round().astype(int)]
    per_date_rows = obs_dates.value_counts()
    prod = product.copy()
    prod["obs_date"] = pd.to_datetime(prod["obs_date"]).dt.date
    prod = prod.set_index(["account_id", "obs_date"])
    loop_s = 0.0
    mismatches: dict[str, int] = {}
    compared = 0
    columns: list[str] = []
    for d in picked:
        ids = rows.loc[(obs_dates == d).to_numpy(), "account_id"].astype(str).to_numpy()
        accs = raw["index"].get_indexer(ids)
        t = time.perf_counter()
        ref = metrics_for_date(raw, accs, d)
        loop_s += time.perf_counter() - t
        columns = list(ref.columns)
        mine = prod.reindex(pd.MultiIndex.from_arrays([ids, [d] * len(ids)]))
        for c in columns:
            x = ref[c].to_numpy(dtype=float)
            y = mine[c].to_numpy(dtype=float) if c in mine.columns else np.full(len(x), np.nan)
            same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=1e-9, atol=1e-9)
            bad = int((~same).sum())
            if bad:
                mismatches[c] = mismatches.get(c, 0) + bad
        compared += len(ids) * len(columns)
    measured_rows = int(sum(per_date_rows.get(d, 0) for d in picked))
    total_rows = int(len(rows))
    loop_total = loop_s * total_rows / max(measured_rows, 1)
    numeric = [c for c in product.columns if c not in ("account_id", "obs_date")
               and pd.api.types.is_numeric_dtype(product[c])]
    return {
        "load_s": round(load_s, 3), "loop_measured_s": round(loop_s, 3), "dates_measured": len(picked),
        "dates_total": len(dates), "rows_measured": measured_rows, "rows_total": total_rows,
        "extrapolated": len(picked) < len(dates), "seconds": round(load_s + loop_total, 3),
        "columns": columns, "not_covered": [c for c in numeric if c not in columns],
        "values_compared": compared, "mismatches": mismatches, "identical": not mismatches,
    }
