"""Never send twice across processes: a dispatcher paused right after claiming a step (test hook
``CSAI_TEST_PAUSE_AT=dispatch-claimed``) keeps it, while a second ``cli.py playbooks dispatch`` runs a
full pass; on SQLite and on PostgreSQL (``CSAI_DATABASE_URL``).

(tests/security/test_dispatch_claims.py races two dispatchers freely on SQLite; here the interleaving
is forced, so the claimed-but-not-yet-sent window is hit every time.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from playbooks import create_playbook, list_outbox, trigger_bulk
from playbooks.store import steps
from tests.support.cli import ROOT
from tests.support.servers import RecordingServer
from tests.support.workspaces import build_workspace

ACCOUNTS = ["A0001", "A0002", "A0003"]


def _dispatch_cmd(ws_path) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws_path), "playbooks", "dispatch", "--json"]


def _never_send_twice(tmp_path, env: dict[str, str]) -> None:
    server = RecordingServer()
    try:
        ws = build_workspace(tmp_path / "ws", n=len(ACCOUNTS), **env)
        pb = create_playbook(ws.engine, "manager", name="CRM note", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url, "body": {"account": "{{ account.id }}"}}])
        assert len(trigger_bulk(ws.engine, ws.warehouse, pb.id, ACCOUNTS, actor="maya").created) == 3
        child_env = {**os.environ, **{k.upper(): v for k, v in env.items()}}
        paused = subprocess.Popen(_dispatch_cmd(ws.path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env={**child_env, "CSAI_TEST_PAUSE_AT": "dispatch-claimed",
                                                  "CSAI_TEST_PAUSE_DIR": str(tmp_path)})
        try:
            reached = tmp_path / "dispatch-claimed.reached"
            deadline = time.monotonic() + 120
            while not reached.exists() and paused.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert reached.exists(), paused.communicate()[1] if paused.poll() is not None else "no claim in 120 s"
            with ws.engine.connect() as conn:
                claimed = conn.execute(sa.select(steps.c.id).where(steps.c.status == "sending")).scalars().all()
            assert len(claimed) == 1

            # a second dispatcher runs a whole pass meanwhile: it sends the other two, never the claimed one
            other = subprocess.run(_dispatch_cmd(ws.path), cwd=ROOT, capture_output=True, text=True, timeout=120,
                                   env=child_env)
            assert other.returncode == 0, other.stderr
            assert json.loads(other.stdout)["steps_delivered"] == 2
            assert len(server.requests) == 2

            (tmp_path / "dispatch-claimed.resume").write_text("")
            out, err = paused.communicate(timeout=120)
        finally:
            if paused.poll() is None:
                paused.kill()
                paused.wait()
        assert paused.returncode == 0, err
        assert json.loads(out)["steps_delivered"] == 1
        assert sorted(r["account"] for r in server.requests) == ACCOUNTS  # each account exactly once
        box = list_outbox(ws.engine)
        assert set(box["status"]) == {"delivered"} and len(box) == 3
        with ws.engine.connect() as conn:
            assert conn.execute(sa.select(steps.c.attempts)).scalars().all() == [1, 1, 1]
        ws.engine.dispose()
    finally:
        server.stop()


def test_a_claimed_step_is_never_sent_by_a_second_dispatcher_on_sqlite(tmp_path):
    _never_send_twice(tmp_path, {"csai_webhook_allow_hosts": "127.0.0.1"})


def test_a_claimed_step_is_never_sent_by_a_second_dispatcher_on_postgres(tmp_path, postgres_url):
    name = f"ops_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
        _never_send_twice(tmp_path, {"csai_webhook_allow_hosts": "127.0.0.1", "csai_database_url": url})
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("point", ["dispatch-claimed", "import-write"])
def test_the_pause_hook_is_inert_unless_asked(point, tmp_path, monkeypatch):
    from data.testhooks import POINTS, pause_point

    assert point in POINTS
    monkeypatch.delenv("CSAI_TEST_PAUSE_AT", raising=False)
    monkeypatch.setenv("CSAI_TEST_PAUSE_DIR", str(tmp_path))
    pause_point(point)
    assert not list(tmp_path.iterdir())
