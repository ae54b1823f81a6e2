"""Drift since training: population stability index (PSI) per model feature against the newest training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.explain import feature_group, feature_label

PSI_FLAG = 0.2


def psi_from_shares(expected, actual, *, eps: float = 1e-4) -> float:
    """Population stability index Σ (a - e) · ln(a / e) over bins given as shares (floored at ``eps``)."""
    e = np.maximum(np.asarray(expected, dtype=float), eps)
    a = np.maximum(np.asarray(actual, dtype=float), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected, actual, *, bins: int = 10, categorical: bool = False) -> float:
    """PSI of ``actual`` against ``expected`` (e.g. latest scoring vs training rows).

    Numeric: bins at the deciles of ``expected`` (values outside fall into the end bins);
    categorical: one bin per category. Missing values are a bin of their own. Below 0.1
    is stable, 0.1-0.2 moderate, above 0.2 a shift worth a look.
    """
    e = pd.Series(expected).reset_index(drop=True)
    a = pd.Series(actual).reset_index(drop=True)
    if e.empty or a.empty:
        return float("nan")
    if categorical:
        e_lab = e.astype("object").where(e.notna(), "(missing)").astype(str)
        a_lab = a.astype("object").where(a.notna(), "(missing)").astype(str)
    else:
        e_num = pd.to_numeric(e, errors="coerce")
        a_num = pd.to_numeric(a, errors="coerce")
        known = e_num.dropna()
        inner = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))[1:-1]) if len(known) else np.array([])

        def label(s: pd.Series) -> pd.Series:
            out = pd.Series(np.searchsorted(inner, s.to_numpy(dtype=float), side="right").astype(str), index=s.index)
            return out.where(s.notna(), "(missing)")

        e_lab, a_lab = label(e_num), label(a_num)
    cats = sorted(set(e_lab) | set(a_lab))
    e_share = e_lab.value_counts(normalize=True).reindex(cats, fill_value=0.0)
    a_share = a_lab.value_counts(normalize=True).reindex(cats, fill_value=0.0)
    return psi_from_shares(e_share.to_numpy(), a_share.to_numpy())


DRIFT_MIN_ROWS = 200  # the newest training snapshots, taken back until they hold this many rows


def drift_reference(reference: pd.DataFrame, min_rows: int = DRIFT_MIN_ROWS) -> pd.DataFrame:
    """The training rows to compare today's accounts with: the newest observation dates only.

    Training rows span every observation date, so an account's age (tenure) and anything that
    grows with it would always read as "shifted" against today's book. The newest snapshot is
    the same population a few months younger; older dates are added until ``min_rows`` rows.
    """
    if "obs_date" not in reference.columns or reference["obs_date"].nunique() < 2:
        return reference
    dates = pd.to_datetime(reference["obs_date"])
    counts = dates.value_counts().sort_index(ascending=False).cumsum()
    enough = counts[counts >= min_rows]
    since = enough.index[0] if len(enough) else counts.index[-1]
    return reference[dates >= since]


def drift_table(reference: pd.DataFrame, current: pd.DataFrame, trained) -> pd.DataFrame:
    """PSI per model feature between the newest training rows (:func:`drift_reference`) and the latest
    scoring's rows, largest first.

    Columns: feature, label, group, psi, shifted (psi > 0.2), reference_median, current_median
    (NaN for categories).
    """
    reference = drift_reference(reference)
    rows = []
    for f in trained.features:
        if f not in reference.columns or f not in current.columns:
            continue
        cat = f in trained.categorical
        value = psi(reference[f], current[f], categorical=cat)
        med = (lambda s: float(pd.to_numeric(s, errors="coerce").median())) if not cat else (lambda s: float("nan"))
        rows.append({"feature": f, "label": feature_label(trained.catalog, f),
                     "group": feature_group(trained.catalog, f), "psi": value,
                     "shifted": bool(value > PSI_FLAG), "reference_median": med(reference[f]),
                     "current_median": med(current[f])})
    df = pd.DataFrame(rows, columns=["feature", "label", "group", "psi", "shifted", "reference_median",
                                     "current_median"])
    return df.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)
