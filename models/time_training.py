"""Time mode: train on earlier observation dates, choose and calibrate on rolling blocks, test on the latest.

The recipe is stated in :mod:`models.training`'s docstring. :func:`train_time` runs it on one
:class:`~models.observations.ObservationSet`; :func:`backtest_cutoff` repeats it for an earlier
cut-off; :func:`screen_attributes` drops firmographic attributes with no account-level link to
the outcome before any candidate is fitted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, mannwhitneyu

from data.errors import UserError
from models import uncertainty
from models.calibration import CalibratedModel
from models.candidates import calibrator_for, fit_candidate, label_column, roc_auc_or_nan, select_candidates
from models.evaluation import classification_metrics, per_segment, reliability_curve
from models.explain import global_importance
from models.health_score import health_risk
from models.history import MIN_LABELLED_WEEKS, WEEKLY, too_short_message
from models.model_evaluation import BacktestCutoff, Calibration, ModelEvaluation, interval_bounds
from models.observations import ObservationSet, check_label_rates
from models.progress import progress
from models.split_choice import SHORT_TEST_SHARE, choose_split, sized_config, split_rows
from models.splits import purge_gap, rolling_folds, time_split
from models.train_config import TrainConfig
from models.trained import TrainResult, trained_model


def screen_attributes(obs: ObservationSet, frame: pd.DataFrame, label: str, *, alpha: float = 0.01) -> list[str]:
    """Firmographic attributes with no account-level association with the label (to be dropped).

    Observation rows repeat each account many times, so a static attribute (industry,
    lead source, ...) lets trees memorise which accounts churned. Each attribute is tested
    once per account (did the account ever have a positive label in ``frame``): chi-square
    for categories, Mann-Whitney for numbers; p >= ``alpha`` means no evidence of an effect.
    """
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


def without_features(obs: ObservationSet, dropped: list[str]) -> ObservationSet:
    """The observation set without the ``dropped`` features."""
    if not dropped:
        return obs
    return replace(obs, numeric=[c for c in obs.numeric if c not in dropped],
                   categorical=[c for c in obs.categorical if c not in dropped])


def rule_score(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The rule health score read as a score for ``target``: risk (100 - health) for churn,
    health itself for expansion (healthier accounts first), on a 0-1 scale."""
    risk = health_risk(frame)
    return risk if target == "churn" else 1.0 - risk



