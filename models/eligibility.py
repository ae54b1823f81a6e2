"""Which account attributes may become features: snapshot columns and likely post-outcome columns.

Columns of ``accounts`` beyond the id hold one value per account: the value at export
time. In time mode every observation row (one per account and past month) reads that
same value, so an attribute that changed because of the outcome - a CRM ``churned`` or
``status`` flag, a cancel date or reason, ``months_active`` - tells the model the answer.
The leakage check cannot see this: it compares the snapshot with itself.

The rules, applied by :func:`apply_eligibility` before any training:

* **Label-like columns** are refused in both modes: names that describe the outcome
  (:data:`LABEL_LIKE`) and any single attribute that nearly separates the label on its own
  (ROC-AUC of the column alone >= :data:`SEPARATION_AUC`, per account in time mode).
* **Custom attributes are opt-in in time mode**: only the standard firmographics
  (segment, industry, region, plan) and ``csm`` are used unless the user keeps a column.
* ``keep`` (``train --keep-column``, the Model lab's form) overrides both for named columns.
* Snapshot attributes that remain (segment, csm, ...) are reported as *cannot be verified*
  by the leakage check and shown with a warning in the Model lab: a reassigned CSM or a
  segment rewritten at export still leaks, and the data cannot tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from data.metrics import CATEGORICAL_ACCOUNT_COLUMNS, account_attribute_columns

STANDARD_ATTRIBUTES = tuple(CATEGORICAL_ACCOUNT_COLUMNS)  # segment, industry, region, plan, csm
SNAPSHOT_WARNING_COLUMNS = ("csm", "segment")
SEPARATION_AUC = 0.95
LABEL_LIKE = re.compile(
    r"(churn|cancel|terminat|reason|status|outcome|deactivat|lost|"
    r"(^|_)closed?($|_)|close_?date|(^|_)end(ed)?_?(date|at|on)($|_)|(^|_)ended($|_)|"
    r"(months?|days?|weeks?)_active($|_)|active_(months?|days?|weeks?)$|lifetime|"
    r"(^|_)(is|still)_active($|_)|(^|_)left_(at|on|date)($|_)|exit)", re.I)


@dataclass
class Eligibility:
    """What :func:`apply_eligibility` decided, for ``train --json``, the registry and the Model lab."""

    excluded: dict[str, str] = field(default_factory=dict)  # feature -> why it was left out
    kept_on_request: list[str] = field(default_factory=list)
    snapshot_features: list[str] = field(default_factory=list)  # features read from the accounts snapshot

    def to_json(self) -> dict:
        return {"excluded": dict(self.excluded), "kept_on_request": list(self.kept_on_request),
                "snapshot_features": list(self.snapshot_features)}


def is_label_like(name: str) -> bool:
    """True when a column's name says it describes the outcome (churned, status, cancel_date, ...)."""
    base = name[5:] if name.startswith("attr_") else name
    return bool(LABEL_LIKE.search(base))


def snapshot_columns(con, features: list[str]) -> list[str]:
    """The features that are account attributes (one value per account, as exported)."""
    numeric, categorical = account_attribute_columns(con)
    attrs = set(numeric) | set(categorical)
    return [f for f in features if f in attrs or (f.startswith("attr_") and f[5:] in attrs)]


def separation_auc(values: pd.Series, y) -> float:
    """How well one column alone separates the label: ROC-AUC folded to >= 0.5 (missing values
    are tried at both ends, categories are scored by their label rate)."""
    from sklearn.metrics import roc_auc_score  # deferred: import time (scikit-learn)

    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return float("nan")
    v = pd.Series(values).reset_index(drop=True)
    num = pd.to_numeric(v, errors="coerce")
    if num.notna().sum() >= 0.9 * v.notna().sum() and v.notna().any():
        x = num.to_numpy(dtype=float)
    else:  # categorical: each level's label rate (levels of fewer than 5 rows pooled)
        text = v.astype("object").where(v.notna(), "(missing)").astype(str)
        counts = text.map(text.value_counts())
        text = text.where(counts >= 5, "(rare)")
        x = text.map(pd.Series(y).groupby(text).mean()).to_numpy(dtype=float)
    best = 0.5
    lo, hi = np.nanmin(x) - 1 if np.isfinite(x).any() else 0.0, np.nanmax(x) + 1 if np.isfinite(x).any() else 1.0
    for fill in (lo, hi):
        auc = float(roc_auc_score(y, np.where(np.isnan(x), fill, x)))
        best = max(best, auc, 1 - auc)
    return best


def apply_eligibility(obs, con, *, label: str, keep: tuple[str, ...] = ()):
    """The observation set without ineligible attribute features, and the :class:`Eligibility` report.

    ``obs`` is a :class:`models.observations.ObservationSet`; separation is measured on its
    labelled rows (per account in time mode: did the account ever have a positive label).
    """
    keep_set = {k.strip() for k in keep if k and k.strip()}
    # Flat mode: every feature is an account column (the table is the snapshot by design).
    snap = snapshot_columns(con, obs.features) if obs.mode == "time" else list(obs.features)
    report = Eligibility()
    frame = obs.labelled()
    if obs.mode == "time" and len(frame):
        per_account = frame.groupby("account_id", sort=False)
        y_acc = per_account[label].max().to_numpy()
    for f in snap:
        base = f[5:] if f.startswith("attr_") else f
        if f in keep_set or base in keep_set:
            report.kept_on_request.append(f)
            continue
        if is_label_like(f):
            report.excluded[f] = "its name says it describes the outcome (a status, date or reason)"
            continue
        if obs.mode == "time" and base not in STANDARD_ATTRIBUTES:
            report.excluded[f] = ("a custom account attribute: its value is the one at export time, so in time "
                                  "mode it is used only when you keep it explicitly")
            continue
        if len(frame) and f in frame:
            if obs.mode == "time":
                values = per_account[f].first()
                auc = separation_auc(values, y_acc)
            else:
                auc = separation_auc(frame[f], frame[label].to_numpy())
            if auc >= SEPARATION_AUC:
                report.excluded[f] = (f"it nearly separates the outcome on its own (ROC-AUC {auc:.2f}), which a "
                                      "column recorded after the outcome does")
    report.snapshot_features = [f for f in snap if f not in report.excluded] if obs.mode == "time" else []
    if not report.excluded:
        return obs, report
    dropped = set(report.excluded)
    return replace(obs, numeric=[c for c in obs.numeric if c not in dropped],
                   categorical=[c for c in obs.categorical if c not in dropped]), report


def candidate_attributes(con) -> list[str]:
    """Account attribute columns a user may keep explicitly (custom or label-like), for the Model lab form."""
    numeric, categorical = account_attribute_columns(con)
    return sorted(c for c in [*numeric, *categorical] if c not in STANDARD_ATTRIBUTES or is_label_like(c))


def attribute_report(con, mode: str) -> dict[str, str]:
    """Account columns that training will leave out by their name or kind alone, with the reason
    (before any training: a column that nearly separates the label is only found when training)."""
    numeric, categorical = account_attribute_columns(con)
    out = {}
    for c in [*numeric, *categorical]:
        if is_label_like(c):
            out[c] = "named like an outcome (a status, date or reason)"
        elif mode == "time" and c not in STANDARD_ATTRIBUTES:
            out[c] = "custom attribute: today's value would be read at every past date"
    return out
