"""Training: time-correct split, tuning, calibration, backtest, and the trained model object.

Time mode (workspace with subscriptions):

* labelled observation dates are ordered; the last ``test_months`` dates are the test
  slice; training uses only dates whose label window and renewal gap closed before the
  first test date (a *purge* of ``horizon + lead + gap_days`` days);
* candidates (a small grid per algorithm; ``auto`` tries both algorithms and the blend
  of the best of each) are chosen by their mean ROC-AUC over ``validation_blocks``
  rolling-origin blocks of ``calib_months`` dates at the end of that training window,
  each fitted only on dates whose labels closed before its block (the same purge);
* the chosen candidate is refitted on the whole training window and calibrated (Platt,
  or isotonic when clearly better, chosen leave-one-block-out) on its out-of-sample scores
  of every validation block;
* the test slice is scored once, with the rule health score beside it (for churn; an
  expansion model is compared with the health score read as "healthier first"), and
  account-clustered bootstrap intervals are attached to the metrics and to the
  model-minus-rule differences (:mod:`models.uncertainty`); a backtest repeats the whole
  recipe - attribute screening, model choice and calibration on its own earlier
  window - for earlier cut-offs; finally the chosen configuration is refitted on all
  labelled dates for production, and global importance is measured on rows that model
  did not train on (the latest, not yet labelled, dates).

Before any of this, :func:`models.eligibility.apply_eligibility` leaves out account
attributes that may carry the outcome (label-like names, columns that nearly separate the
label, and - in time mode - custom attributes unless kept explicitly).

Short histories (weekly observation dates, :mod:`models.history`): the test slice and the
validation blocks are sized in weeks to the history. When even that leaves no room for a
full purge, :func:`_short_split` holds out accounts as well as dates: the test slice is the
latest dates' rows of a random 30 % of accounts that training never sees, validation is
another 20 % of accounts, and the purge shrinks to what the history allows (reported).

Every training run checks the positive rate per observation date first
(:func:`check_label_rates`): one date far from the others is a labelling fault.

Flat mode (one row per account with a label): nested stratified k-fold CV - inner
folds choose the candidate and give out-of-fold scores for calibration, outer folds give
the honest out-of-fold predictions that the metrics are computed on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data.errors import UserError
from data.metrics import Metric
from data.readmodel import risk_band, risk_thresholds
from data.vocabulary import TARGETS
from models import uncertainty
from models.calibration import CalibratedModel, choose_calibrator, choose_calibrator_blocks
from models.eligibility import apply_eligibility
from models.estimators import PARAM_GRIDS, BlendModel, make_model
from models.evaluation import classification_metrics, clean_json, per_segment, reliability_curve
from models.explain import Explanation, global_importance
from models.health_score import health_risk
from models.history import (
    CADENCES,
    MIN_LABELLED_WEEKS,
    RULE_SCORE_MEANWHILE,
    WEEKLY,
    history_supports,
    too_short_message,
)
from models.observations import (
    ObservationSet,
    build_observations,
    check_label_rates,
    check_leakage,
    inactivity_days,
)
from models.progress import progress
from models.splits import TimeSplit, purge_gap, rolling_folds, time_split

HEADLINE_METRICS = ("roc_auc", "pr_auc", "brier", "top_decile_lift", "ece", "oe_ratio", "log_loss")
ALGORITHM_CHOICES = ("logreg", "gbm", "auto")


@dataclass
class TrainConfig:
    """What to train and how to validate it."""

    target: str = "churn"
    algorithm: str = "auto"
    horizon_days: int = 90
    lead_days: int = 0
    gap_days: int = 30  # renewal gap tolerance: a lapse this short is no churn (labels are censored by it too)
    cadence: str = "auto"  # observation dates: auto, monthly, weekly (models.history)
    test_months: int = 3
    calib_months: int = 2  # months per rolling validation block
    validation_blocks: int = 3  # rolling-origin blocks that choose the candidate and fit the calibrator
    max_train_rows: int | None = 200_000  # larger training sets are sampled by whole accounts (time mode)
    backtest_cutoffs: int = 3
    backtest_step_months: int = 2
    cv_folds: int = 5
    inner_folds: int = 3
    seed: int = 0
    num_threads: int = 1  # LightGBM threads; idle-spinning OpenMP threads slow busy 2-core machines
    leakage_check: bool = True
    allow_label_outliers: bool = False  # train although one date's positive rate is far from the others'
    keep_columns: tuple[str, ...] = ()  # account attributes to use although label-like or custom (opt-in)
    backtest_blocks: int = 2  # rolling validation blocks per backtest cut-off (its own model choice)
    bootstrap_draws: int = uncertainty.DEFAULT_DRAWS  # account-clustered resamples for the intervals

    def validate(self) -> None:
        """Raise :class:`TrainConfigError` (worded for people, naming the setting) for a value out of range."""
        if self.target not in TARGETS:
            raise TrainConfigError("target", f"The target must be one of {', '.join(TARGETS)}.")
        if self.algorithm not in ALGORITHM_CHOICES:
            raise TrainConfigError("algorithm", f"The algorithm must be one of {', '.join(ALGORITHM_CHOICES)}.")
        if not 7 <= self.horizon_days <= 730:
            raise TrainConfigError("horizon_days", "The horizon must be between 7 and 730 days.")
        if not 0 <= self.lead_days <= 365:
            raise TrainConfigError("lead_days", "The lead time must be between 0 and 365 days.")
        if not 0 <= self.gap_days <= 365:
            raise TrainConfigError("gap_days", "The billing gap that still counts as a renewal must be between "
                                               "0 and 365 days.")
        if self.cadence not in CADENCES:
            raise TrainConfigError("cadence", f"The cadence must be one of {', '.join(CADENCES)}.")


class TrainConfigError(UserError):
    """A training setting out of range. ``setting`` is the :class:`TrainConfig` field, so a caller
    can point at its own control for it (the CLI names its flag, the Model lab its form field)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass
