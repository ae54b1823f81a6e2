"""Model lab computations: curves, confusion at a capacity, decile cohorts, drift, comparison, training.

Everything the Model lab page shows is computed here (no Streamlit): the page only lays
out. Inputs are plain arrays and frames, so a notebook can call the same functions.

The held-out rows and drift reference stored beside each model live in :mod:`models.artifacts`
(re-exported here: ``LabData``, ``load_lab_data``, ``lab_paths``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from data.intervals import Z95, wilson_interval
from data.vocabulary import METRIC_GROUPS
from models import uncertainty
from models.artifacts import LabData, lab_paths, load_lab_data  # noqa: F401  (the page's and notebooks' names)
from models.evaluation import classification_metrics, per_segment
from models.explain import Explanation, feature_group, feature_label

PSI_FLAG = 0.2


# --------------------------------------------------------------------------- how sure the figures are
def uncertainty_sentence(target: str, positives_test: int | None, roc_auc_interval=None,
                         history: dict | None = None) -> str:
    """What the test figures rest on, in one sentence: the churns (expansions) in the test slice,
    the ROC-AUC's 95 % interval when one was computed, and how the history was sampled."""
    what = "churns" if target == "churn" else "expansions"
    ci = list(roc_auc_interval) if roc_auc_interval else None
    interval = f"ROC-AUC 95% interval {ci[0]:.3f} to {ci[1]:.3f}" if ci else "no ROC-AUC interval computed"
    text = f"{positives_test or 0:,} {what} in the test slice; {interval}."
    if history:
        text += (f" {history.get('labelled_dates')} labelled {history.get('cadence')} observation dates, "
                 f"purge {history.get('purge_days')} days")
        if history.get("accounts_held_out"):
            text += f", {history['accounts_held_out']:.0%} of accounts held out for the test (short history)"
        text += "."
    if (positives_test or 0) < 30:
        text += " Fewer than 30 decide these figures: read them as rough."
    return text


# --------------------------------------------------------------------------- curves
def _thin(df: pd.DataFrame, max_points: int) -> pd.DataFrame:
    if len(df) <= max_points:
        return df.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(df) - 1, max_points).round().astype(int))
    return df.iloc[idx].reset_index(drop=True)


def roc_points(y, p, *, max_points: int = 300) -> pd.DataFrame:
    """ROC curve: columns fpr, tpr, threshold (from (0, 0) to (1, 1)); empty with one class only."""
    from sklearn.metrics import roc_curve

    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return pd.DataFrame(columns=["fpr", "tpr", "threshold"])
    fpr, tpr, thr = roc_curve(y, np.asarray(p, dtype=float))
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thr, 1.0)}), max_points)


def pr_points(y, p, *, max_points: int = 300) -> pd.DataFrame:
    """Precision-recall curve: columns recall, precision, threshold; empty with one class only."""
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        return pd.DataFrame(columns=["recall", "precision", "threshold"])
    precision, recall, thr = precision_recall_curve(y, np.asarray(p, dtype=float))
    thr = np.append(thr, 1.0)
    df = pd.DataFrame({"recall": recall, "precision": precision, "threshold": thr}).iloc[::-1]
    return _thin(df, max_points)


