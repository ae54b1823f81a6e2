"""``cli.py playbooks``: run-due (rules then outbox, for cron after scoring), dispatch, list, outcomes,
export / apply (playbooks as YAML files under version control).

``export DIR`` writes ``DIR/<key>.yaml`` per playbook. ``apply FILE|DIR`` reads one file or
every ``*.yaml`` / ``*.yml`` in a folder, checks all of them as the form does (webhook
targets included) and only then creates or updates them by ``key``; one refused file
means nothing is written (exit 2 and the reason).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from data.errors import UserError
from data.workspace import open_workspace

EXPORT_FIELDS = ("key", "name", "purpose", "active", "driver_groups", "rule", "steps", "cooldown_days",
                 "holdout_pct", "horizon_days", "resources")


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
    exp = psub.add_parser("export", help="write one YAML file per playbook into DIR")
    exp.add_argument("dir", metavar="DIR")
    exp.set_defaults(func=_export)
    app = psub.add_parser("apply", help="create or update playbooks from a YAML file or a folder of them")
    app.add_argument("path", metavar="FILE|DIR")
    app.add_argument("--json", action="store_true")
    app.set_defaults(func=_apply)


def _run_due(args: argparse.Namespace) -> int:
    from playbooks import run_due  # deferred: import time (the CLI loads every command)

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
    from playbooks import dispatch_due  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    rep = dispatch_due(ws.engine, ws.settings)
    summary = {"steps_delivered": rep.delivered, "steps_failed": rep.attempts_failed, "steps_retrying": rep.retrying,
               "steps_held": rep.held, "messages": rep.errors[:20]}
    print(json.dumps(summary) if args.json else
          f"delivered {rep.delivered}, failed attempts {rep.attempts_failed}, held {rep.held}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from playbooks import list_playbooks  # deferred: import time (the CLI loads every command)

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
    from playbooks import outcomes_frame, playbook_outcomes  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    outcomes = playbook_outcomes(ws.engine, ws.warehouse)
    if args.json:
        print(outcomes_frame(outcomes).to_json(orient="records"))
    else:
        for o in outcomes:
            print(f"{o.playbook}: {o.statement}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from playbooks import list_playbooks  # deferred: import time (the CLI loads every command)
    from playbooks.definitions import KEY_RE, _slug  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for p in list_playbooks(ws.engine, include_inactive=True):
        doc = {name: getattr(p, name) for name in EXPORT_FIELDS}
        stem = p.key if KEY_RE.match(p.key) else _slug(p.key)
        (out / f"{stem}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))
        written += 1
    print(f"wrote {written} playbook file(s) to {out}")
    return 0


def _apply(args: argparse.Namespace) -> int:
    from playbooks import create_playbook, update_playbook  # deferred: import time (the CLI loads every command)
    from playbooks.definitions import (  # deferred: import time (the CLI loads every command)
        EDITABLE,
        PlaybookError,
        _slug,
        get_playbook_by_key,
        validate_definition,
    )

    path = Path(args.path)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise UserError(f"{path} holds no .yaml files; export some with `cli.py playbooks export {path}`.")
    elif path.is_file():
        files = [path]
    else:
        raise UserError(f"{path} does not exist; give a YAML file or a folder of them.")
    ws = open_workspace(args.workspace)
    allow = ws.settings.webhook_allow_hosts
    docs = []
    for file in files:
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise UserError(f"{file.name}: not a readable YAML file ({str(exc).splitlines()[0]}).") from None
        try:
            validate_definition(doc, allow)
        except PlaybookError as exc:
            raise PlaybookError(f"{file.name}: {exc}") from None
        key = doc.get("key") or _slug(doc["name"])
        docs.append((file, key, doc))
    keys = [key for _, key, _ in docs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise PlaybookError(f"More than one file defines the playbook key {', '.join(dupes)}; keep one.")
    created, updated = [], []
    for file, key, doc in docs:
        fields = {k: v for k, v in doc.items() if k in EDITABLE}
        existing = get_playbook_by_key(ws.engine, key)
        try:
            if existing is None:
                create_playbook(ws.engine, "cli", key=key, allow_hosts=allow, **fields)
                created.append(key)
            else:
                update_playbook(ws.engine, existing.id, "cli", allow_hosts=allow, **fields)
                updated.append(key)
        except PlaybookError as exc:
            raise PlaybookError(f"{file.name}: {exc}") from None
    if args.json:
        print(json.dumps({"created": created, "updated": updated}))
    else:
        print(f"created {len(created)}, updated {len(updated)} playbook(s)"
              + (f": {', '.join(created + updated)}" if created or updated else ""))
    return 0