class TrainedModel:
    """Everything scoring needs: the calibrated model and how to read its inputs and output."""

    model: CalibratedModel
    target: str
    algorithm: str
    params: dict
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]
    mode: str
    horizon_days: int
    lead_days: int
    base_rate: float
    risk_thresholds: tuple[float, float]
    training_window: tuple[str | None, str | None]
    feature_medians: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the target within the horizon, per row."""
        return self.model.predict_proba(frame)[:, 1]

    def risk_band(self, p: np.ndarray) -> np.ndarray:
        """Risk band per probability: the one definition in :func:`data.readmodel.risk_thresholds`."""
        return risk_band(p, risk_thresholds(self.base_rate))

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """SHAP values of ``frame`` (model log-odds), each feature named and grouped from the catalog."""
        return self.model.explain(frame).described(self.catalog)

    def explain_calibrated(self, frame: pd.DataFrame) -> tuple[Explanation, str]:
        """(explanation, scale): SHAP values in calibrated log-odds where exact (Platt), else the model's."""
        if hasattr(self.model, "explain_calibrated"):
            expl, scale = self.model.explain_calibrated(frame)
            return expl.described(self.catalog), scale
        return self.explain(frame), "model"

    def calibrate(self, log_odds) -> np.ndarray:
        """Calibrated probability of model log-odds (e.g. the SHAP base value)."""
        if hasattr(self.model, "calibrate"):
            return self.model.calibrate(log_odds)
        return 1 / (1 + np.exp(-np.asarray(log_odds, dtype=float)))

    def describe(self) -> str:
        """What a score of this model predicts, in one sentence for the UI."""
        what = "churns (no active subscription)" if self.target == "churn" else "grows MRR by at least 10%"
        if self.mode == "flat":
            return f"Probability that the account {what.split(' (')[0]}, learned from the imported label."
        lead = f" starting {self.lead_days} days after the score date" if self.lead_days else ""
        return f"Probability that the account {what} within {self.horizon_days} days{lead}."


@dataclass
class TrainResult:
    """A trained model plus its honest evaluation."""

    trained: TrainedModel
    validation: str  # "time-split" or "cv"
    n_train: int
    n_test: int
    positives_test: int
    metrics: dict
    details: dict
    global_importance: pd.DataFrame
    predictions: pd.DataFrame
    seconds: float = 0.0
    # For the Model lab (stored beside the artifact by the registry): the held-out rows with
    # their features, y_true, p and rule_risk; and a sample of the training rows (drift reference).
    holdout: pd.DataFrame | None = None
    reference: pd.DataFrame | None = None
    # How uncertain the test figures are: ``positives_test`` churns decide them. The ROC-AUC's
    # 95 % interval [low, high] is filled by the bootstrap when one is computed (None until then).
    roc_auc_interval: tuple[float, float] | None = None
    # Rows the production model did not train on (time mode: the latest, unlabelled dates), for
    # out-of-sample explanations in the Model lab.
    unseen: pd.DataFrame | None = None

    def top_features(self, k: int = 10) -> list[dict]:
        rows = self.global_importance.head(k)
        return [{"feature": r.feature, "label": r.label, "group": r.group, "mean_abs_shap": float(r.mean_abs_shap)}
                for r in rows.itertuples()]

    def summary(self, model_id: str | None = None) -> dict:
        """The ``train --json`` object."""
        return clean_json({
            "model_id": model_id, "target": self.trained.target, "algorithm": self.trained.algorithm,
            "validation": self.validation, "n_train": self.n_train, "n_test": self.n_test,
            "positives_test": self.positives_test,
            "metrics": {k: self.metrics.get(k) for k in HEADLINE_METRICS},
            "roc_auc_interval": list(self.roc_auc_interval) if self.roc_auc_interval else None,
            "history": self.details.get("history"),
            "intervals": self.details.get("intervals") or {},
            "excluded_features": (self.details.get("eligibility") or {}).get("excluded", {}),
            "snapshot_features": (self.details.get("eligibility") or {}).get("snapshot_features", []),
            "leakage": self.details.get("leakage") or {},
            "importance": self.details.get("importance") or {},
            "top_features": self.top_features(),
        })


