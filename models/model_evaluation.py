"""A trained model's honest evaluation as one typed object: what training produces, the registry stores,
``cli.py train --json`` prints and the Model lab shows.

:class:`ModelEvaluation` holds the headline metrics on held-out rows, their bootstrap
intervals, the calibration (method and reliability curve), the per-segment figures, the
backtest over earlier cut-offs, the rule score's figures on the same rows, and how the data
was split. :meth:`ModelEvaluation.to_json` is the registry's ``metrics`` column;
:meth:`ModelEvaluation.from_json` reads that column in both shapes it has had: the current one
(``"format": 2``) and the older flat one (headline metrics at the top, everything else under
``details``), which models registered before this type still carry.

Curves (ROC, precision-recall, gains) are not stored: they are drawn from the held-out rows
kept beside the artifact (:mod:`models.artifacts`), and :mod:`models.diagnostics.curves` attaches
them as :class:`HeldOutCurves` (:meth:`ModelEvaluation.with_curves`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from models import uncertainty
from models.evaluation import clean_json

if TYPE_CHECKING:
    import numpy as np

HEADLINE_METRICS = ("roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "oe_ratio", "log_loss")
JSON_FORMAT = 2


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-count bin of predicted probability: its mean prediction, observed rate and rows."""

    mean_predicted: float
    observed_rate: float
    n: int


