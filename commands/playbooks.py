"""``cli.py playbooks``: run-due (rules then outbox, for cron after scoring), dispatch, list, outcomes."""

from __future__ import annotations

import argparse
import json

from data.workspace import open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("playbooks", help="evaluate playbook rules and deliver their steps")
    psub = p.add_subparsers(dest="playbooks_command", required=True, metavar="ACTION")
    due = psub.add_parser("run-due", help="enroll accounts that match rule playbooks, then deliver due steps")
    due.add_argument("--json", action="store_true", help="print one JSON object")
    due.set_defaults(func=_run_due)
    disp = psub.add_parser("dispatch", help="deliver due outbox steps only (emails, webhooks, retries)")
    disp.add_argument("--json", action="store_true")
    disp.set_defaults(func=_dispatch)
    ls = psub.add_parser("list", help="list playbooks")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    out = psub.add_parser("outcomes", help="treated vs holdout churn and expansion per playbook")
    out.add_argument("--json", action="store_true")
    out.set_defaults(func=_outcomes)


def _run_due(args: argparse.Namespace) -> int:
    from playbooks import run_due

    ws = open_workspace(args.workspace)
    summary = run_due(ws.engine, ws.warehouse, ws.settings)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(f"runs created: {summary['runs_created']} ({summary['holdout']} holdout), "
              f"steps delivered: {summary['steps_delivered']}, failed attempts: {summary['steps_failed']}, "
              f"emails held (no SMTP host): {summary['steps_held']}, "
              f"skipped (nobody to act for): {summary['skipped_no_recipient']}")
        for msg in summary["messages"]:
            print(f"  {msg}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    from playbooks import dispatch_due

    ws = open_workspace(args.workspace)
    rep = dispatch_due(ws.engine, ws.settings)
    summary = {"steps_delivered": rep.delivered, "steps_failed": rep.attempts_failed, "steps_retrying": rep.retrying,
               "steps_held": rep.held, "messages": rep.errors[:20]}
    print(json.dumps(summary) if args.json else
          f"delivered {rep.delivered}, failed attempts {rep.attempts_failed}, held {rep.held}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from playbooks import list_playbooks

    ws = open_workspace(args.workspace)
    pbs = list_playbooks(ws.engine, include_inactive=True)
    if args.json:
        print(json.dumps([{"id": p.id, "key": p.key, "name": p.name, "active": p.active, "rule": p.rule,
                           "holdout_pct": p.holdout_pct, "cooldown_days": p.cooldown_days,
                           "steps": [s["type"] for s in p.steps]} for p in pbs]))
    else:
        for p in pbs:
            trigger = "rule " + json.dumps(p.rule) if p.rule else "manual"
            print(f"{p.id:>3}  {'active  ' if p.active else 'inactive'}  {p.name}  [{trigger}, "
                  f"holdout {p.holdout_pct:g} %, cooldown {p.cooldown_days} d]")
    return 0


def _outcomes(args: argparse.Namespace) -> int:
    from playbooks import outcomes_frame, playbook_outcomes

    ws = open_workspace(args.workspace)
    outcomes = playbook_outcomes(ws.engine, ws.warehouse)
    if args.json:
        print(outcomes_frame(outcomes).to_json(orient="records"))
    else:
        for o in outcomes:
            print(f"{o.playbook}: {o.statement}")
    return 0