# --------------------------------------------------------------------------- entry point
def train(con, config: TrainConfig | None = None, *, observations: ObservationSet | None = None,
          say=None) -> TrainResult:
    """Train and evaluate one model on the workspace behind ``con`` (a warehouse reader)."""
    config = config or TrainConfig()
    config.validate()
    say = say or (lambda _msg: None)
    t0 = time.perf_counter()
    obs = observations or build_observations(con, horizon_days=config.horizon_days, lead_days=config.lead_days,
                                             gap_days=config.gap_days, cadence=config.cadence)
    say(progress("observations", f"  observation rows: {len(obs.frame):,} ({obs.mode} mode) in "
                                 f"{time.perf_counter() - t0:.1f}s"))
    if obs.mode == "flat" and config.target != "churn":
        raise UserError("Flat (one row per account) data only has a churn label; expansion needs subscriptions.")
    if obs.label_source == "inactivity":  # churn by inactivity is known on its day: no renewal gap
        config = replace(config, gap_days=obs.gap_days)
    if obs.label_source == "inactivity" and obs.schedule is not None:
        window = inactivity_days()
        need = replace(obs.schedule, label_days=config.lead_days + config.horizon_days + window)
        if not history_supports(need.first_day, need.data_end, need.label_days):
            raise UserError(too_short_message(need, horizon_days=config.horizon_days, lead_days=config.lead_days,
                                              gap_days=window, gap_name="inactivity window"))
    if obs.label_source == "inactivity" and config.target != "churn":
        raise UserError("Without billing data there is no MRR to grow: expansion needs subscriptions. "
                        "Train the churn model (churn = no activity for the inactivity days).")
    obs, eligibility = apply_eligibility(obs, con, label=_label(config), keep=config.keep_columns)
    for f, why in eligibility.excluded.items():
        say(progress("eligibility", f"  left out {f}: {why} (keep it with --keep-column {f})", within=0.5))
    if not obs.features:
        raise UserError("No usable features are left after leaving out columns that may carry the outcome; "
                        "import activity data, or keep a column explicitly with --keep-column.")
    leakage = None
    if obs.mode == "flat":
        result = _train_flat(obs, config)
    else:
        if config.leakage_check:
            leakage = check_leakage(con, obs.frame[["account_id", "obs_date"]], n_dates=2, n_accounts=40,
                                    seed=config.seed)
            leakage.raise_if_leaking()
            leakage.unverifiable = [f for f in leakage.unverifiable if f in obs.features]
            if leakage.unverifiable:
                say(progress("eligibility", "  leakage check: cannot be verified (account snapshot, value at "
                             "export time): " + ", ".join(leakage.unverifiable)))
        result = _train_time(obs, config, say)
    result.details["eligibility"] = eligibility.to_json()
    result.details["leakage"] = leakage.to_json() if leakage is not None else {}
    result.seconds = time.perf_counter() - t0
    return result


def _label(config: TrainConfig) -> str:
    return "label_churn" if config.target == "churn" else "label_expansion"


def _candidates(algorithm: str) -> list[tuple[str, dict]]:
    algos = ["logreg", "gbm"] if algorithm == "auto" else [algorithm]
    return [(a, p) for a in algos for p in PARAM_GRIDS[a]]


def _fit(algo: str, params: dict, obs: ObservationSet, frame: pd.DataFrame, y, config: TrainConfig):
    extra = {"num_threads": config.num_threads} if algo in ("gbm", "blend") else {}
    return make_model(algo, numeric=obs.numeric, categorical=obs.categorical, random_state=config.seed,
                      **params, **extra).fit(frame, y)


def _auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


