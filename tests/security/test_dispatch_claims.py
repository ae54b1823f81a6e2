"""Two dispatchers at once against a slow webhook receiver: every step is sent exactly once.

Before: a claim was stamped with the time its pass *started*, so while one dispatcher
worked through a long pass, the other took its in-flight step for one abandoned by a
dead dispatcher and failed it (it was delivered anyway, and a person retrying it would
send it twice). The stale window is shortened here (seconds instead of 15 minutes) so
that "a long pass" takes a few seconds.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
import types
from datetime import timedelta

import sqlalchemy as sa

from playbooks import create_playbook, list_outbox, trigger_bulk
from playbooks.store import steps
from tests.support.outbound_servers import LocalServer
from tests.support.workspaces import build_workspace, open_ws

STALE_SECONDS = 2.5
RECEIVER_DELAY = 0.4
N_STEPS = 24


def _open(ws_path: str):
    import playbooks.outbox as outbox

    outbox.STALE_AFTER = timedelta(seconds=STALE_SECONDS)
    return open_ws(ws_path, csai_webhook_allow_hosts="127.0.0.1")


def one_long_pass(ws_path: str, barrier, out) -> None:
    """Child process: one pass over every due step (what `cli.py playbooks dispatch` does)."""
    from playbooks import dispatch_due

    ws = _open(ws_path)
    barrier.wait(60)
    rep = dispatch_due(ws.engine, ws.settings)
    out.put(("long", rep.delivered, rep.stale, rep.failed))


def many_short_passes(ws_path: str, barrier, out) -> None:
    """Child process: a dispatcher started often (one step per pass) until the outbox is empty."""
    from playbooks import dispatch_due

    ws = _open(ws_path)
    barrier.wait(60)
    delivered = stale = failed = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rep = dispatch_due(ws.engine, ws.settings, limit=1)
        delivered, stale, failed = delivered + rep.delivered, stale + rep.stale, failed + rep.failed
        if rep.claimed == 0:
            with ws.engine.connect() as conn:
                left = conn.execute(sa.select(sa.func.count()).select_from(steps).where(
                    steps.c.status.in_(("pending", "retry", "sending")))).scalar_one()
            if not left:
                break
            time.sleep(0.05)
    out.put(("short", delivered, stale, failed))


def test_two_dispatchers_at_once_send_every_step_exactly_once(tmp_path, monkeypatch):
    # A page test (AppTest) earlier in the session leaves app.py as __main__, which spawn would re-run
    # in each child; the children need only this module, imported by name.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    server = LocalServer(body="ok", delay=RECEIVER_DELAY)
    try:
        ws = build_workspace(tmp_path / "ws", n=N_STEPS, csai_webhook_allow_hosts="127.0.0.1")
        pb = create_playbook(ws.engine, "manager", name="Slow CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url, "body": {"a": "{{ account.id }}"}}])
        ids = [f"A{i:04d}" for i in range(1, N_STEPS + 1)]
        assert len(trigger_bulk(ws.engine, ws.warehouse, pb.id, ids, actor="maya").created) == N_STEPS

        ctx = multiprocessing.get_context("spawn")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=fn, args=(str(ws.path), barrier, out)) for fn in (one_long_pass, many_short_passes)]
        for p in procs:
            p.start()
        results = {name: (delivered, stale, failed)
                   for name, delivered, stale, failed in (out.get(timeout=180) for _ in procs)}
        for p in procs:
            p.join(30)
            assert p.exitcode == 0

        assert results["long"][0] > 1 and results["short"][0] > 1, f"both dispatchers worked: {results}"
        assert sum(r[1] for r in results.values()) == 0, f"no in-flight step was taken for stale: {results}"
        outbox = list_outbox(ws.engine)
        assert set(outbox["status"]) == {"delivered"}, outbox[["id", "status", "last_error"]].to_string()
        sent = sorted(json.loads(r["body"])["a"] for r in server.requests)
        assert sent == ids, "each step sent exactly once"
        keys = [r["headers"]["Idempotency-Key"] for r in server.requests]
        assert len(set(keys)) == N_STEPS
    finally:
        server.stop()
