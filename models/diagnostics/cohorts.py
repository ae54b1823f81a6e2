"""Outcome rate per metric decile (or category) with Wilson intervals, and the metric groups of a catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.intervals import wilson_interval
from data.vocabulary import METRIC_GROUPS

COHORT_COLUMNS = ["bucket", "label", "low", "high", "n", "positives", "rate", "ci_low", "ci_high"]


def decile_cohorts(values, y, *, bins: int = 10, categorical: bool = False, max_categories: int = 12) -> pd.DataFrame:
    """Outcome rate by metric decile (or by category) with 95% Wilson intervals.

    Numeric values are cut at their quantiles (equal ``n`` where ties allow; repeated
    values such as many zeros merge buckets); missing values form their own bucket
    labelled "missing". Categories beyond the ``max_categories`` largest are pooled as
    "other". Columns: see ``COHORT_COLUMNS``.
    """
    v = pd.Series(values).reset_index(drop=True)
    y = pd.Series(np.asarray(y, dtype=float))
    rows = []

    def add(bucket, label, mask, low=np.nan, high=np.nan):
        n = int(mask.sum())
        if not n:
            return
        k = float(y[mask].sum())
        lo, hi = wilson_interval(k, n)
        rows.append((bucket, label, low, high, n, k, k / n, lo, hi))

    missing = v.isna()
    if categorical:
        cats = v[~missing].astype(str)
        top = cats.value_counts().index[:max_categories]
        for i, c in enumerate(sorted(top)):
            add(i + 1, c, (~missing) & (v.astype(str) == c))
        add(len(top) + 1, "other", (~missing) & ~v.astype(str).isin(top))
    else:
        num = pd.to_numeric(v, errors="coerce")
        missing = num.isna()
        known = num[~missing]
        if len(known):
            edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)))
            if len(edges) == 1:
                add(1, _fmt(edges[0]), ~missing, edges[0], edges[0])
            else:
                idx = np.clip(np.searchsorted(edges, num, side="right") - 1, 0, len(edges) - 2)
                for b in range(len(edges) - 1):
                    lo_e, hi_e = edges[b], edges[b + 1]
                    add(b + 1, f"{_fmt(lo_e)} – {_fmt(hi_e)}", (~missing) & (idx == b), lo_e, hi_e)
    add(len(rows) + 1, "missing", missing)
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


def _fmt(x: float) -> str:
    x = float(x)
    if x == int(x) and abs(x) < 1e6:
        return f"{int(x):,}"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def feature_groups(catalog: dict) -> list[str]:
    """The metric groups present in ``catalog`` in the catalog's usual order."""
    order = list(METRIC_GROUPS)
    present = {m.group for m in catalog.values()}
    return [g for g in order if g in present] + sorted(present - set(order))
