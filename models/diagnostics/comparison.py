"""Figures side by side: two models, or the model and the rule health score, with bootstrap intervals; the
backtest and per-segment tables; and how sure the test figures are, in a sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from data.intervals import Z95
from models import uncertainty
from models.evaluation import classification_metrics, per_segment
from models.model_evaluation import ModelEvaluation


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
        ev = r.evaluation
        data[r.id] = [r.target, r.algorithm, r.status, r.validation or "", r.horizon_days,
                      f"{r.training_start or '–'} to {r.training_end or '–'}", ev.n_test, ev.positives_test,
                      *[ev.metrics.get(k) for k in HEADLINE]]
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
    for k in TESTED:
        x, y = a.evaluation.interval(k), b.evaluation.interval(k)
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


def segment_metrics(holdout: pd.DataFrame | None, evaluation: ModelEvaluation | None = None) -> pd.DataFrame:
    """Metrics per segment from the held-out rows (or the evaluation's stored per-segment figures)."""
    if holdout is not None and not holdout.empty and "segment" in holdout:
        seg = per_segment(holdout["y_true"], holdout["p"], holdout["segment"], min_rows=1)
    else:
        seg = evaluation.per_segment if evaluation is not None else {}
    rows = [{"segment": s, "rows": v.get("n"), "positives": v.get("positives"),
             **{k: v.get(k) for k in HEADLINE}} for s, v in seg.items()]
    return pd.DataFrame(rows, columns=["segment", "rows", "positives", *HEADLINE])


def backtest_table(evaluation: ModelEvaluation) -> pd.DataFrame:
    """The stored backtest: one row per cut-off with the model's and the rule score's metrics, and the
    algorithm that cut-off chose on its own earlier window (None for models trained before that)."""
    rows = []
    for b in evaluation.backtest:
        m, h = b.model, b.rule_score
        rows.append({"test_start": b.test_start, "test_end": b.test_end, "rows": b.n_test,
                     "positives": b.positives, "roc_auc": m.get("roc_auc"), "pr_auc": m.get("pr_auc"),
                     "top_decile_lift": m.get("top_decile_lift"), "ece": m.get("ece"),
                     "rule_roc_auc": h.get("roc_auc"), "rule_top_decile_lift": h.get("top_decile_lift"),
                     "algorithm": b.algorithm})
    df = pd.DataFrame(rows, columns=["test_start", "test_end", "rows", "positives", "roc_auc", "pr_auc",
                                     "top_decile_lift", "ece", "rule_roc_auc", "rule_top_decile_lift", "algorithm"])
    return df.sort_values("test_start").reset_index(drop=True)
