"""One number, one format: how every page writes money, shares, dates, counts and empty values.

Pages call these instead of formatting inline, so the same figure reads the same everywhere:

* money: whole dollars with thousands separators (``$12,346``); never cents;
* shares and probabilities: a fraction in, a percentage with one decimal out (``10.8%``);
* dates: ``7 Dec 2026`` (day, short month, year); date-times add ``HH:MM UTC``;
* counts with their noun: ``1 day``, ``2 days``, ``1 run``;
* anything empty (None, NaN, NaT, pandas NA): an en dash ``–``.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

EMPTY = "–"
DATE_FORMAT = "%-d %b %Y"
DATETIME_FORMAT = "%-d %b %Y %H:%M UTC"
# The same date format for st.column_config.DateColumn / DatetimeColumn (moment.js tokens).
DATE_COLUMN_FORMAT = "D MMM YYYY"
DATETIME_COLUMN_FORMAT = "D MMM YYYY HH:mm"


def is_empty(value: Any) -> bool:
    """True for None, NaN, NaT, pandas NA and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def money(value: Any) -> str:
    """Whole dollars: ``$12,346`` (rounded half away from zero), ``-$1,200``, ``–`` when empty."""
    if is_empty(value):
        return EMPTY
    amount = float(value)
    whole = int(math.floor(abs(amount) + 0.5))
    return f"{'-' if amount < 0 and whole else ''}${whole:,}"


def pct(fraction: Any, digits: int = 1) -> str:
    """A fraction as a percentage with ``digits`` decimals: ``0.1076`` -> ``10.8%``; ``–`` when empty."""
    if is_empty(fraction):
        return EMPTY
    value, smallest = float(fraction) * 100, 10 ** -digits
    if value > 0 and float(f"{value:.{digits}f}") == 0:  # a small risk never reads as "0%"
        return f"<{smallest:.{digits}f}%"
    return f"{value:.{digits}f}%"


def pct_points(change: Any, digits: int = 1) -> str:
    """A change of a probability in percentage points with its sign: ``+3.2 pts``; ``–`` when empty."""
    if is_empty(change):
        return EMPTY
    return f"{float(change) * 100:+.{digits}f} pts"


def day(value: Any) -> str:
    """A date as ``7 Dec 2026``; ``–`` when empty."""
    if is_empty(value):
        return EMPTY
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, datetime | date):
        return value.strftime(DATE_FORMAT)
    return pd.Timestamp(value).strftime(DATE_FORMAT)


def moment(value: Any) -> str:
    """A naive-UTC date-time as ``7 Dec 2026 09:30 UTC``; ``–`` when empty."""
    if is_empty(value):
        return EMPTY
    return pd.Timestamp(value).strftime(DATETIME_FORMAT)


def plural(count: Any, singular: str, plural_form: str | None = None) -> str:
    """A count with its noun in the right number: ``1 day``, ``2 days``, ``1,204 accounts``, ``0 runs``."""
    n = int(count)
    word = singular if abs(n) == 1 else (plural_form or f"{singular}s")
    return f"{n:,} {word}"


def number(value: Any) -> str:
    """A whole count with thousands separators: ``1,204``; ``–`` when empty."""
    if is_empty(value):
        return EMPTY
    return f"{int(round(float(value))):,}"


# ------------------------------------------------------------------ table columns in the same formats
MONEY_COLUMN_FORMAT = "$%,d"  # whole dollars; round the values first (printf %d truncates)


def money_column(label: str, **kwargs):
    """An ``st.dataframe`` column of whole dollars (``$12,346``); pass values rounded with :func:`whole_dollars`."""
    import streamlit as st  # deferred: import time (streamlit; the chart builders use this module without it)

    return st.column_config.NumberColumn(label, format=MONEY_COLUMN_FORMAT, **kwargs)


def pct_column(label: str, **kwargs):
    """An ``st.dataframe`` column of fractions shown as percentages with one decimal (``10.8%``)."""
    import streamlit as st  # deferred: import time (streamlit; the chart builders use this module without it)

    return st.column_config.NumberColumn(label, format="percent", step=0.001, **kwargs)


def whole_dollars(values: pd.Series) -> pd.Series:
    """Amounts rounded to whole dollars (half away from zero), empty stays empty, for :func:`money_column`."""
    numbers = pd.to_numeric(values, errors="coerce")
    return (numbers.abs() + 0.5).floordiv(1) * np.where(numbers < 0, -1.0, 1.0)
