"""Explanations, as in shap: one :class:`Explanation` object and everything the app reads from it.

A model's ``explain`` returns SHAP values per source feature in log-odds (exact TreeSHAP
for LightGBM, linear SHAP for logistic regression; one-hot and missing-indicator columns
already folded). :class:`models.training.TrainedModel` gives the explanation each
feature's label and driver group from the metric catalog, once, with
:meth:`Explanation.described`; global importance, group importance, top drivers and their
sentences are then methods of it. Positive values raise the predicted probability.

What a reader is shown as a *reason* is narrower than what the model uses:

* the account's own CSM (:data:`NOT_REASONS`) is never a reason: a CSM cannot act on
  who they are, and a manager reading "Customer success manager is X" learns nothing
  about the account;
* a value the data does not have ("not known") is not a reason either; it is listed apart
  as "no data" (a missing value with a meaning, such as "no champion has left", is a fact
  and stays a reason).

Stored scores keep the top reasons per account (``score_drivers``) and split everything
else into "no data" parts and one remainder per driver group (``score_other_factors``),
so the waterfall (:func:`waterfall_steps`) never needs an "All other factors" lump.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from data.metrics import Metric, is_missing, missing_meaning, render_sentence

DEFAULT_GROUP = "Firmographic"  # the group of a feature the catalog does not describe (an account attribute)
NOT_REASONS = frozenset({"csm"})  # features the model may use but a reader is never shown as a reason
DRIVER_COLUMNS = ["account_id", "feature", "label", "group", "value", "shap", "sentence", "rank"]
OTHER_COLUMNS = ["account_id", "kind", "feature", "label", "group", "shap"]  # kind: "no_data" or "group"


def feature_label(catalog: Mapping[str, Metric], feature: str) -> str:
    """The catalog label of ``feature`` (the feature's own name when the catalog does not know it)."""
    metric = catalog.get(feature)
    return metric.label if metric else feature


def feature_group(catalog: Mapping[str, Metric], feature: str) -> str:
    """The driver group of ``feature`` (:data:`DEFAULT_GROUP` when the catalog does not know it)."""
    metric = catalog.get(feature)
    return metric.group if metric else DEFAULT_GROUP


@dataclass
class Explanation:
    """SHAP values per source feature (log-odds), base values, feature values, and how to name features.

    ``values`` and ``data`` have one row per explained row and one column per feature
    (``feature_names``); ``base_values`` + the row sum of ``values`` = the model's log-odds.
    ``labels``, ``groups`` and ``metrics`` are filled by :meth:`described`.
    """

    values: pd.DataFrame
    base_values: np.ndarray
    data: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return list(self.values.columns)

    def output(self) -> np.ndarray:
        """base + sum of SHAP values = the model's log-odds."""
        return self.base_values + self.values.sum(axis=1).to_numpy()

    def described(self, catalog: Mapping[str, Metric]) -> Explanation:
        """This explanation with every feature's label, group and catalog entry set from ``catalog``."""
        names = self.feature_names
        return replace(self, labels={f: feature_label(catalog, f) for f in names},
                       groups={f: feature_group(catalog, f) for f in names},
                       metrics={f: catalog[f] for f in names if f in catalog})

    def label(self, feature: str) -> str:
        return self.labels.get(feature, feature)

    def group(self, feature: str) -> str:
        return self.groups.get(feature, DEFAULT_GROUP)

    def sentence(self, feature: str, value) -> str:
        """What ``feature`` = ``value`` means for the account, in words."""
        metric = self.metrics.get(feature)
        if metric is not None:
            return render_sentence(metric, value)
        return f"{self.label(feature)}: not known" if is_missing(value) else f"{self.label(feature)} is {value}"

    # ------------------------------------------------------------------ global views
    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature (log-odds): feature, label, group, mean_abs_shap, largest first."""
        m = self.values.abs().mean(axis=0).sort_values(ascending=False, kind="stable")
        return pd.DataFrame({"feature": list(m.index), "label": [self.label(f) for f in m.index],
                             "group": [self.group(f) for f in m.index], "mean_abs_shap": m.to_numpy(dtype=float)},
                            columns=["feature", "label", "group", "mean_abs_shap"])

    def group_importance(self) -> pd.DataFrame:
        """Mean |sum of the group's SHAP values| per driver group: group, mean_abs_shap, largest first.

        SHAP values add up, so a group's contribution to a row is the sum over its features;
        features that pull in opposite directions within a row partly cancel.
        """
        names = self.feature_names
        by_group = self.values.T.groupby(pd.Series([self.group(f) for f in names], index=names)).sum().T
        m = by_group.abs().mean(axis=0).sort_values(ascending=False, kind="stable")
        return pd.DataFrame({"group": list(m.index), "mean_abs_shap": m.to_numpy(dtype=float)})

    # ------------------------------------------------------------------ per-row views
    def _masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(reason, no_data) masks, rows x features: what may be shown as a reason, and "not known" values."""
        names = self.feature_names
        n = len(self.values)
        reason = np.zeros((n, len(names)), dtype=bool)
        no_data = np.zeros((n, len(names)), dtype=bool)
        for j, f in enumerate(names):
            if f in NOT_REASONS:
                continue
            metric = self.metrics.get(f)
            if metric is not None and missing_meaning(metric) is not None:
                reason[:, j] = True
                continue
            known = self.data[f].notna().to_numpy() if f in self.data.columns else np.zeros(n, dtype=bool)
            reason[:, j] = known
            no_data[:, j] = ~known
        return reason, no_data

    def split(self, account_ids: Sequence, k: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(drivers, other factors) per row, with ``account_ids`` naming the rows.

        ``drivers`` (:data:`DRIVER_COLUMNS`): each row's ``k`` largest-|SHAP| *reasons*, rank 1
        first, with label, group, value (text) and sentence. ``other factors``
        (:data:`OTHER_COLUMNS`): the rest of each row's SHAP, split into ``no_data`` parts
        (a "not known" value among the row's ``k`` largest effects, one part per feature) and
        one ``group`` part per driver group holding every remaining feature (the CSM among
        them). Drivers plus other factors add up to the row's SHAP sum.

        Rows are gathered per feature column with numpy, and each feature's distinct values are
        rendered once (``make bench`` times it as "driver sentences").
        """
        values = self.values.to_numpy(dtype=float)
        n, m = values.shape
        ids = np.asarray(account_ids, dtype=object)
        k = min(k, m)
        if n == 0 or k == 0:
            return pd.DataFrame(columns=DRIVER_COLUMNS), pd.DataFrame(columns=OTHER_COLUMNS)
        names = np.array(self.feature_names, dtype=object)
        magnitude = np.abs(values)
        reason, no_data = self._masks()
        rows = np.arange(n)[:, None]

        # Top reasons: non-reasons sort last (a reason's |SHAP| is >= 0 > -1).
        order = np.argsort(-np.where(reason, magnitude, -1.0), axis=1, kind="stable")[:, :k]
        chosen = reason[rows, order]
        row_idx = np.repeat(np.arange(n), k)[chosen.ravel()]
        col_idx = order.ravel()[chosen.ravel()]
        ranks = np.tile(np.arange(1, k + 1), n)[chosen.ravel()]
        stored = np.zeros((n, m), dtype=bool)
        stored[row_idx, col_idx] = True

        # "No data" among each row's k largest effects, one part each.
        overall = np.argsort(-magnitude, axis=1, kind="stable")[:, :k]
        missing_top = no_data[rows, overall]
        nd_rows = np.repeat(np.arange(n), k)[missing_top.ravel()]
        nd_cols = overall.ravel()[missing_top.ravel()]
        stored[nd_rows, nd_cols] = True

        drivers = self._driver_frame(ids, values, row_idx, col_idx, ranks, names)

        group_names = sorted({self.group(f) for f in names})
        membership = np.zeros((m, len(group_names)))
        for j, f in enumerate(names):
            membership[j, group_names.index(self.group(f))] = 1.0
        rest = np.where(stored, 0.0, values) @ membership
        counts = (~stored).astype(float) @ membership
        g_rows, g_cols = np.nonzero((counts > 0) & (rest != 0.0))
        label_of = np.array([self.label(f) for f in names], dtype=object)
        group_of = np.array([self.group(f) for f in names], dtype=object)
        others = pd.concat([
            pd.DataFrame({"account_id": ids[nd_rows], "kind": "no_data", "feature": names[nd_cols],
                          "label": label_of[nd_cols], "group": group_of[nd_cols],
                          "shap": values[nd_rows, nd_cols]}, columns=OTHER_COLUMNS),
            pd.DataFrame({"account_id": ids[g_rows], "kind": "group", "feature": None,
                          "label": np.array(group_names, dtype=object)[g_cols],
                          "group": np.array(group_names, dtype=object)[g_cols],
                          "shap": rest[g_rows, g_cols]}, columns=OTHER_COLUMNS),
        ], ignore_index=True)
        return drivers, others

    def top_drivers(self, account_ids: Sequence, k: int = 10) -> pd.DataFrame:
        """The ``k`` largest-|SHAP| reasons per row (see :meth:`split`)."""
        return self.split(account_ids, k)[0]

    def _driver_frame(self, ids, values, row_idx, col_idx, ranks, names) -> pd.DataFrame:
        """Driver rows; each feature's distinct values are rendered once (value text and sentence)."""
        texts = np.full(len(row_idx), None, dtype=object)
        sentences = np.empty(len(row_idx), dtype=object)
        for j, f in enumerate(names):
            sel = np.flatnonzero(col_idx == j)
            if sel.size == 0:
                continue
            if f in self.data.columns:
                column = self.data[f].iloc[row_idx[sel]]
                codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
            else:
                codes, uniques = np.full(sel.size, -1), []
            # code -1 (a missing value) picks the last entry: the missing value's rendering
            texts[sel] = np.array([_value_text(u) for u in uniques] + [None], dtype=object)[codes]
            sentences[sel] = np.array([self.sentence(f, u) for u in uniques] + [self.sentence(f, None)],
                                      dtype=object)[codes]
        label_of = np.array([self.label(f) for f in names], dtype=object)
        group_of = np.array([self.group(f) for f in names], dtype=object)
        return pd.DataFrame({
            "account_id": ids[row_idx], "feature": names[col_idx], "label": label_of[col_idx],
            "group": group_of[col_idx], "value": texts, "shap": values[row_idx, col_idx].astype(float),
            "sentence": sentences, "rank": ranks,
        }, columns=DRIVER_COLUMNS)


def _value_text(v) -> str | None:
    if is_missing(v):
        return None
    if isinstance(v, float | np.floating):
        return f"{float(v):.6g}"
    return str(v)


def global_importance(trained, frame: pd.DataFrame, max_rows: int = 3000) -> pd.DataFrame:
    """Mean |SHAP| per feature over ``frame`` (a fixed sample of ``max_rows``): see :meth:`Explanation.importance`."""
    rows = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=0)
    return trained.explain(rows).importance()


# --------------------------------------------------------------------------- waterfall
CALIBRATION_STEP = "Calibration"
PLAIN_CALIBRATION_STEP = "Match to observed churn rates"


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


def other_steps(others: pd.DataFrame | None, other: float) -> list[dict]:
    """Waterfall bars for the part of the score outside the stored drivers (log-odds ``shap``).

    With stored other factors: one bar per "no data" feature, then one per driver group,
    largest first, and a bar for any remainder they do not cover. Without (scores stored
    before other factors were): the single "All other factors" bar.
    """
    if others is None or others.empty:
        return [{"label": "All other factors", "shap": float(other), "group": "",
                 "sentence": "Smaller effects of every other metric"}]
    steps = []
    no_data = others[others["kind"] == "no_data"]
    for r in no_data.sort_values("shap", key=np.abs, ascending=False, kind="stable").itertuples():
        steps.append({"label": f"{r.label}: no data", "shap": float(r.shap), "group": r.group,
                      "sentence": "No data for this account; the score allows for that, but it is not a reason"})
    groups = others[others["kind"] == "group"]
    for r in groups.sort_values("shap", key=np.abs, ascending=False, kind="stable").itertuples():
        steps.append({"label": f"Other {str(r.group).lower()} metrics", "shap": float(r.shap), "group": r.group,
                      "sentence": f"Smaller effects of the other {str(r.group).lower()} metrics together"})
    remainder = float(other) - float(others["shap"].sum())
    if abs(remainder) > 1e-9:
        steps.append({"label": "Remaining factors", "shap": remainder, "group": "",
                      "sentence": "Effects stored without a driver group"})
    return steps


def waterfall_steps(drivers: pd.DataFrame, base: float, other: float, p_final: float | None = None, *,
                    scale: str = "model", p_base: float | None = None, others: pd.DataFrame | None = None,
                    plain: bool = False) -> pd.DataFrame:
    """Turn log-odds SHAP values into probability steps for a waterfall.

    ``scale`` "calibrated" (Platt): the values are already in calibrated log-odds, so the
    average account (sigmoid of ``base``) plus every driver and the other factors lands
    exactly on ``p_final``; there is no calibration lump. ``scale`` "model" (isotonic, or
    scores stored before calibrated units): the start is the average account's *calibrated*
    probability ``p_base`` (when known), the bars are the model's own log-odds steps, and a
    last calibration step reaches the calibrated ``p_final`` (named in plain words when
    ``plain``, for readers who are not data scientists). ``others`` are the stored other
    factors (see :func:`other_steps`). Returns label, delta (probability points), sentence,
    group, and measure ("absolute"/"relative"/"total").
    """
    start = p_base if scale == "model" and p_base is not None else _sigmoid(base)
    rows = [{"label": "Average account", "delta": start, "sentence": "Typical risk before any driver",
             "group": "", "measure": "absolute"}]
    cum = base
    bars = [{"label": r.label, "shap": float(r.shap), "group": r.group, "sentence": r.sentence}
            for r in drivers.sort_values("rank").itertuples()]
    for bar in bars + other_steps(others, other):
        after = cum + bar["shap"]
        rows.append({"label": bar["label"], "delta": _sigmoid(after) - _sigmoid(cum), "sentence": bar["sentence"],
                     "group": bar["group"], "measure": "relative"})
        cum = after
    reached = start + sum(r["delta"] for r in rows[1:])
    if p_final is not None and scale != "calibrated":
        rows.append({"label": PLAIN_CALIBRATION_STEP if plain else CALIBRATION_STEP, "delta": p_final - reached,
                     "sentence": "Adjustment so that scores match observed churn rates", "group": "",
                     "measure": "relative"})
    rows.append({"label": "This account", "delta": p_final if p_final is not None else reached,
                 "sentence": "", "group": "", "measure": "total"})
    return pd.DataFrame(rows)
