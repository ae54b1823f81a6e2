"""Day numbers (days since 1970-01-01) and the months and billing days the simulation counts in."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _day(d) -> int:
    """Date-like -> days since 1970-01-01."""
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _month_start(month_abs: np.ndarray) -> np.ndarray:
    """Absolute month number (months since 1970-01) -> day number of its first day."""
    return np.asarray(month_abs, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_len(month_abs: np.ndarray) -> np.ndarray:
    return _month_start(np.asarray(month_abs) + 1) - _month_start(month_abs)


def _billing_day(month_abs: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """The account's billing day (its signup day of month, clipped to the month length)."""
    return _month_start(month_abs) + np.minimum(dom - 1, _month_len(month_abs) - 1)


def _to_datetime(days: np.ndarray) -> np.ndarray:
    """Day numbers -> datetime64[s]; negative sentinels (< 0) become NaT."""
    days = np.asarray(days, dtype=np.int64)
    out = (days * 86400).astype("datetime64[s]")
    out[days < 0] = np.datetime64("NaT")
    return out

