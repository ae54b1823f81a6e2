"""The rule health score: a configurable weighted scorecard, backtested beside the ML model.

Each rule checks one metric against a threshold ("healthy when seat utilisation >= 40%").
A group's score is the share of its rules an account passes (rules whose metric is
unknown are skipped); the health score is the weighted mean of the group scores, 0 to
100, higher is healthier. ``risk = (100 - health) / 100`` is what the backtest ranks.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.metrics import Metric, render_sentence

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Rule:
    """Healthy when ``metric <op> threshold``."""

    metric: str
    op: str
    threshold: float
    group: str


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("dau_change_30v60", ">=", -0.25, "Usage"),
    Rule("active_days_30d", ">=", 10, "Usage"),
    Rule("seat_utilisation", ">=", 0.4, "Adoption"),
    Rule("high_priority_tickets_90d", "<=", 0, "Support"),
    Rule("open_tickets", "<=", 2, "Support"),
    Rule("failed_payments_180d", "<=", 0, "Billing"),
    Rule("overdue_invoices", "<=", 0, "Billing"),
    Rule("champions_left_90d", "<=", 0, "Relationship"),
    Rule("active_champions", ">=", 1, "Relationship"),
    Rule("nps_latest", ">=", 7, "Sentiment"),
)

DEFAULT_WEIGHTS = {"Usage": 0.30, "Adoption": 0.20, "Support": 0.15, "Billing": 0.15, "Relationship": 0.10,
                   "Sentiment": 0.10}


@dataclass(frozen=True)
class HealthScoreConfig:
    """Weights per metric group and the rules; both editable."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rules: tuple[Rule, ...] = DEFAULT_RULES


def group_scores(frame: pd.DataFrame, config: HealthScoreConfig | None = None) -> pd.DataFrame:
    """Score 0-100 per group (NaN when no rule of the group could be evaluated)."""
    config = config or HealthScoreConfig()
    out = {}
    for group in config.weights:
        rules = [r for r in config.rules if r.group == group and r.metric in frame.columns]
        if not rules:
            continue
        passed = np.zeros(len(frame))
        known = np.zeros(len(frame))
        for r in rules:
            v = pd.to_numeric(frame[r.metric], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(v)
            known += ok
            passed += ok & _OPS[r.op](np.nan_to_num(v), r.threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[group] = np.where(known > 0, 100.0 * passed / np.maximum(known, 1), np.nan)
    return pd.DataFrame(out, index=frame.index)


def health_score(frame: pd.DataFrame, config: HealthScoreConfig | None = None) -> pd.Series:
    """Weighted health 0-100 per row (groups with no known metric are left out of the mean)."""
    config = config or HealthScoreConfig()
    groups = group_scores(frame, config)
    if groups.empty:
        return pd.Series(np.full(len(frame), 50.0), index=frame.index)
    w = np.array([config.weights[g] for g in groups.columns], dtype=float)
    vals = groups.to_numpy(dtype=float)
    mask = ~np.isnan(vals)
    num = np.where(mask, vals, 0.0) @ w
    den = mask.astype(float) @ w
    return pd.Series(np.where(den > 0, num / np.maximum(den, 1e-12), 50.0), index=frame.index)


def health_risk(frame: pd.DataFrame, config: HealthScoreConfig | None = None) -> np.ndarray:
    """(100 - health) / 100: the health score as a risk ranking, for the backtest."""
    return np.clip((100.0 - health_score(frame, config).to_numpy()) / 100.0, 0.0, 1.0)


# --------------------------------------------------------------------------- reasons in plain words
_OP_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below", "==": "exactly"}
REASON_COLUMNS = ["account_id", "feature", "label", "group", "value", "shap", "sentence", "rank"]


def _threshold_text(rule: Rule, kind: str) -> str:
    if kind in ("ratio", "change"):
        shown = f"{rule.threshold * 100:+.0f}%" if kind == "change" else f"{rule.threshold * 100:.0f}%"
    else:
        shown = f"{rule.threshold:g}"
    return f"{_OP_WORDS[rule.op]} {shown}"


def rule_reasons(frame: pd.DataFrame, catalog: dict | None = None,
                 config: HealthScoreConfig | None = None) -> pd.DataFrame:
    """The rules each row fails, as reasons a CSM can read (columns :data:`REASON_COLUMNS`).

    ``shap`` is the share of the 0-100 health the failed rule costs, divided by 100: an account's
    reasons add up to its rule risk ``(100 - health) / 100``. ``sentence`` is the metric's catalog
    sentence (``catalog``: metric name -> :class:`data.metrics.Metric`) and the rule's threshold,
    e.g. "Product used on 4 of the last 30 days (healthy: at least 10)". Rank 1 costs most.
    Needs an ``account_id`` column.
    """
    config = config or HealthScoreConfig()
    catalog = catalog or {}
    per_group = {}
    for group in config.weights:
        rules = [r for r in config.rules if r.group == group and r.metric in frame.columns]
        if not rules:
            continue
        values = [pd.to_numeric(frame[r.metric], errors="coerce").to_numpy(dtype=float) for r in rules]
        known = np.sum([~np.isnan(v) for v in values], axis=0)
        per_group[group] = (rules, values, known)
    if not per_group:
        return pd.DataFrame(columns=REASON_COLUMNS)
    weight_known = np.sum([config.weights[g] * (k > 0) for g, (_r, _v, k) in per_group.items()], axis=0)
    parts = []
    ids = frame["account_id"].astype(str).to_numpy()
    for group, (rules, values, known) in per_group.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            cost = np.where((known > 0) & (weight_known > 0),
                            config.weights[group] / np.maximum(weight_known, 1e-12) / np.maximum(known, 1), 0.0)
        for rule, v in zip(rules, values, strict=True):
            failed = ~np.isnan(v) & ~_OPS[rule.op](np.nan_to_num(v), rule.threshold)
            if not failed.any():
                continue
            metric = catalog.get(rule.metric) or Metric(rule.metric, rule.metric, group, True,
                                                        "{label} is {value}", "number")
            rows = np.flatnonzero(failed)
            parts.append(pd.DataFrame({
                "account_id": ids[rows], "feature": rule.metric, "label": metric.label, "group": group,
                "value": [f"{x:g}" for x in v[rows]], "shap": cost[rows],
                "sentence": [f"{render_sentence(metric, x)} (healthy: {_threshold_text(rule, metric.kind)})"
                             for x in v[rows]]}))
    if not parts:
        return pd.DataFrame(columns=REASON_COLUMNS)
    out = pd.concat(parts, ignore_index=True).sort_values(["account_id", "shap", "feature"],
                                                          ascending=[True, False, True], kind="stable")
    out["rank"] = out.groupby("account_id").cumcount() + 1
    return out[REASON_COLUMNS].reset_index(drop=True)
