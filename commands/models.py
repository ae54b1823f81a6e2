"""``cli.py train | score | explain``: train, register and promote models; score; explain an account.

Stable interface (cron jobs and checks use it):

* ``train [--target churn|expansion] [--algorithm logreg|gbm|auto] [--horizon-days 90]
  [--lead-days 0] [--gap-days 30] [--cadence auto|monthly|weekly] [--allow-label-outliers]
  [--keep-column COL ...] [--promote] [--json] [--predictions-out FILE]`` - with ``--json`` one JSON
  object: model_id, target, algorithm, validation, n_train, n_test, positives_test (the churns, or
  expansions, the test figures rest on), metrics {roc_auc, pr_auc, brier, top_decile_lift, ece,
  oe_ratio, log_loss}, roc_auc_interval ([low, high] or null), history {cadence, labelled_dates,
  test_dates, purge_days, gap_days, accounts_held_out, data_end} (null in flat mode), intervals
  {scores: {model, rule}: {metric: {estimate, low, high}}, differences: {"model - rule": ...},
  draws, clusters, level}, excluded_features {column: why}, snapshot_features, leakage {ok,
  checked_rows, unverifiable, ...}, importance {in_sample, rows, on}, top_features [{feature,
  label, group, mean_abs_shap}]. ``--predictions-out`` writes held-out predictions as CSV
  (account_id, obs_date, y_true, p).
* ``score [--json] [--if-due]`` - score all active accounts with the production models (the rule
  health score without a production churn model; ``--json``: ``engine`` says which engine ran it). With
  ``--if-due`` only when ``CSAI_SCORE_SCHEDULE`` has a scheduled time since the latest scoring run
  (cron runs it every few minutes); otherwise it prints when the next run is and exits 0
  (``--json``: ``{"scored": false, "next_run": ISO time, "schedule": words}``).
* ``health-score [--json] [--out FILE]`` - the rule health score of every active account, least
  healthy first; needs no model (what works while the history is too short to train).
* ``explain ACCOUNT_ID [--json]`` - the account's latest score and drivers.
"""

from __future__ import annotations

import argparse
import json
import sys

from data import readmodel
from data.errors import UserError
from data.export import write_csv
from data.opstore import now
from data.portfolio import scoring_runs
from data.vocabulary import TARGETS
from data.workspace import open_workspace
from models.evaluation import clean_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a churn or expansion model (time-ordered validation) and register it")
    p.add_argument("--target", choices=TARGETS, default="churn")
    p.add_argument("--algorithm", choices=["logreg", "gbm", "auto"], default="auto")
    p.add_argument("--horizon-days", type=int, default=90, help="predict the outcome within this many days (default 90)")
    p.add_argument("--lead-days", type=int, default=0, help="days between the score date and the horizon (default 0)")
    p.add_argument("--gap-days", type=int, default=30,
                   help="a lapse in billing this short is a renewal, not churn (default 30); labels wait for it")
    p.add_argument("--cadence", choices=["auto", "monthly", "weekly"], default="auto",
                   help="observation dates: monthly, weekly, or auto (weekly when the history is short)")
    p.add_argument("--allow-label-outliers", action="store_true",
                   help="train although one observation date's churn rate is far from the others'")
    p.add_argument("--promote", action="store_true", help="make the new model the production model of its target")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--predictions-out", metavar="FILE", help="write held-out predictions to this CSV file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-column", action="append", default=[], metavar="COL",
                   help="use this account column although it looks like an outcome (status, churned, cancel date) "
                        "or, in time mode, is a custom attribute whose history is unknown (repeatable)")
    p.set_defaults(func=run_train)

    p = sub.add_parser("score", help="score every active account with the production models")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--if-due", action="store_true",
                   help="score only when CSAI_SCORE_SCHEDULE says a run is due (for cron, every few minutes)")
    p.set_defaults(func=run_score)

    p = sub.add_parser("health-score", help="rank active accounts by the rule health score (no model needed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="FILE", help="write every account's health score to this CSV file")
    p.set_defaults(func=run_health_score)

    p = sub.add_parser("explain", help="show an account's latest score and its drivers")
    p.add_argument("account_id")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_explain)


def _say(args):
    if args.json:
        return lambda msg: print(msg, file=sys.stderr, flush=True)
    return lambda msg: print(msg, flush=True)


