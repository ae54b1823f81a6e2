"""Observation dates as integer codes, and the as-of windows over them.

:class:`_ObsIndex` numbers the observation rows by account and date; :func:`_on_dates` adds a
table row over the run of dates it counts for; :func:`_pairs` joins a small per-account table
with every observation row of its account. None of them loops over dates.
:func:`monthly_dates` is the schedule of first-of-month observation dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

_DAY_ZERO = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class _ObsIndex:
    """Observation rows as integer codes: ``acc`` indexes ``accounts`` (sorted), ``date_no``
    indexes ``days`` (observation dates as days since 1970-01-01, ascending; ``dates`` as
    ``date``)."""

    accounts: pd.Index
    dates: np.ndarray
    days: np.ndarray
    acc: np.ndarray
    date_no: np.ndarray
    cell: np.ndarray  # acc * len(days) + date_no: the row's place in an (accounts, dates) array

    @classmethod
    def of(cls, obs: pd.DataFrame) -> _ObsIndex:
        acc, accounts = pd.factorize(obs["account_id"].astype(str), sort=True)
        date_code, date_values = pd.factorize(obs["obs_date"], sort=False)
        if (date_code < 0).any():
            raise ValueError("every observation row needs an obs_date")
        stamps = pd.Series(pd.to_datetime(pd.Series(date_values, dtype=object)).to_numpy())
        order = np.argsort(stamps.to_numpy(), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        sorted_stamps = stamps.iloc[order]
        date_no = rank[date_code]
        return cls(accounts=pd.Index(accounts), dates=np.array(list(sorted_stamps.dt.date), dtype=object),
                   days=(sorted_stamps.to_numpy().astype("datetime64[D]") - _DAY_ZERO).astype(np.int64),
                   acc=acc.astype(np.int64), date_no=date_no,
                   cell=acc.astype(np.int64) * len(order) + date_no)

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)


def _pairs(index: _ObsIndex, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(observation row, table row) for every row of a per-account table and every observation
    row of the same account: the set-based join of all observation dates with a small table
    (a few rows per account), with no loop over dates. Table rows keep their order within an
    account."""
    order = np.argsort(acc, kind="stable")
    lo = np.searchsorted(acc[order], index.acc, side="left")
    counts = np.searchsorted(acc[order], index.acc, side="right") - lo
    obs_row = np.repeat(np.arange(len(index.acc)), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return obs_row, order[np.repeat(lo, counts) + within]


def _per_row(rows: np.ndarray, where: np.ndarray, n: int, values: np.ndarray | None = None) -> np.ndarray:
    """Count (or sum of ``values``) of the pairs ``where`` per observation row."""
    return np.bincount(rows[where], weights=None if values is None else values[where], minlength=n).astype(float)


def _row_extreme(rows: np.ndarray, where: np.ndarray, values: np.ndarray, n: int, *, largest: bool) -> np.ndarray:
    """Largest (smallest) of ``values`` over the pairs ``where`` per observation row, NaN for none."""
    out = np.full(n, -np.inf if largest else np.inf)
    (np.maximum if largest else np.minimum).at(out, rows[where], values[where])
    return np.where(np.isinf(out), np.nan, out)


def _on_dates(index: _ObsIndex, acc: np.ndarray, first: np.ndarray, last: np.ndarray, *,
              where: np.ndarray | None = None, weight: np.ndarray | None = None) -> np.ndarray:
    """Per observation row: how many table rows of its account count on its date (or their
    summed ``weight``), a table row counting on every date from day ``first`` through day
    ``last`` (days since 1970-01-01, inclusive; ``inf`` for no end). Rows outside ``where``
    never count. Each table row is added once (at its first and after its last date), so
    the cost does not grow with the number of observation dates.
    """
    keep = np.ones(len(acc), dtype=bool) if where is None else where
    n_dates = len(index.days)
    start = np.searchsorted(index.days, first[keep], side="left")
    stop = np.searchsorted(index.days, last[keep], side="right")
    some = start < stop
    cell = acc[keep][some] * (n_dates + 1)
    amount = np.ones(int(some.sum())) if weight is None else weight[keep][some]
    change = np.zeros(index.n_accounts * (n_dates + 1))
    np.add.at(change, cell + start[some], amount)
    np.add.at(change, cell + stop[some], -amount)
    running = np.cumsum(change.reshape(index.n_accounts, n_dates + 1), axis=1)
    return running.reshape(-1)[index.cell + index.acc]  # row (acc, j) sits at acc * (n_dates + 1) + j


def _ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _day_no(d: date | None) -> float:
    return float((d - date(1970, 1, 1)).days) if d is not None else np.inf


def _as_date(day_no: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_no))


def monthly_dates(start: date, end: date) -> list[date]:
    """First days of months from ``start`` (rounded up) to ``end`` inclusive."""
    d = date(start.year, start.month, 1)
    if d < start:
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    out = []
    while d <= end:
        out.append(d)
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out