# --------------------------------------------------------------------------- time mode
def sized_config(config: TrainConfig, n_dates: int, cadence: str) -> TrainConfig:
    """``config`` with its test slice, validation blocks and backtest steps counted in the dates
    of ``cadence``: weekly dates size them to the history (a quarter of the dates at most for the
    test slice, an eighth per validation block), never longer than the monthly settings."""
    if cadence != WEEKLY:
        return config
    from dataclasses import replace

    weeks = 4  # weekly dates per month
    return replace(config, test_months=max(1, min(weeks * config.test_months, n_dates // 4)),
                   calib_months=max(1, min(weeks * config.calib_months, n_dates // 8)),
                   backtest_step_months=max(1, min(weeks * config.backtest_step_months, n_dates // 8)))


def _choose_split(dates: list[date], config: TrainConfig) -> TimeSplit | None:
    """The configured time split; else the smallest one with a full purge (two test dates, one
    validation block); else, for a short history, :func:`_short_split`."""
    from dataclasses import replace

    smallest = replace(config, test_months=min(config.test_months, 2), validation_blocks=1)
    return time_split(dates, config) or time_split(dates, smallest) or _short_split(dates, config)


SHORT_TEST_SHARE = 0.3  # accounts held out for the test slice when the history is short
SHORT_VALIDATION_SHARE = 0.2  # accounts held out for the validation block


def _short_split(dates: list[date], config: TrainConfig) -> TimeSplit | None:
    """A split for histories too short for a full purge (at least :data:`MIN_LABELLED_WEEKS` dates).

    The test slice is the latest dates (a quarter, at least one); the purge before it is the
    full ``horizon + lead + gap`` when the earlier dates allow it, else shrunk in 7-day steps
    until two dates remain to fit on. Training then also leaves out the test slice's accounts
    (and the validation block's accounts for model choice), so no account's outcome is both
    learned and tested on even where label windows overlap.
    """
    if len(dates) < MIN_LABELLED_WEEKS:
        return None
    k = max(1, len(dates) // 4)
    test, earlier = dates[-k:], dates[:-k]
    for days in range(purge_gap(config).days, -1, -7):
        eligible = [d for d in earlier if d + timedelta(days=days) <= test[0]]
        if len(eligible) >= 2:
            break
    else:
        return None
    # one validation block: the latest fit date(s); its training dates before it, the same purge
    n_val = max(1, len(eligible) // 3)
    val = eligible[-n_val:]
    train_dates = [d for d in eligible if d + timedelta(days=days) <= val[0]] or [d for d in eligible if d < val[0]]
    if not train_dates:
        return None
    return TimeSplit(fit=eligible, folds=[(train_dates, val)], test=test, short=True, purge_days=days)


def screen_attributes(obs: ObservationSet, frame: pd.DataFrame, label: str, *, alpha: float = 0.01) -> list[str]:
    """Firmographic attributes with no account-level association with the label (to be dropped).

    Observation rows repeat each account many times, so a static attribute (industry,
    lead source, ...) lets trees memorise which accounts churned. Each attribute is tested
    once per account (did the account ever have a positive label in ``frame``): chi-square
    for categories, Mann-Whitney for numbers; p >= ``alpha`` means no evidence of an effect.
    """
    from scipy.stats import chi2_contingency, mannwhitneyu

    per_account = frame.groupby("account_id").agg(y=(label, "max")).reset_index()
    dropped = []
    for f in obs.features:
        metric = obs.catalog.get(f)
        if metric is None or metric.group != "Firmographic" or f == "segment":
            continue
        values = frame.groupby("account_id")[f].first().reindex(per_account["account_id"]).to_numpy()
        y = per_account["y"].to_numpy()
        try:
            if f in obs.categorical:
                v = pd.Series(values).astype("object").fillna("(none)").astype(str)
                table = pd.crosstab(v, y)
                p = chi2_contingency(table)[1] if table.shape[0] > 1 and table.shape[1] > 1 else 1.0
            else:
                v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
                ok = ~np.isnan(v)
                a, b = v[ok & (y == 1)], v[ok & (y == 0)]
                p = mannwhitneyu(a, b).pvalue if len(a) and len(b) else 1.0
        except ValueError:
            p = 1.0
        if not p < alpha:
            dropped.append(f)
    return dropped


def _without(obs: ObservationSet, dropped: list[str]) -> ObservationSet:
    if not dropped:
        return obs
    from dataclasses import replace

    return replace(obs, numeric=[c for c in obs.numeric if c not in dropped],
                   categorical=[c for c in obs.categorical if c not in dropped])


def rule_score(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The rule health score read as a score for ``target``: risk (100 - health) for churn,
    health itself for expansion (healthier accounts first), on a 0-1 scale."""
    risk = health_risk(frame)
    return risk if target == "churn" else 1.0 - risk


@dataclass
class Candidate:
    """One model choice tried in training and how it did on data it did not learn from.

    ``scores``: its validation scores, one array per rolling block (time mode) or one
    out-of-fold array (flat mode); ``auc`` their ROC-AUC (the mean over blocks)."""

    auc: float
    algorithm: str
    params: dict
    scores: list[np.ndarray] | np.ndarray


def _with_blend(scored: list[Candidate], blend, auc_of) -> list[Candidate]:
    """``scored`` plus the blend of its best logistic regression and best LightGBM (``auto`` mode)."""
    lr = max((c for c in scored if c.algorithm == "logreg"), key=lambda c: c.auc)
    gb = max((c for c in scored if c.algorithm == "gbm"), key=lambda c: c.auc)
    scores = blend(lr.scores, gb.scores)
    return [*scored, Candidate(auc_of(scores), "blend", {"logreg": lr.params, "gbm": gb.params}, scores)]


def _select(obs: ObservationSet, folds: list, config: TrainConfig, label: str) -> list[Candidate]:
    """Every candidate fitted on each rolling block's earlier dates and scored on the block, best first
    (``auto`` adds the blend of the best logistic regression and the best LightGBM)."""
    scored = []
    for algo, params in _candidates(config.algorithm):
        val_scores = [_fit(algo, params, obs, t, t[label], config).decision_function(v) for t, v in folds]
        scored.append(Candidate(_fold_auc(folds, val_scores, label), algo, params, val_scores))
    if config.algorithm == "auto":
        scored = _with_blend(scored, lambda a, b: [(x + y) / 2 for x, y in zip(a, b, strict=True)],
                             lambda scores: _fold_auc(folds, scores, label))
    scored.sort(key=lambda c: (-np.nan_to_num(c.auc, nan=-1), c.algorithm, str(c.params)))
    return scored


def _calibrator_for(val_scores: list[np.ndarray], fold_rows, label: str, config: TrainConfig) -> tuple:
    """Calibrator chosen and fitted on the out-of-sample scores of every validation block."""
    return choose_calibrator_blocks([(sc, v[label].to_numpy()) for sc, (_, v) in zip(val_scores, fold_rows,
                                                                                      strict=True)],
                                    seed=config.seed)


def _fit_candidate(algo: str, params: dict, obs: ObservationSet, frame: pd.DataFrame, label: str,
                   config: TrainConfig, cache: dict | None = None):
    if algo == "blend":
        return BlendModel.from_fitted(_fit_candidate("logreg", params["logreg"], obs, frame, label, config, cache),
                                      _fit_candidate("gbm", params["gbm"], obs, frame, label, config, cache))
    if cache is None:
        return _fit(algo, params, obs, frame, frame[label], config)
    key = (algo, repr(sorted(params.items())))
    if key not in cache:
        cache[key] = _fit(algo, params, obs, frame, frame[label], config)
    return cache[key]


def _split_rows(labelled: pd.DataFrame, dates: list[date], split: TimeSplit, label: str, config: TrainConfig, say):
    """The rows of each part of ``split`` (short histories also hold accounts out), refusing with a plain message
    when a part lacks churned or retained accounts: (split, fit rows, test rows, validation folds, train_rows,
    rows). Needs only ``account_id``, ``obs_date`` and the label, so :func:`can_train_on` reads labels alone."""
    od = labelled["obs_date"]
    accounts = np.sort(labelled["account_id"].astype(str).unique())
    account_draw = pd.Series(np.random.default_rng(config.seed).random(len(accounts)), index=accounts)
    row_draw = account_draw.reindex(labelled["account_id"].astype(str)).to_numpy()
    # Short histories hold accounts out as well as dates (a separate draw: row sampling uses the first).
    holdout_draw = pd.Series(np.random.default_rng([config.seed, 1]).random(len(accounts)), index=accounts)
    row_group = np.digitize(holdout_draw.reindex(labelled["account_id"].astype(str)).to_numpy(),
                            [SHORT_TEST_SHARE, SHORT_TEST_SHARE + SHORT_VALIDATION_SHARE])  # 0 test, 1 val, 2 train

    def part_mask(part: str | None) -> np.ndarray | bool:
        if not split.short or part is None:
            return True
        return {"test": row_group == 0, "fit": row_group != 0, "val": row_group == 1, "train": row_group == 2}[part]

    def rows(ds: list[date], part: str | None = None) -> pd.DataFrame:
        return labelled[od.isin(ds).to_numpy() & part_mask(part)]

    def train_rows(ds: list[date], part: str | None = None) -> pd.DataFrame:
        """Rows of ``ds`` to fit on: beyond ``max_train_rows``, the rows of a random share of accounts."""
        mask = od.isin(ds).to_numpy() & part_mask(part)
        n = int(mask.sum())
        if config.max_train_rows and n > config.max_train_rows:
            mask = mask & (row_draw < config.max_train_rows / n)
        return labelled[mask]

    fit_rows, test = train_rows(split.fit, "fit"), rows(split.test, "test")
    for name, part in (("training", fit_rows), ("validation", rows(split.folds[-1][1], "val")), ("test", test)):
        if part[label].nunique() < 2:
            raise UserError(f"The {name} slice has no {'churned' if config.target == 'churn' else 'expanding'} "
                            "accounts; there is not enough history to train this target yet (no churn is known "
                            "early enough in the data). " + RULE_SCORE_MEANWHILE)
    # Choose: every candidate is fitted on each rolling block's earlier dates and scored on the block.
    folds = [(train_rows(t, "train"), rows(v, "val")) for t, v in split.folds]
    folds = [(t, v) for t, v in folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if not folds and not split.short:
        # Early dates of a young log may hold no churn yet, so no rolling block can choose a model:
        # hold accounts out as well as dates, as for a short history, rather than fit on nothing.
        fallback = _short_split(dates, config)
        if fallback is not None:
            say(progress("split", "  no rolling validation block has churned and retained accounts on both "
                         f"sides; testing on {SHORT_TEST_SHARE:.0%} of accounts held out from training instead"))
            split = fallback
            fit_rows, test = train_rows(split.fit, "fit"), rows(split.test, "test")
            folds = [(train_rows(t, "train"), rows(v, "val")) for t, v in split.folds]
            folds = [(t, v) for t, v in folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if not folds or test[label].nunique() < 2:
        raise UserError("No validation block has both churned and retained accounts, so no model can be chosen "
                        "honestly yet: import more history (or more accounts). " + RULE_SCORE_MEANWHILE)
    return split, fit_rows, test, folds, train_rows, rows


def can_train_on(labelled: pd.DataFrame, config: TrainConfig, cadence: str) -> bool:
    """Whether :func:`train` finds a time-ordered split with churned and retained accounts in every part, on
    labelled rows (account_id, obs_date, label_churn) alone: the Data page's and ``cli.py import``'s verdict."""
    dates = sorted(labelled["obs_date"].unique())
    if cadence == WEEKLY and len(dates) < MIN_LABELLED_WEEKS:
        return False
    config = sized_config(config, len(dates), cadence)
    split = _choose_split(dates, config)
    if split is None:
        return False
    try:
        _split_rows(labelled, dates, split, "label_churn", config, lambda _m: None)
    except UserError:
        return False
    return True


def _train_time(obs: ObservationSet, config: TrainConfig, say) -> TrainResult:
    label = _label(config)
    labelled = obs.labelled()
    dates = sorted(labelled["obs_date"].unique())
    if obs.cadence == WEEKLY and len(dates) < MIN_LABELLED_WEEKS and obs.schedule is not None:
        raise UserError(too_short_message(obs.schedule, horizon_days=config.horizon_days,
                                          lead_days=config.lead_days, gap_days=obs.gap_days))
    config = sized_config(config, len(dates), obs.cadence)
    split = _choose_split(dates, config)
    if split is None:
        if obs.schedule is not None:
            raise UserError(too_short_message(obs.schedule, horizon_days=config.horizon_days,
                                              lead_days=config.lead_days, gap_days=obs.gap_days))
        raise UserError(f"Not enough labelled history for a time-ordered test: {len(dates)} labelled observation "
                        f"dates, with the {config.horizon_days}-day horizon and {config.gap_days}-day renewal gap "
                        "before the data's end.")
    if split.short:
        say(progress("split", f"  short history: {len(dates)} labelled {obs.cadence} dates; testing on the latest "
                     f"{len(split.test)} date(s) for {SHORT_TEST_SHARE:.0%} of accounts held out from training, "
                     f"purge {split.purge_days} days", within=0.5))
    rates = check_label_rates(labelled, label)
    if not config.allow_label_outliers:
        rates.raise_if_faulty()
    for w in rates.warnings + (rates.refused_sentences() if config.allow_label_outliers else []):
        say(progress("split", f"  warning: {w}", within=0))
    split, fit_rows, test, folds, train_rows, rows = _split_rows(labelled, dates, split, label, config, say)
    od = labelled["obs_date"]
    eligible_obs = obs
    screened = screen_attributes(eligible_obs, fit_rows, label)
    if screened:
        say(progress("split", f"  left out attributes with no link to the outcome: {', '.join(screened)}"))
    obs = _without(eligible_obs, screened)
    scored = _select(obs, folds, config, label)
    best = scored[0]
    best_auc, algo, params, best_scores = best.auc, best.algorithm, best.params, best.scores
    for c in scored:
        say(progress("model_choice", f"    {c.algorithm} {c.params}: validation AUC " + ", ".join(
            f"{_auc(v[label], sc):.3f}" for (_, v), sc in zip(folds, c.scores, strict=True)), within=0.9))
    say(progress("model_choice", f"  chose {algo} {params} (mean AUC {best_auc:.3f} over {len(folds)} rolling "
                                 "validation blocks)"))

    window_fits: dict = {}  # fits on the whole window, shared by test model and comparison

    # The tested model learns from every row before the purge gap and is calibrated on the
    # rolling blocks' out-of-sample scores.
    cal, cal_report = _calibrator_for(best_scores, folds, label, config)
    model = CalibratedModel(base=_fit_candidate(algo, params, obs, fit_rows, label, config, window_fits),
                            calibrator=cal)
    y_test = test[label].to_numpy()
    p_test = model.predict_proba(test)[:, 1]
    metrics = classification_metrics(y_test, p_test)

    comparison = {}
    for a in ("logreg", "gbm", "blend"):
        mine = next((c for c in scored if c.algorithm == a), None)  # the best of this algorithm
        if mine is not None:
            other = model if a == algo else CalibratedModel(
                base=_fit_candidate(a, mine.params, obs, fit_rows, label, config, window_fits),
                calibrator=_calibrator_for(mine.scores, folds, label, config)[0])
            comparison[a] = {**classification_metrics(y_test, other.predict_proba(test)[:, 1]),
                             "params": mine.params, "validation_auc": mine.auc}
    rule = rule_score(test, config.target)
    health = {k: v for k, v in classification_metrics(y_test, rule).items() if k in ("roc_auc", "pr_auc",
                                                                                       "top_decile_lift")}
    health["reads_as"] = "risk" if config.target == "churn" else "health"
    boot = uncertainty.bootstrap_metrics(y_test, {"model": p_test, "rule": rule}, test["account_id"],
                                         pairs=[("model", "rule")], draws=config.bootstrap_draws, seed=config.seed)
    intervals = uncertainty.to_json(boot)
    backtest = [{**_backtest_row(test, metrics, health, label), "algorithm": algo, "params": params,
                 "screened_out": screened, "selection_dates": _span([d for _, v in split.folds for d in v])}]
    for k in range(1, 1 if split.short else config.backtest_cutoffs):
        row = _backtest_cutoff(eligible_obs, dates, config, k, label, rows, train_rows)
        if row is None:
            break
        backtest.append(row)

    # Production: the same recipe on every labelled date (calibrated on its latest blocks).
    final_folds = [(train_rows(t), rows(v)) for t, v in rolling_folds(dates, purge_gap(config), config.validation_blocks,
                                                                        config.calib_months)]
    final_folds = [(t, v) for t, v in final_folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if final_folds:
        final_scores = [_fit_candidate(algo, params, obs, t, label, config).decision_function(v)
                        for t, v in final_folds]
        final_model = CalibratedModel(base=_fit_candidate(algo, params, obs, train_rows(dates), label, config),
                                      calibrator=_calibrator_for(final_scores, final_folds, label, config)[0])
    elif split.short:  # every account and date, calibrated like the tested model
        final_model = CalibratedModel(base=_fit_candidate(algo, params, obs, train_rows(dates), label, config),
                                      calibrator=cal)
    else:
        final_model = model
    say(progress("evaluation", f"  trained and evaluated in {len(backtest)} cut-offs"))

    base_rate = float(labelled[label].mean())
    trained = _trained(final_model, obs, config, algo, params, base_rate,
                       (str(min(dates)), str(max(dates))), labelled)
    # Importance out of sample: the production model trained on every labelled row, so it is
    # measured on the latest dates, whose outcome is not known yet (the rows it will score).
    unseen = obs.frame[~obs.frame["labelled"].to_numpy(dtype=bool)]
    if len(unseen):
        importance = global_importance(trained, unseen)
        importance_info = {"in_sample": False, "rows": int(min(len(unseen), 3000)),
                           "on": "the latest observation dates, whose outcome is not known yet "
                                 "(the production model did not train on them)"}
    else:
        tested = _trained(model, obs, config, algo, params, base_rate, (None, None), fit_rows)
        importance = global_importance(tested, test)
        importance_info = {"in_sample": False, "rows": int(min(len(test), 3000)),
                           "on": "the held-out test rows, with the model trained before them"}
    val_dates = [d for _, v in split.folds for d in v]
    details = {
        "horizon_days": config.horizon_days, "lead_days": config.lead_days,
        "train_dates": [str(min(split.fit)), str(max(split.fit))],
        "calibration_dates": [str(min(val_dates)), str(max(val_dates))],
        "validation_blocks": [[str(v[0]), str(v[-1])] for _, v in split.folds],
        "test_dates": [str(min(split.test)), str(max(split.test))],
        "calibration": {"method": model.calibrator.method, "cv_ece": cal_report},
        "reliability": reliability_curve(y_test, p_test),
        "per_segment": per_segment(y_test, p_test, test["segment"]) if "segment" in test else {},
        "comparison": comparison, "health_score": health, "backtest": backtest,
        "intervals": intervals, "importance": importance_info,
        "base_rate": base_rate, "risk_thresholds": list(trained.risk_thresholds),
        "screened_out": screened,
        "history": {"cadence": obs.cadence, "labelled_dates": len(dates), "test_dates": len(split.test),
                    "purge_days": split.purge_days, "gap_days": config.gap_days,
                    "accounts_held_out": SHORT_TEST_SHARE if split.short else None,
                    "data_end": str(obs.data_end) if obs.data_end else None},
        "label_rates": rates.to_json(),
        "training_rows": {"used": int(len(fit_rows)), "available": int(od.isin(split.fit).sum()),
                          "max_train_rows": config.max_train_rows},
    }
    predictions = pd.DataFrame({"account_id": test["account_id"].to_numpy(),
                                "obs_date": test["obs_date"].astype(str).to_numpy(),
                                "y_true": y_test, "p": p_test})
    holdout = test.assign(y_true=y_test, p=p_test, rule_risk=rule)
    return TrainResult(trained=trained, validation="time-split", n_train=len(fit_rows),
                       n_test=len(test), positives_test=int(y_test.sum()), metrics=metrics,
                       details=details, global_importance=importance, predictions=predictions,
                       holdout=holdout, reference=labelled.assign(y_true=labelled[label].to_numpy()),
                       unseen=unseen if len(unseen) else None,
                       roc_auc_interval=_interval_pair(intervals, "model", "roc_auc"))


def _interval_pair(intervals: dict, score: str, metric: str) -> tuple[float, float] | None:
    """(low, high) of one score's metric from the bootstrap intervals, or None when not computed."""
    iv = ((intervals.get("scores") or {}).get(score) or {}).get(metric) or {}
    return (iv["low"], iv["high"]) if iv.get("low") is not None and iv.get("high") is not None else None


def _span(ds: list) -> list[str] | None:
    return [str(min(ds)), str(max(ds))] if ds else None


def _backtest_cutoff(obs: ObservationSet, dates: list[date], config: TrainConfig, k: int, label: str, rows,
                     train_rows) -> dict | None:
    """One earlier cut-off, re-run as if it were the present: attribute screening, model choice and
    calibration use only dates whose labels closed before its test slice (None when too little data)."""
    s = time_split(dates, config, shift=k * config.backtest_step_months, blocks=config.backtest_blocks)
    if s is None:
        return None
    s_fit, s_test = train_rows(s.fit), rows(s.test)
    s_folds = [(train_rows(t), rows(v)) for t, v in s.folds]
    if s_fit[label].nunique() < 2 or s_test[label].nunique() < 2 or any(
            f[label].nunique() < 2 for pair in s_folds for f in pair):
        return None
    screened = screen_attributes(obs, s_fit, label)
    obs_k = _without(obs, screened)
    chosen = _select(obs_k, s_folds, config, label)[0]
    algo, params, scores = chosen.algorithm, chosen.params, chosen.scores
    model = CalibratedModel(base=_fit_candidate(algo, params, obs_k, s_fit, label, config),
                            calibrator=_calibrator_for(scores, s_folds, label, config)[0])
    yk = s_test[label].to_numpy()
    mk = classification_metrics(yk, model.predict_proba(s_test)[:, 1])
    hk = classification_metrics(yk, rule_score(s_test, config.target))
    return {**_backtest_row(s_test, mk, {m: hk[m] for m in ("roc_auc", "pr_auc", "top_decile_lift")}, label),
            "algorithm": algo, "params": params, "screened_out": screened,
            "selection_dates": _span([d for _, v in s.folds for d in v])}


def _fold_auc(folds, scores: list[np.ndarray], label: str) -> float:
    """Mean ROC-AUC over the rolling validation blocks."""
    aucs = [_auc(v[label], s) for (_, v), s in zip(folds, scores, strict=True)]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def _backtest_row(test: pd.DataFrame, metrics: dict, health: dict, label: str) -> dict:
    return {"test_start": str(min(test["obs_date"])), "test_end": str(max(test["obs_date"])),
            "n_test": int(len(test)), "positives": int(test[label].sum()),
            "model": metrics, "health_score": health}


def _trained(model, obs: ObservationSet, config: TrainConfig, algo: str, params: dict, base_rate: float,
             window, frame: pd.DataFrame) -> TrainedModel:
    medium, high = risk_thresholds(base_rate)
    medians = {c: float(np.nanmedian(frame[c])) for c in obs.numeric if frame[c].notna().any()}
    return TrainedModel(model=model, target=config.target, algorithm=algo, params=params,
                        numeric=list(obs.numeric), categorical=list(obs.categorical),
                        catalog={k: v for k, v in obs.catalog.items() if k in obs.features}, mode=obs.mode,
                        horizon_days=config.horizon_days, lead_days=config.lead_days, base_rate=base_rate,
                        risk_thresholds=(medium, high), training_window=window, feature_medians=medians)


# --------------------------------------------------------------------------- flat mode
def _inner_select(obs: ObservationSet, frame: pd.DataFrame, y: np.ndarray, config: TrainConfig) -> Candidate:
    """Inner CV over the candidates: the best, with its out-of-fold scores."""
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(config.inner_folds, int(y.sum()), int(len(y) - y.sum())))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.seed)
    folds = list(skf.split(frame, y))
    scored = []
    for algo, params in _candidates(config.algorithm):
        oof = np.zeros(len(y))
        for tr, te in folds:
            m = _fit(algo, params, obs, frame.iloc[tr], y[tr], config)
            oof[te] = m.decision_function(frame.iloc[te])
        scored.append(Candidate(_auc(y, oof), algo, params, oof))
    if config.algorithm == "auto":
        scored = _with_blend(scored, lambda a, b: (a + b) / 2, lambda scores: _auc(y, scores))
    best = None
    for c in scored:
        if best is None or c.auc > best.auc + 1e-12:
            best = c
    return best


def _fit_flat(obs: ObservationSet, frame: pd.DataFrame, y: np.ndarray, config: TrainConfig):
    best = _inner_select(obs, frame, y, config)
    algo, params, oof = best.algorithm, best.params, best.scores
    base = _fit(algo, params, obs, frame, y, config)
    cal, report = choose_calibrator(oof, y, seed=config.seed)
    return CalibratedModel(base=base, calibrator=cal), algo, params, report


def cross_validate(obs: ObservationSet, config: TrainConfig) -> tuple[np.ndarray, list[dict]]:
    """Nested stratified CV in flat mode: out-of-fold calibrated predictions and fold choices."""
    from sklearn.model_selection import StratifiedKFold

    frame = obs.labelled()
    y = frame["label_churn"].to_numpy(dtype=int)
    if y.sum() < config.cv_folds or len(y) - y.sum() < config.cv_folds:
        raise UserError(f"Too few churned (or retained) accounts for {config.cv_folds}-fold cross-validation.")
    skf = StratifiedKFold(n_splits=config.cv_folds, shuffle=True, random_state=config.seed)
    oof = np.zeros(len(y))
    choices = []
    for tr, te in skf.split(frame, y):
        model, algo, params, _ = _fit_flat(obs, frame.iloc[tr], y[tr], config)
        oof[te] = model.predict_proba(frame.iloc[te])[:, 1]
        choices.append({"algorithm": algo, "params": params})
    return oof, choices


def _train_flat(obs: ObservationSet, config: TrainConfig) -> TrainResult:
    frame = obs.labelled()
    y = frame["label_churn"].to_numpy(dtype=int)
    oof, choices = cross_validate(obs, config)
    metrics = classification_metrics(y, oof)
    model, algo, params, cal_report = _fit_flat(obs, frame, y, config)
    base_rate = float(y.mean())
    trained = _trained(model, obs, config, algo, params, base_rate, (None, None), frame)
    importance = global_importance(trained, frame)
    boot = uncertainty.bootstrap_metrics(y, {"model": oof}, frame["account_id"], pairs=[],
                                         draws=config.bootstrap_draws, seed=config.seed)
    details = {
        "intervals": uncertainty.to_json(boot),
        "importance": {"in_sample": True, "rows": int(min(len(frame), 3000)),
                       "on": "the labelled accounts, which the production model trained on (flat data has no "
                             "unseen rows)"},
        "folds": config.cv_folds, "fold_choices": choices,
        "calibration": {"method": model.calibrator.method, "cv_ece": cal_report},
        "reliability": reliability_curve(y, oof),
        "per_segment": per_segment(y, oof, frame["segment"]) if "segment" in frame else {},
        "health_score": {}, "backtest": [], "base_rate": base_rate, "risk_thresholds": list(trained.risk_thresholds),
    }
    predictions = pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "obs_date": "", "y_true": y, "p": oof})
    holdout = frame.assign(y_true=y, p=oof, rule_risk=health_risk(frame))
    return TrainResult(trained=trained, validation="cv", n_train=len(frame), n_test=len(frame),
                       positives_test=int(y.sum()), metrics=metrics, details=details,
                       global_importance=importance, predictions=predictions,
                       holdout=holdout, reference=frame.assign(y_true=y),
                       roc_auc_interval=_interval_pair(details["intervals"], "model", "roc_auc"))