def train_time(obs: ObservationSet, config: TrainConfig, say) -> TrainResult:
    """Train and evaluate on observation dates (the recipe in :mod:`models.training`)."""
    label = label_column(config)
    labelled = obs.labelled()
    dates = sorted(labelled["obs_date"].unique())
    if obs.cadence == WEEKLY and len(dates) < MIN_LABELLED_WEEKS and obs.schedule is not None:
        raise UserError(too_short_message(obs.schedule, horizon_days=config.horizon_days,
                                          lead_days=config.lead_days, gap_days=obs.gap_days))
    config = sized_config(config, len(dates), obs.cadence)
    split = choose_split(dates, config)
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
    split, fit_rows, test, folds, train_rows, rows = split_rows(labelled, dates, split, label, config, say)
    od = labelled["obs_date"]
    eligible_obs = obs
    screened = screen_attributes(eligible_obs, fit_rows, label)
    if screened:
        say(progress("split", f"  left out attributes with no link to the outcome: {', '.join(screened)}"))
    obs = without_features(eligible_obs, screened)
    scored = select_candidates(obs, folds, config, label)
    best = scored[0]
    best_auc, algo, params, best_scores = best.auc, best.algorithm, best.params, best.scores
    for c in scored:
        say(progress("model_choice", f"    {c.algorithm} {c.params}: validation AUC " + ", ".join(
            f"{roc_auc_or_nan(v[label], sc):.3f}" for (_, v), sc in zip(folds, c.scores, strict=True)), within=0.9))
    say(progress("model_choice", f"  chose {algo} {params} (mean AUC {best_auc:.3f} over {len(folds)} rolling "
                                 "validation blocks)"))

    window_fits: dict = {}  # fits on the whole window, shared by test model and comparison

    # The tested model learns from every row before the purge gap and is calibrated on the
    # rolling blocks' out-of-sample scores.
    chosen_calibration = calibrator_for(best_scores, folds, label, config)
    cal, cal_report = chosen_calibration.calibrator, chosen_calibration.report
    model = CalibratedModel(base=fit_candidate(algo, params, obs, fit_rows, label, config, window_fits),
                            calibrator=cal)
    y_test = test[label].to_numpy()
    p_test = model.predict_proba(test)[:, 1]
    metrics = classification_metrics(y_test, p_test)

    comparison = {}
    for a in ("logreg", "gbm", "blend"):
        mine = next((c for c in scored if c.algorithm == a), None)  # the best of this algorithm
        if mine is not None:
            other = model if a == algo else CalibratedModel(
                base=fit_candidate(a, mine.params, obs, fit_rows, label, config, window_fits),
                calibrator=calibrator_for(mine.scores, folds, label, config).calibrator)
            comparison[a] = {**classification_metrics(y_test, other.predict_proba(test)[:, 1]),
                             "params": mine.params, "validation_auc": mine.auc}
    rule = rule_score(test, config.target)
    health = {k: v for k, v in classification_metrics(y_test, rule).items() if k in ("roc_auc", "pr_auc",
                                                                                       "top_decile_lift")}
    health["reads_as"] = "risk" if config.target == "churn" else "health"
    boot = uncertainty.bootstrap_metrics(y_test, {"model": p_test, "rule": rule}, test["account_id"],
                                         pairs=[("model", "rule")], draws=config.bootstrap_draws, seed=config.seed)
    intervals = uncertainty.to_json(boot)
    backtest = [backtest_row(test, metrics, health, label, algorithm=algo, params=params, screened_out=screened,
                             selection_dates=_span([d for _, v in split.folds for d in v]))]
    for k in range(1, 1 if split.short else config.backtest_cutoffs):
        row = backtest_cutoff(eligible_obs, dates, config, k, label, rows, train_rows)
        if row is None:
            break
        backtest.append(row)

    # Production: the same recipe on every labelled date (calibrated on its latest blocks).
    final_folds = [(train_rows(t), rows(v)) for t, v in rolling_folds(dates, purge_gap(config), config.validation_blocks,
                                                                        config.calib_months)]
    final_folds = [(t, v) for t, v in final_folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if final_folds:
        final_scores = [fit_candidate(algo, params, obs, t, label, config).decision_function(v)
                        for t, v in final_folds]
        final_model = CalibratedModel(base=fit_candidate(algo, params, obs, train_rows(dates), label, config),
                                      calibrator=calibrator_for(final_scores, final_folds, label, config).calibrator)
    elif split.short:  # every account and date, calibrated like the tested model
        final_model = CalibratedModel(base=fit_candidate(algo, params, obs, train_rows(dates), label, config),
                                      calibrator=cal)
    else:
        final_model = model
    say(progress("evaluation", f"  trained and evaluated in {len(backtest)} cut-offs"))

    base_rate = float(labelled[label].mean())
    trained = trained_model(final_model, obs, config, algo, params, base_rate,
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
        tested = trained_model(model, obs, config, algo, params, base_rate, (None, None), fit_rows)
        importance = global_importance(tested, test)
        importance_info = {"in_sample": False, "rows": int(min(len(test), 3000)),
                           "on": "the held-out test rows, with the model trained before them"}
    val_dates = [d for _, v in split.folds for d in v]
    evaluation = ModelEvaluation(
        validation="time-split", metrics=metrics, n_train=len(fit_rows), n_test=len(test),
        positives_test=int(y_test.sum()), roc_auc_interval=interval_bounds(intervals),
        horizon_days=config.horizon_days, lead_days=config.lead_days,
        train_dates=[str(min(split.fit)), str(max(split.fit))],
        calibration_dates=[str(min(val_dates)), str(max(val_dates))],
        validation_blocks=[[str(v[0]), str(v[-1])] for _, v in split.folds],
        test_dates=[str(min(split.test)), str(max(split.test))],
        calibration=Calibration.from_json({"method": model.calibrator.method, "cv_ece": cal_report,
                                           "reliability": reliability_curve(y_test, p_test)}),
        per_segment=per_segment(y_test, p_test, test["segment"]) if "segment" in test else {},
        comparison=comparison, rule_score=health, backtest=backtest,
        intervals=intervals, importance=importance_info,
        base_rate=base_rate, risk_thresholds=list(trained.risk_thresholds),
        screened_out=screened,
        history={"cadence": obs.cadence, "labelled_dates": len(dates), "test_dates": len(split.test),
                 "purge_days": split.purge_days, "gap_days": config.gap_days,
                 "accounts_held_out": SHORT_TEST_SHARE if split.short else None,
                 "data_end": str(obs.data_end) if obs.data_end else None},
        label_rates=rates.to_json(),
        training_rows={"used": int(len(fit_rows)), "available": int(od.isin(split.fit).sum()),
                       "max_train_rows": config.max_train_rows, "accounts_observed": obs.accounts_observed,
                       "accounts_total": obs.accounts_total},
    )
    predictions = pd.DataFrame({"account_id": test["account_id"].to_numpy(),
                                "obs_date": test["obs_date"].astype(str).to_numpy(),
                                "y_true": y_test, "p": p_test})
    holdout = test.assign(y_true=y_test, p=p_test, rule_risk=rule)
    return TrainResult(trained=trained, evaluation=evaluation, global_importance=importance,
                       predictions=predictions, holdout=holdout,
                       reference=labelled.assign(y_true=labelled[label].to_numpy()),
                       unseen=unseen if len(unseen) else None)


def _span(ds: list) -> list[str] | None:
    return [str(min(ds)), str(max(ds))] if ds else None


def backtest_cutoff(obs: ObservationSet, dates: list[date], config: TrainConfig, k: int, label: str, rows,
                    train_rows) -> BacktestCutoff | None:
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
    obs_k = without_features(obs, screened)
    chosen = select_candidates(obs_k, s_folds, config, label)[0]
    algo, params, scores = chosen.algorithm, chosen.params, chosen.scores
    model = CalibratedModel(base=fit_candidate(algo, params, obs_k, s_fit, label, config),
                            calibrator=calibrator_for(scores, s_folds, label, config).calibrator)
    yk = s_test[label].to_numpy()
    mk = classification_metrics(yk, model.predict_proba(s_test)[:, 1])
    hk = classification_metrics(yk, rule_score(s_test, config.target))
    return backtest_row(s_test, mk, {m: hk[m] for m in ("roc_auc", "pr_auc", "top_decile_lift")}, label,
                        algorithm=algo, params=params, screened_out=screened,
                        selection_dates=_span([d for _, v in s.folds for d in v]))



def backtest_row(test: pd.DataFrame, metrics: dict, rule: dict, label: str, *, algorithm: str, params: dict,
                 screened_out: list[str], selection_dates: list[str] | None) -> BacktestCutoff:
    """One backtest cut-off's figures on its test slice ``test``."""
    return BacktestCutoff(test_start=str(min(test["obs_date"])), test_end=str(max(test["obs_date"])),
                          n_test=int(len(test)), positives=int(test[label].sum()), model=metrics, rule_score=rule,
                          algorithm=algorithm, params=params, screened_out=screened_out,
                          selection_dates=selection_dates)
