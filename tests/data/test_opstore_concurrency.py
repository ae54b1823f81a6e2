"""Twenty-odd concurrent writers on one operational store (PostgreSQL, and SQLite for comparison).

Threads of one process stand for app sessions (notes, manual starts, bulk starts, a
``run-due`` and two dispatchers); separate processes run ``cli.py playbooks run-due`` and
``cli.py playbooks dispatch`` as cron would. Afterwards: every note is there, no
(playbook, account) has two runs, no webhook step reached the server twice, every due
step was delivered, and no writer saw an error (deadlock or otherwise).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

from data.notes import add_note
from playbooks import create_playbook, dispatch_due, run_due, trigger_bulk, trigger_manual
from playbooks.store import runs, steps
from tests.support.servers import RecordingServer
from tests.support.workspaces import build_workspace

ROOT = Path(__file__).resolve().parents[2]
NOTE_WRITERS, NOTES_EACH = 8, 10


def test_twenty_concurrent_writers_lose_nothing_and_duplicate_nothing(opstore_url, tmp_path):
    server = RecordingServer()
    try:
        ws = build_workspace(tmp_path / "ws", n=60, csai_database_url=opstore_url,
                             csai_webhook_allow_hosts="127.0.0.1")  # the test's own receiver on loopback
        allow = ws.settings.webhook_allow_hosts
        hook = create_playbook(ws.engine, "manager", name="Hook", allow_hosts=allow, steps=[
            {"type": "webhook", "url": server.url, "body": {"a": "{{ account.id }}", "pb": "hook"}},
            {"type": "task", "title": "Call {{ account.name }}", "due_days": 2}])
        create_playbook(ws.engine, "manager", name="Rule hook", rule={"risk_bands": ["high"]}, holdout_pct=20,
                        allow_hosts=allow, steps=[{"type": "webhook", "url": server.url, "body": {"a": "{{ account.id }}", "pb": "rule"}}])
        accounts = [f"A{i:04d}" for i in range(1, 61)]
        errors: list[str] = []
        barrier = threading.Barrier(18)

        def writer(fn):
            def body():
                barrier.wait(60)
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
                    errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
            return threading.Thread(target=body)

        def notes_of(k):
            def add_notes():
                for i in range(NOTES_EACH):
                    add_note(ws.engine, accounts[k], f"writer{k}", f"note {k}-{i}")
            return add_notes

        def manual(k):
            def start_manually():
                for account in accounts[:20]:
                    trigger_manual(ws.engine, ws.warehouse, hook.id, account, actor=f"csm{k}")
            return start_manually

        def bulk():
            result = trigger_bulk(ws.engine, ws.warehouse, hook.id, accounts[10:40], actor="manager")
            if result.errors:
                raise AssertionError(f"bulk start errors: {result.errors}")

        def due():
            run_due(ws.engine, ws.warehouse, ws.settings)

        def dispatch():
            for _ in range(3):
                dispatch_due(ws.engine, ws.settings)

        threads = ([writer(notes_of(k)) for k in range(NOTE_WRITERS)] + [writer(manual(k)) for k in range(5)]
                   + [writer(bulk) for _ in range(2)] + [writer(due)] + [writer(dispatch) for _ in range(2)])
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
        env["CSAI_DATABASE_URL"] = opstore_url
        env["CSAI_WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
        procs = [subprocess.Popen([sys.executable, "cli.py", "--workspace", str(ws.path), "playbooks", action],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for action in ("run-due", "run-due", "dispatch", "dispatch")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        outs = [p.communicate(timeout=300) for p in procs]
        assert errors == []
        for proc, (_out, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err
            assert "deadlock" not in err.lower() and "Traceback" not in err
        dispatch_due(ws.engine, ws.settings)  # whatever became due last

        with ws.engine.connect() as conn:
            bodies = [b for (b,) in conn.execute(sa.text("SELECT body FROM account_notes"))]
            run_keys = conn.execute(sa.select(runs.c.playbook_id, runs.c.account_id)).all()
            hooks = conn.execute(sa.select(steps.c.status, runs.c.holdout).join(runs, runs.c.id == steps.c.run_id)
                                 .where(steps.c.kind == "webhook")).all()
        assert sorted(bodies) == sorted(f"note {k}-{i}" for k in range(NOTE_WRITERS) for i in range(NOTES_EACH))
        assert [k for k, n in collections.Counter(run_keys).items() if n > 1] == []
        assert sum(1 for pb, _ in run_keys if pb == hook.id) == 40
        sent = collections.Counter((r["pb"], r["a"]) for r in server.requests)
        assert [k for k, n in sent.items() if n > 1] == [], "a step reached the server twice"
        delivered = [s for s, holdout in hooks if s == "delivered"]
        assert len(delivered) == len(server.requests) == sum(1 for _, holdout in hooks if not holdout)
        assert {a for pb, a in sent if pb == "hook"} == set(accounts[:40])
    finally:
        server.stop()
