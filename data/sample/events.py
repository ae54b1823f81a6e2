"""Daily event aggregates (one row per account, day and event type), generated in chunks of accounts.

They come from the monthly usage path of the finished simulation (``logu``, seats and
utilisation per month), after the other tables' months are drawn; the chunk size is fixed
(:data:`~data.sample.company.EVENT_CHUNK`), so the rows never depend on memory, and
``event_fraction`` thins them with a separate random stream.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from data.sample.company import DAILY_ACTIVE_SHARE, EVENT_CHUNK, EVENT_TYPES
from data.sample.simulation import _Simulation


def events_table(sim: _Simulation) -> pd.DataFrame:
    """Daily aggregates per (account, day, event type), generated in chunks of accounts."""
    parts = [chunk[2:] for chunk in event_chunks(sim)]
    # fill the final columns part by part so only one chunk exists twice in memory
    m = sum(p[0].size for p in parts)
    acc = np.empty(m, dtype=np.int32)
    event_time = np.empty(m, dtype="datetime64[s]")
    event_type = np.empty(m, dtype=np.int8)
    quantity = np.empty(m, dtype=np.float64)
    pos = 0
    parts.reverse()
    while parts:
        a, d, k, qty = parts.pop()
        sl = slice(pos, pos + a.size)
        acc[sl], event_type[sl], quantity[sl] = a, k, qty
        event_time[sl] = event_times(sim, d)
        pos += a.size
    return events_frame(sim, acc, event_time, event_type, quantity)


def event_times(sim: _Simulation, day_index: np.ndarray) -> np.ndarray:
    return ((day_index.astype(np.int64) + sim.window_start) * 86400).astype("datetime64[s]")


def events_frame(sim: _Simulation, acc: np.ndarray, event_time: np.ndarray, event_type: np.ndarray,
                 quantity: np.ndarray, accounts: tuple[int, int] | None = None) -> pd.DataFrame:
    """The events table (or one chunk of it) from account codes, times, type codes and quantities.

    ``accounts`` = (lo, hi): the rows belong to accounts lo..hi-1 only, and the
    account_id categories are just those (a chunk then does not carry every id).
    """
    m = acc.size
    if accounts is None:
        if sim._account_index is None:
            sim._account_index = pd.Index(sim.account_id, dtype="str")
        ids = pd.Categorical.from_codes(acc, categories=sim._account_index)
    else:
        lo, hi = accounts
        ids = pd.Categorical.from_codes(acc - lo, categories=pd.Index(sim.account_id[lo:hi], dtype="str"))
    return pd.DataFrame({
        "account_id": ids,
        "event_time": event_time,
        "event_type": pd.Categorical.from_codes(event_type, categories=pd.Index(EVENT_TYPES, dtype="str")),
        "quantity": quantity.astype(np.float64, copy=False),
        "user_id": pd.Categorical.from_codes(np.full(m, -1, dtype=np.int8),
                                             categories=pd.Index(["-"], dtype="str")),
    }, copy=False)


def event_chunks(sim: _Simulation) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(lo, hi, account code, day index, event type code, quantity) of the non-zero cells, per chunk of
    accounts lo..hi-1.

    Draws from ``sim.rng`` in a fixed order (per-account rates first, then chunk by
    chunk), so the tables are the same whether the chunks are collected or streamed.
    """
    rng, n, D = sim.rng, sim.n, sim.n_days
    day_abs = sim.window_start + np.arange(D)
    month_idx = np.searchsorted(sim.ms, day_abs, side="right") - 1
    frac = (day_abs - sim.ms[month_idx]) / (sim.ms[month_idx + 1] - sim.ms[month_idx])
    dates = day_abs.astype("datetime64[D]")
    weekday = (day_abs + 3) % 7  # 0 = Monday
    wk = np.where(weekday == 5, 0.07, np.where(weekday == 6, 0.05, 1.0))
    md = (dates - dates.astype("datetime64[Y]")).astype(np.int64)  # day of year, 0-based
    holiday = (md >= 357) | (md <= 0)  # around Christmas and New Year
    wk = np.where(holiday, wk * 0.35, wk)
    is_weekday = (weekday < 5).astype(float)
    core_rate = np.exp(rng.normal(np.log(5.0), 0.4, n))
    report_rate = np.exp(rng.normal(np.log(0.05), 0.5, n))
    export_rate = np.exp(rng.normal(np.log(0.008), 0.6, n))
    has_integration = rng.random(n) < np.array([0.1, 0.4, 0.8])[sim.segment]
    sync_rate = np.where(has_integration, np.exp(rng.normal(np.log(6.0), 0.5, n)), 0.0)
    start_idx = np.maximum(sim.created - sim.window_start, 0)
    stop_idx = np.where(sim.churn_day >= 0, sim.churn_day, sim.end_day + 1) - sim.window_start
    for lo in range(0, n, EVENT_CHUNK):
        hi = min(n, lo + EVENT_CHUNK)
        sl = slice(lo, hi)
        c = hi - lo
        logu = sim.logu[sl, 3:]
        u = np.exp(logu[:, month_idx] * (1 - frac) + logu[:, month_idx + 1] * frac)
        age = (day_abs[None, :] - sim.created[sl, None]).astype(float)
        ramp = 0.15 + 0.85 * (1 - np.exp(-np.maximum(age, 0) / 20.0))
        active = (np.arange(D)[None, :] >= start_idx[sl, None]) & (np.arange(D)[None, :] < stop_idx[sl, None])
        seats = sim.seats_m[sl][:, month_idx].astype(float)
        util = sim.util_m[sl][:, month_idx].astype(float)
        noise = np.exp(rng.normal(0, 0.25, (c, D)))
        lam = DAILY_ACTIVE_SHARE * seats * util * u * ramp * wk * noise * active
        q = np.empty((c, D, len(EVENT_TYPES)), dtype=np.float64)
        dau = np.minimum(rng.poisson(lam), seats)
        q[:, :, 0] = dau
        q[:, :, 1] = rng.poisson(dau * core_rate[sl, None] * np.exp(rng.normal(0, 0.3, (c, D))))
        q[:, :, 2] = rng.poisson(dau * report_rate[sl, None])
        q[:, :, 3] = rng.poisson(sync_rate[sl, None] * np.minimum(u, 1.0) * (age >= 14) * is_weekday * active)
        invite = seats * (0.05 * np.exp(-np.maximum(age, 0) / 12.0) + 0.001) * is_weekday * active
        q[:, :, 4] = rng.poisson(invite)
        q[:, :, 5] = rng.poisson(dau * export_rate[sl, None])
        a, d, k = np.nonzero(q)
        if sim.event_fraction < 1:
            keep = sim.thin_rng.random(a.size) < sim.event_fraction
            a, d, k = a[keep], d[keep], k[keep]
        chunk = (lo, hi, (a + lo).astype(np.int32), d.astype(np.int16), k.astype(np.int8),
                 q[a, d, k].astype(np.float32))
        del q, u, age, ramp, active, seats, util, noise, lam, dau, invite, a, d, k
        yield chunk