def gains(y, p, *, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score decile (highest scores first).

    Columns: decile (1 = top 10%), rows, positives, rate, lift (decile rate / overall
    rate), share_contacted and share_captured (cumulative shares of rows and positives).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if len(y) == 0:
        return pd.DataFrame(columns=["decile", "rows", "positives", "rate", "lift", "share_contacted",
                                     "share_captured"])
    order = np.argsort(-p, kind="stable")
    chunks = np.array_split(order, min(bins, len(y)))
    base = y.mean()
    rows = []
    for i, chunk in enumerate(chunks, start=1):
        rows.append({"decile": i, "rows": len(chunk), "positives": float(y[chunk].sum()),
                     "rate": float(y[chunk].mean()) if len(chunk) else float("nan")})
    df = pd.DataFrame(rows)
    df["lift"] = df["rate"] / base if base > 0 else float("nan")
    df["share_contacted"] = df["rows"].cumsum() / len(y)
    df["share_captured"] = df["positives"].cumsum() / y.sum() if y.sum() > 0 else float("nan")
    return df


@dataclass(frozen=True)
class Confusion:
    """Counts when the rows with p >= ``threshold`` (or the ``flagged`` highest) are called positive."""

    tp: int
    fp: int
    fn: int
    tn: int
    threshold: float

    @property
    def flagged(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        pos = self.tp + self.fn
        return self.tp / pos if pos else float("nan")

    def matrix(self) -> pd.DataFrame:
        """2 x 2 frame: rows actual (churned / stayed), columns predicted (flagged / not flagged)."""
        return pd.DataFrame([[self.tp, self.fn], [self.fp, self.tn]], index=["actual positive", "actual negative"],
                            columns=["flagged", "not flagged"])


def confusion_at(y, p, *, threshold: float | None = None, top_n: int | None = None) -> Confusion:
    """Confusion counts at a probability ``threshold`` or for a capacity of the ``top_n`` highest scores.

    With ``top_n``, exactly ``top_n`` rows are flagged (ties broken by row order) and the
    reported threshold is the lowest flagged probability.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if (threshold is None) == (top_n is None):
        raise ValueError("give exactly one of threshold and top_n")
    if top_n is not None:
        n = int(max(0, min(top_n, len(y))))
        order = np.argsort(-p, kind="stable")
        flag = np.zeros(len(y), dtype=bool)
        flag[order[:n]] = True
        thr = float(p[order[n - 1]]) if n else 1.0
    else:
        flag = p >= threshold
        thr = float(threshold)
    tp = int((flag & (y == 1)).sum())
    fp = int((flag & (y == 0)).sum())
    fn = int((~flag & (y == 1)).sum())
    tn = int((~flag & (y == 0)).sum())
    return Confusion(tp=tp, fp=fp, fn=fn, tn=tn, threshold=thr)


# --------------------------------------------------------------------------- cohorts
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


# --------------------------------------------------------------------------- drift
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


# --------------------------------------------------------------------------- comparison
HEADLINE = ("roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "oe_ratio")
METRIC_LABELS = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "brier": "Brier score", "top_decile_lift": "Top-decile lift",
                 "ece": "Calibration error (ECE)", "oe_ratio": "Observed / expected"}
HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "brier": False, "top_decile_lift": True, "ece": False}
TESTED = ("roc_auc", "pr_auc", "top_decile_lift", "brier")  # metrics with a bootstrap interval
NO_CLEAR_WINNER = "no clear winner"


def compare_table(records: list) -> pd.DataFrame:
    """Headline metrics and settings of registry records side by side (one column per model id)."""
    index = ["Target", "Algorithm", "Status", "Validation", "Horizon (days)", "Training window",
             "Held-out rows", "Held-out positives", *[METRIC_LABELS[k] for k in HEADLINE]]
    data = {}
    for r in records:
        m = r.metrics
        data[r.id] = [r.target, r.algorithm, r.status, r.validation or "", r.horizon_days,
                      f"{r.training_start or '–'} to {r.training_end or '–'}", m.get("n_test"), m.get("positives_test"),
                      *[m.get(k) for k in HEADLINE]]
    return pd.DataFrame(data, index=index)


def difference_intervals(a_holdout: pd.DataFrame | None, b_holdout: pd.DataFrame | None, *,
                         draws: int = uncertainty.DEFAULT_DRAWS) -> tuple[dict[str, uncertainty.Interval], str]:
    """Intervals of metric(A) - metric(B) from two models' held-out rows, and how they were paired.

    Rows both models scored (same account and date) are compared paired, resampling accounts;
    otherwise each model's rows are resampled on their own ("unpaired"). ({}, "none") when a
    model has no stored rows.
    """
    if a_holdout is None or b_holdout is None or a_holdout.empty or b_holdout.empty:
        return {}, "none"
    key = ["account_id", "obs_date"] if "obs_date" in a_holdout and "obs_date" in b_holdout else ["account_id"]
    a = a_holdout.assign(**{k: a_holdout[k].astype(str) for k in key})
    b = b_holdout.assign(**{k: b_holdout[k].astype(str) for k in key})
    both = a[[*key, "y_true", "p"]].merge(b[[*key, "y_true", "p"]], on=key, suffixes=("_a", "_b"))
    both = both[both["y_true_a"] == both["y_true_b"]]
    if len(both) >= 0.5 * min(len(a), len(b)) and both["y_true_a"].nunique() == 2:
        res = uncertainty.bootstrap_metrics(both["y_true_a"].to_numpy(), {"a": both["p_a"].to_numpy(),
                                                                           "b": both["p_b"].to_numpy()},
                                            both["account_id"], metrics=TESTED, pairs=[("a", "b")], draws=draws)
        return res["differences"]["a - b"], "paired"
    return uncertainty.independent_difference(
        a["y_true"].to_numpy(), a["p"].to_numpy(), a["account_id"], b["y_true"].to_numpy(), b["p"].to_numpy(),
        b["account_id"], metrics=TESTED, draws=draws), "unpaired"


def stored_difference(a, b) -> dict[str, uncertainty.Interval]:
    """Unpaired intervals of A - B from the registry's stored per-model intervals (no held-out rows):
    conservative, a normal approximation from each interval's width."""
    out = {}
    ia = ((a.metrics.get("details") or {}).get("intervals") or {}).get("scores", {}).get("model", {})
    ib = ((b.metrics.get("details") or {}).get("intervals") or {}).get("scores", {}).get("model", {})
    for k in TESTED:
        x, y = uncertainty.Interval.from_json(ia.get(k)), uncertainty.Interval.from_json(ib.get(k))
        if x is None or y is None:
            continue
        se = math.hypot((x.high - x.low) / 3.92, (y.high - y.low) / 3.92)
        d = x.estimate - y.estimate
        out[k] = uncertainty.Interval(d, d - Z95 * se, d + Z95 * se)
    return out


def better_model(a, b, intervals: dict[str, uncertainty.Interval] | None = None) -> dict[str, str | None]:
    """Which record is better on each headline metric (its id), or None for "no clear winner".

    A winner is declared only on metrics with an interval of the difference (``intervals``,
    A - B) that excludes zero; metrics without an interval (ECE, O:E) never name a winner.
    """
    intervals = intervals or {}
    return {k: uncertainty.verdict(intervals.get(k), k, a.id, b.id) if k in TESTED else None for k in HEADLINE}


def rule_vs_model(holdout: pd.DataFrame, *, target: str = "churn",
                  draws: int = uncertainty.DEFAULT_DRAWS) -> pd.DataFrame:
    """ROC-AUC, PR-AUC and top-decile lift of the model and of the rule health score on the same rows,
    with account-clustered 95% intervals; a third row holds the difference (model - rule).

    Only meaningful for churn: the rule score ranks by risk. For an expansion model the rule
    is read as "healthier first" (``rule_risk`` stores that ranking since the fair-comparison fix).
    """
    y = holdout["y_true"].to_numpy(dtype=int)
    scores = {"ML model": holdout["p"].to_numpy(dtype=float)}
    if "rule_risk" in holdout:
        scores["Rule health score"] = holdout["rule_risk"].to_numpy(dtype=float)
    pairs = [("ML model", "Rule health score")] if len(scores) == 2 else []
    boot = (uncertainty.bootstrap_metrics(y, scores, holdout["account_id"], metrics=TESTED, pairs=pairs, draws=draws)
            if "account_id" in holdout and len(np.unique(y)) == 2 else None)
    rows = []
    for name, s in scores.items():
        m = classification_metrics(y, s)
        row = {"score": name, "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"],
               "top_decile_lift": m["top_decile_lift"], "rows": len(y), "positives": int(y.sum())}
        for k in ("roc_auc", "pr_auc", "top_decile_lift"):
            iv = boot["scores"][name][k] if boot else None
            row[f"{k}_ci"] = _ci_text(iv)
        rows.append(row)
    if boot and pairs:
        d = boot["differences"]["ML model - Rule health score"]
        rows.append({"score": "Difference (ML − rule)", **{k: d[k].estimate for k in ("roc_auc", "pr_auc",
                                                                                      "top_decile_lift")},
                     **{f"{k}_ci": _ci_text(d[k]) for k in ("roc_auc", "pr_auc", "top_decile_lift")},
                     "rows": len(y), "positives": int(y.sum())})
    return pd.DataFrame(rows)


def _ci_text(iv: uncertainty.Interval | None, digits: int = 3) -> str:
    if iv is None or iv.low != iv.low:
        return "–"
    return f"{iv.low:.{digits}f} to {iv.high:.{digits}f}"


def rule_verdict(table: pd.DataFrame) -> str:
    """One sentence on the ROC-AUC difference row of :func:`rule_vs_model`: a winner only when its
    interval excludes zero."""
    diff = table[table["score"].str.startswith("Difference")] if not table.empty else table
    if diff.empty or diff.iloc[0]["roc_auc_ci"] == "–":
        return ("Too few held-out rows for an interval of the difference: **no clear winner** can be named "
                "from these rows.")
    r = diff.iloc[0]
    low, high = (float(x) for x in r["roc_auc_ci"].split(" to "))
    span = f"ROC-AUC difference {r['roc_auc']:+.3f}, 95% interval {low:+.3f} to {high:+.3f}"
    if low > 0:
        return f"On these rows **the ML model** ranks accounts better ({span})."
    if high < 0:
        return f"On these rows **the rule score** ranks accounts better ({span})."
    return f"**No clear winner**: the interval of the difference contains zero ({span})."


def segment_metrics(holdout: pd.DataFrame | None, details: dict | None = None) -> pd.DataFrame:
    """Metrics per segment from the held-out rows (or the registry's stored per-segment dict)."""
    if holdout is not None and not holdout.empty and "segment" in holdout:
        seg = per_segment(holdout["y_true"], holdout["p"], holdout["segment"], min_rows=1)
    else:
        seg = (details or {}).get("per_segment") or {}
    rows = [{"segment": s, "rows": v.get("n"), "positives": v.get("positives"),
             **{k: v.get(k) for k in HEADLINE}} for s, v in seg.items()]
    return pd.DataFrame(rows, columns=["segment", "rows", "positives", *HEADLINE])


def backtest_table(details: dict) -> pd.DataFrame:
    """The stored backtest: one row per cut-off with the model's and the rule score's metrics, and the
    algorithm that cut-off chose on its own earlier window (None for models trained before that)."""
    rows = []
    for b in details.get("backtest") or []:
        m, h = b.get("model") or {}, b.get("health_score") or {}
        rows.append({"test_start": b.get("test_start"), "test_end": b.get("test_end"), "rows": b.get("n_test"),
                     "positives": b.get("positives"), "roc_auc": m.get("roc_auc"), "pr_auc": m.get("pr_auc"),
                     "top_decile_lift": m.get("top_decile_lift"), "ece": m.get("ece"),
                     "rule_roc_auc": h.get("roc_auc"), "rule_top_decile_lift": h.get("top_decile_lift"),
                     "algorithm": b.get("algorithm")})
    df = pd.DataFrame(rows, columns=["test_start", "test_end", "rows", "positives", "roc_auc", "pr_auc",
                                     "top_decile_lift", "ece", "rule_roc_auc", "rule_top_decile_lift", "algorithm"])
    return df.sort_values("test_start").reset_index(drop=True)


# --------------------------------------------------------------------------- explanations
@dataclass
class ShapSample:
    """The explanation of a sample of rows (log-odds SHAP, folded to features) and the categorical features."""

    explanation: Explanation
    categorical: list[str]

    @property
    def features(self) -> pd.DataFrame:
        return self.explanation.data

    @property
    def values(self) -> pd.DataFrame:
        return self.explanation.values

    @property
    def labels(self) -> dict[str, str]:
        return self.explanation.labels

    @property
    def groups(self) -> dict[str, str]:
        return self.explanation.groups

    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature: feature, label, group, mean_abs_shap (largest first)."""
        return self.explanation.importance()

    def group_importance(self) -> pd.DataFrame:
        """Mean |sum of SHAP over the group's features| per group, largest first."""
        return self.explanation.group_importance()

    def beeswarm(self, top: int = 12) -> pd.DataFrame:
        """Long frame for a beeswarm: label, shap, value (text) and colour (0-1 rank of the value; NaN for categories)."""
        parts = []
        for f in self.importance()["feature"].head(top):
            v = self.features[f]
            colour = (pd.to_numeric(v, errors="coerce").rank(pct=True) if f not in self.categorical
                      else pd.Series(np.nan, index=v.index))
            parts.append(pd.DataFrame({"feature": f, "label": self.labels[f], "shap": self.values[f].to_numpy(),
                                       "value": v.astype("object").where(v.notna(), None).map(
                                           lambda x: "missing" if x is None else (f"{x:.4g}" if isinstance(
                                               x, float | np.floating) else str(x))).to_numpy(),
                                       "colour": colour.to_numpy()}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["feature", "label", "shap", "value", "colour"])

    def dependence(self, feature: str) -> pd.DataFrame:
        """value and shap of one feature per sampled row (rows with a missing value dropped)."""
        v = self.features[feature]
        df = pd.DataFrame({"value": v.to_numpy(), "shap": self.values[feature].to_numpy()})
        return df[df["value"].notna()].reset_index(drop=True)


def shap_sample(trained, frame: pd.DataFrame, *, max_rows: int = 800, seed: int = 0) -> ShapSample:
    """Explain a sample of ``frame`` (e.g. the held-out rows) with the model's own SHAP."""
    rows = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=seed)
    rows = rows.reset_index(drop=True).copy()
    for f in trained.numeric:
        if f in rows:
            rows[f] = pd.to_numeric(rows[f], errors="coerce").astype(float)
        else:
            rows[f] = np.nan
    for f in trained.categorical:
        if f not in rows:
            rows[f] = None
    expl = trained.explain(rows)
    feats = expl.feature_names
    expl = replace(expl, values=expl.values.reset_index(drop=True), data=rows[feats])
    return ShapSample(explanation=expl, categorical=[f for f in feats if f in trained.categorical])


# --------------------------------------------------------------------------- feature groups
def feature_groups(catalog: dict) -> list[str]:
    """The metric groups present in ``catalog`` in the catalog's usual order."""
    order = list(METRIC_GROUPS)
    present = {m.group for m in catalog.values()}
    return [g for g in order if g in present] + sorted(present - set(order))
