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