def run_train(args: argparse.Namespace) -> int:
    from models.diagnostics.comparison import (
        uncertainty_sentence,  # deferred: import time (the CLI loads every command)
    )
    from models.observations import detect_mode  # deferred: import time (the CLI loads every command)
    from models.pipeline import train_and_register  # deferred: import time (the CLI loads every command)
    from models.training import TrainConfig, TrainConfigError  # deferred: import time (the CLI loads every command)

    config = TrainConfig(target=args.target, algorithm=args.algorithm, horizon_days=args.horizon_days,
                         lead_days=args.lead_days, gap_days=args.gap_days, cadence=args.cadence,
                         allow_label_outliers=args.allow_label_outliers, seed=args.seed,
                         keep_columns=tuple(args.keep_column))
    try:
        config.validate()
    except TrainConfigError as err:  # name the flag the person typed
        raise UserError(f"--{err.setting.replace('_', '-')}: {err}") from None
    ws = open_workspace(args.workspace)
    say = _say(args)
    if not ws.warehouse.has_data():
        raise UserError("The workspace has no data; run `cli.py demo` or import data first.")
    with ws.warehouse.reader() as con:
        window = "from the label column" if detect_mode(con) == "flat" else f"horizon {args.horizon_days} days"
    say(f"Training {'an' if args.target == 'expansion' else 'a'} {args.target} model ({args.algorithm}, {window})...")
    observations = None
    if (getattr(args, "engine", None) or ws.settings.spark.engine) == "spark":  # rows from Spark, fit here
        from models.spark_scoring import spark_observations  # deferred: import time (the CLI loads every command)

        observations = spark_observations(ws, horizon_days=args.horizon_days, lead_days=args.lead_days,
                                          gap_days=args.gap_days, cadence=args.cadence, say=say)
    record, result = train_and_register(ws, config, actor="cli", observations=observations,
                                        make_production=args.promote, say=say)
    if args.predictions_out:
        write_csv(result.predictions, args.predictions_out)
    if args.json:
        print(json.dumps(result.summary(record.id)))
    else:
        ev = result.evaluation
        say(f"Model {record.id} ({record.algorithm}, {ev.validation}): ROC-AUC {_f(ev.metric('roc_auc'))}, "
            f"PR-AUC {_f(ev.metric('pr_auc'))}, Brier {_f(ev.metric('brier'))}, top-decile lift "
            f"{_f(ev.metric('top_decile_lift'))}, ECE {_f(ev.metric('ece'))} on {ev.n_test or 0:,} held-out rows; "
            f"{result.seconds:.1f}s")
        say(uncertainty_sentence(record.target, ev.positives_test, ev.roc_auc_interval, ev.history))
        rows = ev.training_rows or {}
        if rows.get("accounts_total") and rows.get("accounts_observed", 0) < rows["accounts_total"]:
            say(f"Observed a fixed sample of {rows['accounts_observed']:,} of {rows['accounts_total']:,} accounts at "
                "every date (CSAI_TRAIN_MAX_ACCOUNTS); scoring covers every account.")
        if ev.leakage.get("unverifiable"):
            say("Leakage check: cannot be verified (account snapshot, value at export time): "
                + ", ".join(ev.leakage["unverifiable"]))
        say("Top features: " + ", ".join(f"{t['label']} ({t['group']})" for t in ev.top_features[:5]))
        say("Promoted to production." if args.promote else "Registered as a candidate; add --promote to use it.")
    return 0


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def run_score(args: argparse.Namespace) -> int:
    from models.scoring import score_workspace  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    if getattr(args, "if_due", False) and not _score_due(ws, args):
        return 0
    engine = "embedded"
    if (getattr(args, "engine", None) or ws.settings.spark.engine) == "spark":
        from models.spark_scoring import run_spark_score  # deferred: import time (the CLI loads every command)

        run = run_spark_score(ws, say=_say(args))
        engine = "embedded" if run.by_rules else "spark"  # the rule score runs on the embedded engine
    else:
        run = score_workspace(ws, say=_say(args))
    if args.json:
        print(json.dumps({**run.summary(), "engine": engine}))
    else:
        print(run.text())
    return 0


