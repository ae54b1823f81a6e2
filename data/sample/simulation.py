"""The simulation: the accounts, drawn once, and their 24 months of history.

:class:`_Simulation` draws the accounts (segment, plan, seats, CSM, latent traits, names) and
holds the arrays the months (:mod:`data.sample.months`) fill in; the tables are built from it
afterwards (:mod:`data.sample.tables`). Everything draws from one random stream in a fixed
order, so the same seed and end always give the same history.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from data.sample.company import (
    _NOUNS,
    _PREFIXES,
    _SUFFIXES,
    CSM_BOOK_SHARE,
    CSM_NAMES,
    INDUSTRIES,
    LEAD_SOURCE_SHARE,
    LEAD_SOURCES,
    N_MONTHS,
    PLAN_BY_SEGMENT,
    PRICE_PER_SEAT,
    REGION_SHARE,
    REGIONS,
    SEGMENT_ARR_MEDIAN,
    SEGMENT_SHARE,
)
from data.sample.dates import _day, _month_start


class _Simulation:
    """The accounts (drawn at construction) and their monthly history (:func:`~data.sample.months.run_months`)."""

    def __init__(self, n: int, seed: int, end: date, event_fraction: float = 1.0) -> None:
        self.n = n
        self.end = end
        self._account_index: pd.Index | None = None
        self.rng = np.random.default_rng(seed)
        self.event_fraction = event_fraction
        self.thin_rng = np.random.default_rng([seed, 1])  # separate stream: thinning never shifts self.rng
        self.end_day = _day(end)
        end_month = int(np.datetime64(end, "M").astype(np.int64))
        self.month_abs = np.arange(end_month - N_MONTHS + 1, end_month + 2)  # 25 boundaries
        self.ms = _month_start(self.month_abs)
        self.window_start = int(self.ms[0])
        self.n_days = self.end_day - self.window_start + 1
        self._accounts()
        # filled month by month by data.sample.months.run_months, which also sets ``history``
        self.churn_day = np.full(n, -1, dtype=np.int64)
        self.logu = np.zeros((n, N_MONTHS + 4))  # log usage at month boundaries -3..T, index = t + 3
        self.seats_m = np.zeros((n, N_MONTHS), dtype=np.float32)
        self.util_m = np.zeros((n, N_MONTHS), dtype=np.float32)
        self.history = None

    # ------------------------------------------------------------------ accounts
    def _accounts(self) -> None:
        rng, n = self.rng, self.n
        n_stock = int(round(n * 0.42))
        stock_created = self.window_start - rng.integers(1, 3 * 365 + 1, n_stock)
        weights = 1.0 + 0.6 * np.arange(N_MONTHS) / (N_MONTHS - 1)
        new_month = rng.choice(N_MONTHS, n - n_stock, p=weights / weights.sum())
        mlen = np.diff(self.ms)
        span = mlen[new_month].copy()
        last = new_month == N_MONTHS - 1
        span[last] = np.minimum(span[last], self.end_day - self.ms[N_MONTHS - 1] + 1)
        new_created = self.ms[new_month] + (rng.random(n - n_stock) * span).astype(np.int64)
        created = np.sort(np.concatenate([stock_created, new_created]))
        self.created = created
        cdates = created.astype("datetime64[D]")
        self.signup_abs = cdates.astype("datetime64[M]").astype(np.int64)
        self.dom = (created - _month_start(self.signup_abs) + 1).astype(np.int64)

        self.segment = rng.choice(3, n, p=SEGMENT_SHARE)
        u = rng.random(n)
        cum = np.cumsum(PLAN_BY_SEGMENT, axis=1)[self.segment]
        self.plan = (u[:, None] > cum).sum(axis=1).clip(0, 3)
        self.industry = rng.integers(0, len(INDUSTRIES), n)
        self.region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
        self.csm = rng.choice(len(CSM_NAMES), n, p=CSM_BOOK_SHARE)
        arr = SEGMENT_ARR_MEDIAN[self.segment] * np.exp(rng.normal(0.0, 0.6, n))
        self.pps = PRICE_PER_SEAT[self.plan] * np.exp(rng.normal(0.0, 0.12, n))
        self.seats = np.maximum(1, np.round(arr / 12.0 / self.pps)).astype(np.int64)
        self.seats_initial, self.pps_initial = self.seats.copy(), self.pps.copy()
        self.employee_count = np.maximum(
            self.seats + 1, np.round(self.seats * np.exp(rng.normal(np.log(6.0), 0.6, n)))).astype(np.int64)
        self.lead_source = rng.choice(len(LEAD_SOURCES), n, p=LEAD_SOURCE_SHARE)
        p_annual = np.array([0.15, 0.5, 0.9])[self.segment]
        self.annual = rng.random(n) < p_annual
        p_addon = np.where(self.plan >= 2, 0.4, 0.1)
        self.has_addon = rng.random(n) < p_addon
        self.addon_start = np.where(self.has_addon, created, -1)
        self.addon_mrr = np.round(self.seats * self.pps * rng.uniform(0.12, 0.25, n), 2)
        util_mean = np.array([0.58, 0.52, 0.47])[self.segment]
        conc = 6.0
        self.util = rng.beta(util_mean * conc, (1 - util_mean) * conc)
        self.frailty = rng.normal(0.0, 0.3, n)
        self.trend = rng.normal(0.0, 0.015, n)
        self.sentiment = rng.normal(0.0, 1.3, n)
        # name and domain
        n_combo = len(_PREFIXES) * len(_NOUNS) * len(_SUFFIXES)
        pick = rng.permutation(max(n, n_combo))[:n]
        combo, rep = pick % n_combo, pick // n_combo
        p_i, rest = np.divmod(combo, len(_NOUNS) * len(_SUFFIXES))
        n_i, s_i = np.divmod(rest, len(_SUFFIXES))
        pre, noun, suf = np.array(_PREFIXES), np.array(_NOUNS), np.array(_SUFFIXES)
        base = np.char.add(np.char.add(np.char.add(pre[p_i], " "), np.char.add(noun[n_i], " ")), suf[s_i])
        repstr = np.where(rep > 0, np.char.add(" ", (rep + 1).astype(str)), "")
        self.name = np.char.add(base, repstr)
        self.domain = np.char.add(np.char.replace(np.char.lower(self.name), " ", "-"), ".com")
        width = max(6, len(str(n)))
        self.account_id = np.char.add("A", np.char.zfill(np.arange(1, n + 1).astype(str), width))