@dataclass(frozen=True)
class Calibration:
    """How the probabilities were calibrated and how well they match what happened on held-out rows.

    ``method`` is ``platt`` or ``isotonic`` (None for models stored without it); ``cv_ece`` the
    cross-validated calibration error per method that chose it; ``reliability`` the held-out
    reliability curve (equal-count bins)."""

    method: str | None = None
    cv_ece: dict[str, Any] = field(default_factory=dict)
    reliability: tuple[ReliabilityBin, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The reliability curve: columns mean_predicted, observed_rate, n (one row per bin)."""
        return pd.DataFrame([vars(b) for b in self.reliability], columns=["mean_predicted", "observed_rate", "n"])

    def to_json(self) -> dict:
        return {"method": self.method, "cv_ece": dict(self.cv_ece), "reliability": [vars(b) for b in self.reliability]}

    @classmethod
    def from_json(cls, d: dict | None, reliability: list | None = None) -> Calibration:
        d = d or {}
        points = d.get("reliability", reliability) or []
        return cls(method=d.get("method"), cv_ece=dict(d.get("cv_ece") or {}),
                   reliability=tuple(ReliabilityBin(float(p["mean_predicted"]), float(p["observed_rate"]),
                                                    int(p.get("n") or 0)) for p in points))


@dataclass(frozen=True)
class BacktestCutoff:
    """One earlier cut-off of the backtest, re-run as if it were the present.

    ``model`` and ``rule_score`` hold the metrics of the model and of the rule health score on
    the cut-off's test slice; ``algorithm`` and ``params`` what that cut-off chose on its own
    earlier window (None for models stored before it was recorded)."""

    test_start: str | None
    test_end: str | None
    n_test: int | None
    positives: int | None
    model: dict[str, Any] = field(default_factory=dict)
    rule_score: dict[str, Any] = field(default_factory=dict)
    algorithm: str | None = None
    params: dict | None = None
    screened_out: list[str] = field(default_factory=list)
    selection_dates: list[str] | None = None

    def to_json(self) -> dict:
        return {"test_start": self.test_start, "test_end": self.test_end, "n_test": self.n_test,
                "positives": self.positives, "model": dict(self.model), "rule_score": dict(self.rule_score),
                "algorithm": self.algorithm, "params": self.params, "screened_out": list(self.screened_out),
                "selection_dates": self.selection_dates}

    @classmethod
    def from_json(cls, d: dict) -> BacktestCutoff:
        return cls(test_start=d.get("test_start"), test_end=d.get("test_end"), n_test=d.get("n_test"),
                   positives=d.get("positives"), model=dict(d.get("model") or {}),
                   rule_score=dict(d.get("rule_score", d.get("health_score")) or {}),  # older rows: health_score
                   algorithm=d.get("algorithm"), params=d.get("params"),
                   screened_out=list(d.get("screened_out") or []), selection_dates=d.get("selection_dates"))


@dataclass(frozen=True)
class HeldOutCurves:
    """Curves and tables drawn from a model's stored held-out rows (never stored in the registry).

    ``y`` and ``p`` are the held-out labels and calibrated probabilities; ``roc``, ``pr`` and
    ``gains`` the model's curves; ``segments`` the metrics per segment. The ``rule_*`` parts
    are the rule health score's on the same rows (None when the rows carry no rule score)."""

    y: np.ndarray
    p: np.ndarray
    base_rate: float
    roc: pd.DataFrame
    pr: pd.DataFrame
    gains: pd.DataFrame
    segments: pd.DataFrame
    rule_vs_model: pd.DataFrame | None = None
    rule_verdict: str | None = None
    rule_roc: pd.DataFrame | None = None
    rule_gains: pd.DataFrame | None = None


@dataclass
class ModelEvaluation:
    """Everything known about how good one trained model is (see the module docstring).

    ``metrics``: the :data:`HEADLINE_METRICS` on the held-out rows (None where undefined);
    ``intervals``: :func:`models.uncertainty.to_json` of the account-clustered bootstrap (read
    with :meth:`interval`); ``rule_score``: the rule health score's ROC-AUC, PR-AUC and lift on
    the same rows and ``reads_as`` (``risk`` for churn, ``health`` for expansion); ``history``:
    how the observation dates were laid (None in flat mode). Dates are ISO strings."""

    validation: str | None = None  # "time-split" or "cv"
    metrics: dict[str, float | None] = field(default_factory=dict)
    n_train: int | None = None
    n_test: int | None = None
    positives_test: int | None = None
    roc_auc_interval: tuple[float, float] | None = None
    calibration: Calibration = field(default_factory=Calibration)
    per_segment: dict[str, dict] = field(default_factory=dict)
    backtest: list[BacktestCutoff] = field(default_factory=list)
    rule_score: dict[str, Any] = field(default_factory=dict)
    comparison: dict[str, dict] = field(default_factory=dict)  # algorithm -> metrics of its best candidate
    intervals: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, Any] = field(default_factory=dict)  # where global importance was measured
    eligibility: dict[str, Any] = field(default_factory=dict)  # columns left out, snapshot features
    leakage: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] | None = None
    train_dates: list[str] | None = None
    calibration_dates: list[str] | None = None
    validation_blocks: list[list[str]] | None = None
    test_dates: list[str] | None = None
    label_rates: dict[str, Any] | None = None
    training_rows: dict[str, Any] | None = None
    screened_out: list[str] = field(default_factory=list)
    folds: int | None = None  # flat mode: outer cross-validation folds
    fold_choices: list[dict] = field(default_factory=list)
    base_rate: float | None = None
    risk_thresholds: list[float] | None = None
    horizon_days: int | None = None
    lead_days: int | None = None
    top_features: list[dict] = field(default_factory=list)  # feature, label, group, mean_abs_shap
    train_seconds: float | None = None
    feature_groups: list[str] | None = None  # the metric groups training was limited to (None = all)
    curves: HeldOutCurves | None = None  # drawn from the held-out rows, never stored

    # ------------------------------------------------------------------ reading
    def metric(self, name: str) -> float | None:
        """A headline metric, None when unknown or undefined (NaN)."""
        v = self.metrics.get(name)
        return None if v is None or v != v else float(v)

    def interval(self, metric: str, score: str = "model") -> uncertainty.Interval | None:
        """The bootstrap interval of ``metric`` for ``score`` (``model`` or ``rule``), None when not computed."""
        return uncertainty.Interval.from_json(((self.intervals.get("scores") or {}).get(score) or {}).get(metric))

    def difference(self, metric: str, pair: str = "model - rule") -> uncertainty.Interval | None:
        """The bootstrap interval of metric(model) - metric(rule), None when not computed."""
        return uncertainty.Interval.from_json(((self.intervals.get("differences") or {}).get(pair) or {}).get(metric))

    @property
    def excluded_features(self) -> dict[str, str]:
        """Columns left out of training as possible outcome columns or unverifiable snapshots, with why."""
        return dict(self.eligibility.get("excluded") or {})

    @property
    def snapshot_features(self) -> list[str]:
        """Features read from the accounts snapshot (today's value for every past date)."""
        return list(self.eligibility.get("snapshot_features") or [])

    @property
    def data_end(self) -> str | None:
        """The end of the data the model was trained and tested on (None when not recorded)."""
        return (self.history or {}).get("data_end")

    def with_curves(self, curves: HeldOutCurves | None) -> ModelEvaluation:
        """This evaluation with the curves drawn from its held-out rows attached."""
        return replace(self, curves=curves)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict:
        """Strict JSON (NaN as null) in the current shape; the curves are left out."""
        out: dict[str, Any] = {"format": JSON_FORMAT}
        for f in fields(self):
            if f.name == "curves":
                continue
            v = getattr(self, f.name)
            if f.name == "calibration":
                v = v.to_json()
            elif f.name == "backtest":
                v = [b.to_json() for b in v]
            elif f.name == "roc_auc_interval":
                v = list(v) if v else None
            elif f.name == "metrics":
                v = {k: v.get(k) for k in HEADLINE_METRICS}
            out[f.name] = v
        return clean_json(out)

    @classmethod
    def from_json(cls, d: dict | None, *, validation: str | None = None) -> ModelEvaluation:
        """Read :meth:`to_json`'s output, or the older flat shape (``details``); ``validation`` fills
        the validation for older rows, which kept it only in the registry's own column."""
        d = dict(d or {})
        if d.get("format") == JSON_FORMAT:
            data = d
        else:
            data = _from_flat_shape(d)
        data.setdefault("validation", validation)
        if data.get("validation") is None:
            data["validation"] = validation
        known = {f.name for f in fields(cls)} - {"curves"}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["calibration"] = Calibration.from_json(data.get("calibration"))
        kwargs["backtest"] = [BacktestCutoff.from_json(b) for b in data.get("backtest") or []]
        iv = data.get("roc_auc_interval")
        kwargs["roc_auc_interval"] = (float(iv[0]), float(iv[1])) if iv and None not in iv[:2] else None
        kwargs["metrics"] = {k: (data.get("metrics") or {}).get(k) for k in HEADLINE_METRICS}
        for name in ("per_segment", "rule_score", "comparison", "intervals", "importance", "eligibility", "leakage"):
            kwargs[name] = dict(kwargs.get(name) or {})
        for name in ("screened_out", "fold_choices", "top_features"):
            kwargs[name] = list(kwargs.get(name) or [])
        return cls(**kwargs)


def interval_bounds(intervals: dict, score: str = "model", metric: str = "roc_auc") -> tuple[float, float] | None:
    """(low, high) of one score's metric in :func:`models.uncertainty.to_json` intervals, None when not computed."""
    iv = ((intervals.get("scores") or {}).get(score) or {}).get(metric) or {}
    return (iv["low"], iv["high"]) if iv.get("low") is not None and iv.get("high") is not None else None


def _from_flat_shape(d: dict) -> dict:
    """The registry's first shape: headline metrics and counts at the top, the rest under ``details``
    (reliability beside calibration, the rule score named ``health_score``)."""
    details = dict(d.get("details") or {})
    out = {k: v for k, v in details.items() if k not in ("calibration", "reliability", "health_score")}
    out["calibration"] = Calibration.from_json(details.get("calibration"), details.get("reliability")).to_json()
    out["rule_score"] = details.get("health_score") or {}
    out["metrics"] = {k: d.get(k) for k in HEADLINE_METRICS}
    for k in ("n_train", "n_test", "positives_test", "roc_auc_interval", "top_features", "train_seconds",
              "feature_groups", "validation"):
        if k in d:
            out[k] = d[k]
    return out