def run_health_score(args: argparse.Namespace) -> int:
    from models.scoring import rule_health_now  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    if not ws.warehouse.has_data():
        raise UserError("The workspace has no data; run `cli.py demo` or import data first.")
    with ws.warehouse.reader() as con:
        table = rule_health_now(con)
    if args.out:
        table.to_csv(args.out, index=False)
    obs_date = str(table["obs_date"].iloc[0])
    if args.json:
        print(json.dumps(clean_json({"obs_date": obs_date, "accounts": len(table),
                                     "least_healthy": table.head(20).astype({"obs_date": str}).to_dict("records")})))
        return 0
    print(f"Rule health score of {len(table):,} active accounts as of {obs_date} (0-100, higher is healthier); "
          "least healthy first:")
    for r in table.head(20).itertuples():
        print(f"  {r.account_id}: {r.health_score:.0f}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from models.scoring import account_explanation  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    e = account_explanation(ws.warehouse, args.account_id)
    if e is None:
        raise UserError(f"No score for account {args.account_id!r}; check the id, or run `cli.py score` first.")
    cols = ["feature", "label", "group", "value", "shap", "sentence", "rank"]
    out = clean_json({
        "account_id": e.account_id, "scored_at": e.scored_at.isoformat(timespec="seconds"),
        "obs_date": e.obs_date.isoformat() if e.obs_date else None, "model_id": e.model_id,
        "p_churn": e.p_churn, "risk_band": e.risk_band, "p_expansion": e.p_expansion, "arr": e.arr,
        "expected_arr_loss": e.expected_arr_loss, "health_score": e.health_score,
        "drivers": e.drivers[cols].to_dict("records"),
        "expansion_drivers": e.expansion_drivers[cols].to_dict("records"), "changes": e.changes,
    })
    out["score"] = readmodel.RULE_SCORE_NAME if readmodel.is_rule_score(e.model_id) else "churn probability"
    if args.json:
        print(json.dumps(out))
        return 0
    if readmodel.is_rule_score(e.model_id):
        health = "not known" if e.health_score is None else f"{e.health_score:.0f}/100"
        print(f"{e.account_id}: {readmodel.RULE_SCORE_NAME.lower()} {health} ({e.risk_band} risk) - scored "
              f"{out['scored_at']} without a model (a scorecard, not a probability)")
        for r in e.drivers.sort_values("rank").head(8).itertuples():
            print(f"  {r.rank:>2}. [{r.group}] {r.sentence} (costs {r.shap * 100:.0f} health points)")
        return 0
    print(f"{e.account_id}: churn risk {e.p_churn:.1%} ({e.risk_band})"
          + (f", expansion {e.p_expansion:.1%}" if e.p_expansion is not None else "")
          + (f", expected ARR loss ${e.expected_arr_loss:,.0f}" if e.expected_arr_loss is not None else "")
          + f" - scored {out['scored_at']} by {e.model_id}")
    for r in e.drivers.sort_values("rank").head(8).itertuples():
        arrow = "raises" if r.shap > 0 else "lowers"
        print(f"  {r.rank:>2}. [{r.group}] {r.sentence} ({arrow} risk, {r.shap:+.2f})")
    for c in e.changes:
        print(f"  * {c}")
    return 0


def _score_due(ws, args: argparse.Namespace) -> bool:
    """``score --if-due``: True when the schedule has a time since the latest run; else say when the next is."""
    schedule = ws.settings.score_schedule
    if schedule is None:
        raise UserError("No scoring schedule is set, so --if-due never scores: set CSAI_SCORE_SCHEDULE "
                        "(e.g. 'daily 06:00', in UTC), or run `cli.py score` without --if-due.")
    runs = []
    if ws.warehouse.has_data():
        with ws.warehouse.reader() as con:
            runs = scoring_runs(con)
    at = now()
    if schedule.is_due(runs[0] if runs else None, at):
        return True
    upcoming = schedule.next_run(at)
    if args.json:
        print(json.dumps({"scored": False, "next_run": upcoming.isoformat(), "schedule": schedule.describe()}))
    else:
        print(f"Not due: last scored {runs[0]:%Y-%m-%d %H:%M} UTC; next scheduled run {upcoming:%Y-%m-%d %H:%M} UTC "
              f"({schedule.describe()}).")
    return False
