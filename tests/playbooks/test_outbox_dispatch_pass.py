"""One dispatcher pass (``dispatch_due``): which due steps it takes and in what order, a limit at a
time; emails held while no mail server is set, without holding anything else; a step it listed but
another dispatcher took meanwhile; and a step whose delivery breaks unexpectedly (found by mutation
testing of ``playbooks/outbox.py``: these are the parts of a pass no other test pinned down)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from data.access import Viewer
from data.opstore import now, read_audit
from playbooks import alerts_for, create_playbook, dispatch_due, list_outbox, trigger_manual
from playbooks.store import steps
from tests.support.servers import RecordingServer

HELD = "No SMTP server configured (CSAI_SMTP_HOST); kept in the outbox."
STALE = ("The dispatcher stopped while sending, so it is unknown whether this was delivered; "
         "check with the recipient before retrying.")


def _start(ws, steps_: list[dict], account: str, name: str) -> list[int]:
    """Start a new playbook with ``steps_`` for ``account``; its outbox step ids in order."""
    pb = create_playbook(ws.engine, "manager", name=name, holdout_pct=0, allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=steps_)
    run = trigger_manual(ws.engine, ws.warehouse, pb.id, account, actor="manager")
    out = list_outbox(ws.engine)
    return sorted(int(i) for i in out[out["run_id"] == run.id]["id"])


def _rows(ws) -> dict[int, dict]:
    with ws.engine.connect() as conn:
        return {r["id"]: dict(r) for r in conn.execute(sa.select(steps)).mappings()}


def _audit(ws, step_id: int) -> list[tuple[str, str, dict]]:
    return [(a["actor"], a["action"], json.loads(a["detail"]) if a["detail"] else None)
            for a in reversed(read_audit(ws.engine)) if a["target"] == f"step:{step_id}"]


def _keys(server: RecordingServer) -> list[int]:
    """The step ids the server was asked to deliver, in the order the requests came."""
    return [int(h["Idempotency-Key"]) for h in server.headers]


def _pause_after_claim(monkeypatch, tmp_path):
    """The next claim in this process waits (``data.testhooks``) until the returned ``resume`` is called."""
    monkeypatch.setenv("CSAI_TEST_PAUSE_AT", "dispatch-claimed")
    monkeypatch.setenv("CSAI_TEST_PAUSE_DIR", str(tmp_path))
    monkeypatch.setenv("CSAI_TEST_PAUSE_TIMEOUT", "60")

    def wait_for_claim() -> None:
        deadline = time.monotonic() + 60
        while not (tmp_path / "dispatch-claimed.reached").exists():
            assert time.monotonic() < deadline, "the dispatcher never claimed a step"
            time.sleep(0.01)
        monkeypatch.delenv("CSAI_TEST_PAUSE_AT")  # nobody else in this process pauses

    def resume() -> None:
        (tmp_path / "dispatch-claimed.resume").write_text("")

    return wait_for_claim, resume


def test_a_pass_takes_due_steps_oldest_first_a_limit_at_a_time(ws):
    server = RecordingServer(fail_first=1, fail_status=503)  # the first request of all is answered 503
    try:
        hook = {"type": "webhook", "url": server.url}
        task = {"type": "task", "title": "Call", "due_days": 1}  # delivered when the run starts
        done, first, second, third = _start(ws, [task, hook, hook, hook], "A0001", "Call, then hooks")
        assert done < first < second < third and _rows(ws)[done]["status"] == "delivered"
        at = now().replace(microsecond=0) + timedelta(minutes=1)

        def one(when):
            report = dispatch_due(ws.engine, ws.settings, at=when, limit=1)
            return report.claimed, report.delivered, report.retrying

        assert one(at) == (1, 0, 1)  # the oldest due step, not the delivered task before it
        assert (_rows(ws)[first]["status"], _rows(ws)[first]["next_attempt_at"]) == ("retry", at + timedelta(minutes=1))
        assert one(at + timedelta(seconds=30)) == (1, 1, 0)  # the retry is not due yet: the next pending one is
        assert one(at + timedelta(minutes=1)) == (1, 1, 0)  # now the retry is due, and older than the third
        assert one(at + timedelta(minutes=1)) == (1, 1, 0)
        assert one(at + timedelta(days=1)) == (0, 0, 0)
        assert _keys(server) == [first, second, first, third]
        rows = _rows(ws)
        assert [(rows[i]["status"], rows[i]["attempts"]) for i in (first, second, third)] == [
            ("delivered", 2), ("delivered", 1), ("delivered", 1)]
        assert rows[first]["delivered_at"] == rows[third]["delivered_at"] == at + timedelta(minutes=1)
    finally:
        server.stop()


def test_without_a_mail_server_a_pass_holds_each_due_email_and_delivers_the_rest(ws, http_server):
    email = {"type": "email", "to": "ops@vendor.example", "subject": "{{ account.name }}", "body": "See the app."}
    first, hook, second = _start(ws, [email, {"type": "webhook", "url": http_server.url}, email], "A0001", "Mixed")
    at = now().replace(microsecond=0) + timedelta(minutes=1)
    report = dispatch_due(ws.engine, ws.settings, at=at, actor="cron")
    assert (report.held, report.claimed, report.delivered, report.failed, report.errors) == (2, 1, 1, 0, [])
    rows = _rows(ws)
    for step_id in (first, second):
        row = rows[step_id]
        assert (row["status"], row["result"], row["updated_at"], row["attempts"]) == ("held", HELD, at, 0)
        assert row["claim_token"] is None and row["claimed_at"] is None
        assert _audit(ws, step_id) == [("cron", "playbook.step.held", None)]
    assert (rows[hook]["status"], rows[hook]["attempts"], rows[hook]["delivered_at"]) == ("delivered", 1, at)
    assert _keys(http_server) == [hook]
    assert [(actor, action) for actor, action, _ in _audit(ws, hook)] == [("cron", "playbook.step.delivered")]
    again = dispatch_due(ws.engine, ws.settings, at=at + timedelta(hours=1))
    assert (again.held, again.claimed) == (0, 0)


def test_a_dispatcher_skips_the_steps_another_one_took_after_it_listed_them(ws, monkeypatch, tmp_path):
    """Dispatcher A lists four due steps and stops right after claiming the first; dispatcher B (limit 2)
    delivers the second and gets a 503 for the third meanwhile. A then sends its first, leaves the
    second (delivered) and the third (waiting for its retry), and still delivers the fourth."""
    ok, busy = RecordingServer(), RecordingServer(fail_first=1, fail_status=503)
    try:
        fine, slow = {"type": "webhook", "url": ok.url}, {"type": "webhook", "url": busy.url}
        s1, s2, s3, s4 = _start(ws, [fine, fine, slow, fine], "A0001", "Hooks")
        at = now().replace(microsecond=0) + timedelta(minutes=1)
        wait_for_claim, resume = _pause_after_claim(monkeypatch, tmp_path)
        reports = []
        a = threading.Thread(target=lambda: reports.append(dispatch_due(ws.engine, ws.settings, at=at, actor="a")))
        before = now()
        a.start()
        try:
            wait_for_claim()
            row = _rows(ws)[s1]  # what a claim writes
            assert (row["status"], row["attempts"], row["updated_at"]) == ("sending", 1, at)
            assert row["claim_token"] and before <= row["claimed_at"] <= now()
            b = dispatch_due(ws.engine, ws.settings, at=at, limit=2, actor="b")
            assert (b.claimed, b.delivered, b.retrying, b.failed, b.stale) == (2, 1, 1, 0, 0)
        finally:
            resume()
            a.join(60)
        (report,) = reports
        assert (report.claimed, report.delivered, report.retrying, report.failed, report.errors) == (2, 2, 0, 0, [])
        assert sorted(_keys(ok)) == sorted([s1, s2, s4]) and _keys(busy) == [s3]
        rows = _rows(ws)
        assert [(rows[i]["status"], rows[i]["attempts"]) for i in (s1, s2, s3, s4)] == [
            ("delivered", 1), ("delivered", 1), ("retry", 1), ("delivered", 1)]
        assert rows[s3]["next_attempt_at"] == at + timedelta(minutes=1)
        assert [rows[i]["claim_token"] for i in (s1, s2, s3, s4)] == [None] * 4  # every claim is given back
        delivered_by = {i: [actor for actor, action, _ in _audit(ws, i) if action == "playbook.step.delivered"]
                        for i in (s1, s2, s4)}
        assert delivered_by == {s1: ["a"], s2: ["b"], s4: ["a"]}
    finally:
        ok.stop()
        busy.stop()


def _damage(ws, step_id: int, **payload) -> None:
    """A row changed outside the app (the step editor validates what it saves)."""
    with ws.engine.begin() as conn:
        conn.execute(steps.update().where(steps.c.id == step_id).values(payload=json.dumps(payload)))


LONG = "x" * 300
BAD_TIMEOUT = "could not convert string to float: '" + LONG + "'"


def test_steps_that_break_unexpectedly_fail_each_with_what_broke_and_the_pass_goes_on(ws, http_server, caplog):
    hook = {"type": "webhook", "url": http_server.url}
    no_timeout, no_url, fine = _start(ws, [hook, hook, hook], "A0001", "Hooks")
    _damage(ws, no_timeout, url=http_server.url, timeout=LONG)
    _damage(ws, no_url, body={})
    at = now().replace(microsecond=0) + timedelta(minutes=1)
    with caplog.at_level(logging.ERROR, logger="playbooks.outbox"):
        report = dispatch_due(ws.engine, ws.settings, at=at, actor="cron")
    messages = {
        no_timeout: f"Unexpected error while delivering (ValueError: {BAD_TIMEOUT[:200]}); "
                    "fix the step or its data, then retry.",
        no_url: "Unexpected error while delivering (KeyError: 'url'); fix the step or its data, then retry."}
    assert (report.claimed, report.delivered, report.failed, report.retrying) == (3, 1, 2, 0)
    assert report.errors == [f"step {i}: {m}" for i, m in messages.items()]
    rows = _rows(ws)
    for step_id, message in messages.items():
        row = rows[step_id]
        assert (row["status"], row["last_error"], row["updated_at"], row["attempts"]) == ("failed", message, at, 1)
        assert row["claim_token"] is None and row["next_attempt_at"] is None
        assert _audit(ws, step_id)[:2] == [("cron", "playbook.step.failed", {"error": message, "next_attempt_at": None}),
                                           ("system", "playbook.step.failure_alert", _audit(ws, step_id)[1][2])]
    assert rows[fine]["status"] == "delivered" and _keys(http_server) == [fine]
    logged = [(r.getMessage(), r.exc_info[0]) for r in caplog.records if r.name == "playbooks.outbox"]
    assert logged == [(f"delivering step {no_timeout} failed unexpectedly", ValueError),
                      (f"delivering step {no_url} failed unexpectedly", KeyError)]
    maya = alerts_for(ws.engine, Viewer("maya", ("csm",), "Maya Patel"), warehouse=ws.warehouse)  # A0001's CSM
    assert sorted(m.split(": ", 1)[1][:59] for m in maya["message"]) == [
        f"step {n} (webhook) failed — Unexpected error while delivering" for n in (1, 2)]


@pytest.mark.parametrize("outcome", ["unexpected error", "permanent failure", "success"])
def test_an_outcome_that_arrives_after_the_claim_was_released_is_not_recorded(ws, monkeypatch, tmp_path, outcome):
    """A dispatcher claims a step and stalls; its claim goes stale and is released ("outcome unknown",
    for a person to decide). Whatever the stalled dispatcher then learns, the step stays as released."""
    server = RecordingServer(fail_first=1 if outcome == "permanent failure" else 0, fail_status=404)
    try:
        (step_id,) = _start(ws, [{"type": "webhook", "url": server.url}], "A0001", "Hook")
        if outcome == "unexpected error":
            _damage(ws, step_id, url=server.url, timeout=LONG)
        wait_for_claim, resume = _pause_after_claim(monkeypatch, tmp_path)
        reports = []
        stalled = threading.Thread(target=lambda: reports.append(dispatch_due(ws.engine, ws.settings)))
        stalled.start()
        try:
            wait_for_claim()
            later = now() + timedelta(minutes=16)
            assert dispatch_due(ws.engine, ws.settings, at=later).stale == 1
        finally:
            resume()
            stalled.join(60)
        (report,) = reports
        assert (report.claimed, report.failed, report.retrying) == (1, 0, 0)
        released = f"step {step_id}: the send took over 15 minutes and its claim was released, so this outcome was not " \
                   "recorded: "
        if outcome == "unexpected error":
            assert report.errors == [released + BAD_TIMEOUT] and server.requests == []
        elif outcome == "permanent failure":
            assert report.errors == [released + f"HTTP 404 Not Found from http://127.0.0.1:{server.server_address[1]}"]
        else:
            assert report.errors == [] and len(server.requests) == 1
        row = _rows(ws)[step_id]
        assert (row["status"], row["last_error"], row["updated_at"], row["attempts"]) == ("failed", STALE, later, 1)
        assert row["claim_token"] is None and row["delivered_at"] is None and row["result"] is None
        assert [action for _, action, _ in _audit(ws, step_id)] == ["playbook.step.stale", "playbook.step.failure_alert"]
    finally:
        server.stop()


def test_a_step_of_a_kind_this_version_does_not_know_fails_for_good_naming_it(ws, http_server):
    hook, other = _start(ws, [{"type": "webhook", "url": http_server.url}] * 2, "A0001", "Hooks")
    with ws.engine.begin() as conn:  # e.g. written by a newer version of the app
        conn.execute(steps.update().where(steps.c.id == hook).values(kind="sms"))
    at = now().replace(microsecond=0) + timedelta(minutes=1)
    report = dispatch_due(ws.engine, ws.settings, at=at)
    assert (report.claimed, report.delivered, report.failed, report.retrying) == (2, 1, 1, 0)
    assert report.errors == [f"step {hook}: Unknown step kind 'sms'"]
    rows = _rows(ws)
    assert (rows[hook]["status"], rows[hook]["last_error"], rows[hook]["next_attempt_at"]) == (
        "failed", "Unknown step kind 'sms'", None)
    assert rows[other]["status"] == "delivered" and _keys(http_server) == [other]
