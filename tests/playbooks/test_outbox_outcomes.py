"""How the outbox records the end of each attempt: the backoff between retries, the last attempt,
and a dispatcher that comes back after its claim was released (found by mutation testing of
``playbooks/outbox.py``: these are the outcomes no other test pinned down)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta

import pandas as pd

from data.access import SYSTEM, Viewer
from data.opstore import now, read_audit
from playbooks import alerts_for, create_playbook, dispatch_due, get_run, list_outbox, retry_step, trigger_manual
from playbooks.store import steps
from tests.support.servers import RecordingServer, free_port


def _hook_playbook(ws, url: str):
    pb = create_playbook(ws.engine, "manager", name="CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": url, "body": {"account": "{{ account.id }}"}}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0004", actor="maya")


def _audit(ws, step_id: int) -> list[dict]:
    """The audit rows about one step, oldest first."""
    return [a for a in reversed(read_audit(ws.engine)) if a["target"] == f"step:{step_id}"]


def _actions(ws, step_id: int) -> list[str]:
    return [a["action"] for a in _audit(ws, step_id)]


def test_retries_wait_one_two_four_eight_minutes_then_the_fifth_failure_is_final(ws):
    server = RecordingServer(fail_first=10, fail_status=503)
    try:
        _hook_playbook(ws, server.url)
        origin = f"http://127.0.0.1:{server.server_address[1]}"  # the message never shows the URL's path
        at = now().replace(microsecond=0)
        waits = []
        for attempt, wait in enumerate((1, 2, 4, 8), start=1):
            report = dispatch_due(ws.engine, ws.settings, at=at)
            assert (report.claimed, report.delivered, report.retrying, report.failed) == (1, 0, 1, 0)
            row = list_outbox(ws.engine).iloc[0]
            assert (row["status"], row["attempts"]) == ("retry", attempt)
            assert row["next_attempt_at"] == at + timedelta(minutes=wait), f"wait after attempt {attempt}"
            assert row["updated_at"] == at and row["last_error"] == f"HTTP 503 Service Unavailable from {origin}"
            nearly = row["next_attempt_at"] - timedelta(seconds=1)
            assert dispatch_due(ws.engine, ws.settings, at=nearly).claimed == 0, "not before the backoff ends"
            waits.append(row["next_attempt_at"])
            at = row["next_attempt_at"]  # due exactly when the backoff ends
        last = dispatch_due(ws.engine, ws.settings, at=at)
        assert (last.claimed, last.retrying, last.failed) == (1, 0, 1)
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 5, None)
        assert row["updated_at"] == at and "HTTP 503" in row["last_error"]
        assert dispatch_due(ws.engine, ws.settings, at=at + timedelta(days=1)).claimed == 0
        assert len(server.requests) == 5
        step_id = int(row["id"])
        assert [h["Idempotency-Key"] for h in server.headers] == [str(step_id)] * 5  # the receiver can dedupe
        rows = _audit(ws, step_id)
        assert [a["action"] for a in rows] == ["playbook.step.retry_scheduled"] * 4 + [
            "playbook.step.failed", "playbook.step.failure_alert"]
        assert [a["actor"] for a in rows[:5]] == ["dispatcher"] * 5
        details = [json.loads(a["detail"]) for a in rows[:5]]
        assert [d["error"] for d in details] == [f"HTTP 503 Service Unavailable from {origin}"] * 5
        assert [d["next_attempt_at"] for d in details] == [str(w) for w in waits] + [None]
        inbox = alerts_for(ws.engine, Viewer("jonas", ("csm",), csm="Jonas Weber"), warehouse=ws.warehouse)  # A0004's CSM
        assert len(inbox) == 1 and "HTTP 503" in inbox["message"].iloc[0]
        assert inbox["created_at"].iloc[0] == at
    finally:
        server.stop()


def test_a_dispatcher_whose_claim_was_released_never_overwrites_the_outcome(ws):
    """A dispatcher stalls mid-send; its claim goes stale, a person retries, a second dispatcher delivers.
    When the first one's late error arrives, the step stays delivered and nothing records that error."""
    gate = threading.Event()
    server = RecordingServer(fail_first=1, fail_status=503, hold_first=gate)
    try:
        _hook_playbook(ws, server.url)
        stalled: list = []
        first = threading.Thread(target=lambda: stalled.append(dispatch_due(ws.engine, ws.settings)))
        first.start()
        assert server.holding.wait(60), "the first request never arrived"
        step_id = int(list_outbox(ws.engine, status="sending")["id"].iloc[0])

        later = now() + timedelta(minutes=16)
        assert dispatch_due(ws.engine, ws.settings, at=later).stale == 1
        assert "unknown whether this was delivered" in list_outbox(ws.engine)["last_error"].iloc[0]
        retry_step(ws.engine, step_id, "admin")
        assert dispatch_due(ws.engine, ws.settings, at=later).delivered == 1

        gate.set()  # the stalled dispatcher now gets its 503
        first.join(60)
        assert not first.is_alive()
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["last_error"], row["next_attempt_at"]) == ("delivered", None, None)
        assert row["updated_at"] == row["delivered_at"] == later and row["attempts"] == 2
        assert row["result"] == "HTTP 200 OK"
        assert get_run(ws.engine, SYSTEM, int(row["run_id"])).status == "completed"  # its only step is done
        assert dispatch_due(ws.engine, ws.settings, at=later + timedelta(days=1)).claimed == 0
        assert len(server.requests) == 2
        actions = _actions(ws, step_id)
        assert actions[-1] == "playbook.step.delivered" and "playbook.step.retry_scheduled" not in actions
        delivered = _audit(ws, step_id)[-1]
        assert delivered["actor"] == "dispatcher"
        assert json.loads(delivered["detail"]) == {"kind": "webhook", "result": "HTTP 200 OK"}
        (report,) = stalled
        assert (report.claimed, report.retrying, report.failed) == (1, 0, 0)
        assert report.errors == [f"step {step_id}: the send took over 15 minutes and its claim was released, so this "
                                 "outcome was not recorded: HTTP 503 Service Unavailable from "
                                 f"http://127.0.0.1:{server.server_address[1]}"]
    finally:
        gate.set()
        server.stop()


def test_a_webhook_that_does_not_answer_within_its_timeout_is_retried(ws):
    gate = threading.Event()
    server = RecordingServer(hold_first=gate)
    try:
        pb = create_playbook(ws.engine, "manager", name="Slow CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url + "?token=s3cret", "timeout": 1}])
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0004", actor="maya")
        at = now()
        report = dispatch_due(ws.engine, ws.settings, at=at)
        assert (report.delivered, report.retrying) == (0, 1)
        row = list_outbox(ws.engine).iloc[0]
        assert row["status"] == "retry" and row["next_attempt_at"] == at + timedelta(minutes=1)
        assert row["last_error"] == f"No answer from http://127.0.0.1:{server.server_address[1]} within 1 s"
        gate.set()  # the receiver is back: the retry is delivered, and that is what the outbox and audit show
        then = at + timedelta(minutes=1)
        assert dispatch_due(ws.engine, ws.settings, at=then).delivered == 1
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["result"], row["last_error"], row["attempts"]) == ("delivered", "HTTP 200 OK", None, 2)
        assert row["delivered_at"] == row["updated_at"] == then
        assert get_run(ws.engine, SYSTEM, int(row["run_id"])).status == "completed"  # its only step is done
        (completed,) = read_audit(ws.engine, action="playbook.run.complete")
        assert (completed["actor"], completed["target"]) == ("dispatcher", f"run:{row['run_id']}")
        delivered = _audit(ws, int(row["id"]))[-1]
        assert (delivered["actor"], delivered["action"]) == ("dispatcher", "playbook.step.delivered")
        assert json.loads(delivered["detail"]) == {"kind": "webhook", "result": "HTTP 200 OK"}
        assert dispatch_due(ws.engine, ws.settings, at=then + timedelta(days=1)).claimed == 0
    finally:
        gate.set()
        server.stop()


def _hangs_up() -> tuple[socket.socket, threading.Thread]:
    """A TCP server on 127.0.0.1 that accepts one connection and closes it without an answer."""
    sock = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, thread


def test_each_delivery_failure_says_what_went_wrong_and_only_temporary_ones_retry(ws):
    plain = RecordingServer()
    moved = RecordingServer(fail_first=1, fail_status=300)
    bad = RecordingServer(fail_first=1, fail_status=400)
    busy = RecordingServer(fail_first=1, fail_status=429)
    hangup, hangup_thread = _hangs_up()
    closed = free_port()
    port, moved_port, hangup_port = plain.server_address[1], moved.server_address[1], hangup.getsockname()[1]
    cases = {  # account -> (url, status after one pass, the message a person reads)
        "A0001": (f"http://127.0.0.1:{closed}/hook", "retry", f"Could not connect to http://127.0.0.1:{closed}."),
        "A0002": (f"https://127.0.0.1:{port}/hook", "retry",
                  f"Could not verify the TLS certificate of https://127.0.0.1:{port}."),
        "A0003": ("http://csai-nowhere.invalid/hook?token=s3cret", "retry",
                  "Could not resolve the host of http://csai-nowhere.invalid; check the address."),
        "A0004": (f"http://127.0.0.1:{moved_port}/old", "failed", f"HTTP 300 Multiple Choices from "
                  f"http://127.0.0.1:{moved_port}: redirects are not followed; use the final address."),
        "A0005": (f"http://127.0.0.1:{hangup_port}/hook", "retry",
                  f"Could not reach http://127.0.0.1:{hangup_port}: ProtocolError"),
        "A0006": (f"http://127.0.0.2:{port}/hook", "failed", None),  # allowed when saved, not when sent
        "A0007": (f"{bad.url}?token=s3cret", "failed", f"HTTP 400 Bad Request from http://127.0.0.1:{bad.server_address[1]}"),
        "A0008": (busy.url, "retry", f"HTTP 429 Too Many Requests from http://127.0.0.1:{busy.server_address[1]}"),
    }
    try:
        for account, (url, _, _) in cases.items():
            pb = create_playbook(ws.engine, "manager", name=f"Hook {account}", allow_hosts=("127.0.0.1", "127.0.0.2"),
                                 steps=[{"type": "webhook", "url": url, "timeout": 5}])
            trigger_manual(ws.engine, ws.warehouse, pb.id, account, actor="maya")
        report = dispatch_due(ws.engine, ws.settings)
        assert (report.claimed, report.delivered, report.retrying, report.failed) == (8, 0, 5, 3)
        outbox = list_outbox(ws.engine).set_index("account_id")
        assert sorted(report.errors) == sorted(f"step {outbox.loc[a, 'id']}: {outbox.loc[a, 'last_error']}"
                                               for a in cases)
        for account, (_, status, message) in cases.items():
            row = outbox.loc[account]
            assert row["status"] == status, account
            if message is not None:
                assert row["last_error"] == message, account
        refused = outbox.loc["A0006", "last_error"]
        assert refused.startswith("Refused: ") and "127.0.0.2" in refused and "CSAI_WEBHOOK_ALLOW_HOSTS" in refused
        assert plain.requests == [] and len(moved.requests) == len(bad.requests) == len(busy.requests) == 1
        hangup_thread.join(10)
    finally:
        for server in (plain, moved, bad, busy):
            server.stop()
        hangup.close()


STALE_MESSAGE = ("The dispatcher stopped while sending, so it is unknown whether this was delivered; "
                 "check with the recipient before retrying.")


def test_only_claims_older_than_fifteen_minutes_are_released_and_each_is_reported(ws, http_server):
    """Dispatchers that died mid-send left four steps in ``sending``; a pass at ``at`` releases only the
    two claimed more than 15 minutes before, each with its own audit entry and an alert to the CSM."""
    pb = create_playbook(ws.engine, "manager", name="Hook", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": http_server.url}])
    at = now().replace(microsecond=0)
    claimed = {"A0001": at - timedelta(hours=1), "A0002": at - timedelta(minutes=15, seconds=1),
               "A0003": at - timedelta(minutes=15), "A0004": at - timedelta(minutes=1)}
    for account in claimed:
        trigger_manual(ws.engine, ws.warehouse, pb.id, account, actor="maya")
    ids = list_outbox(ws.engine).set_index("account_id")["id"]
    with ws.engine.begin() as conn:  # what each dead dispatcher left behind
        for account, when in claimed.items():
            conn.execute(steps.update().where(steps.c.id == int(ids[account])).values(
                status="sending", claimed_at=when, claim_token=f"dead-{account}", attempts=1))
    report = dispatch_due(ws.engine, ws.settings, at=at)
    assert (report.stale, report.claimed, report.delivered) == (2, 0, 0) and http_server.requests == []
    outbox = list_outbox(ws.engine).set_index("account_id")
    assert outbox["status"].to_dict() == {"A0001": "failed", "A0002": "failed", "A0003": "sending",
                                          "A0004": "sending"}
    for account in ("A0001", "A0002"):
        row = outbox.loc[account]
        assert (row["last_error"], row["updated_at"]) == (STALE_MESSAGE, at)
        step_id = int(ids[account])
        rows = _audit(ws, step_id)
        assert [(a["actor"], a["action"]) for a in rows] == [("dispatcher", "playbook.step.stale"),
                                                             ("system", "playbook.step.failure_alert")]
    for account in ("A0003", "A0004"):
        assert pd.isna(outbox.loc[account, "last_error"]) and _audit(ws, int(ids[account])) == []
    inbox = alerts_for(ws.engine, Viewer("maya", ("csm",), csm="Maya Patel"), warehouse=ws.warehouse)  # A0001's CSM
    assert len(inbox) == 1 and STALE_MESSAGE in inbox["message"].iloc[0] and inbox["created_at"].iloc[0] == at
    # a day later the other two are past 15 minutes as well; still nothing is sent again
    assert dispatch_due(ws.engine, ws.settings, at=at + timedelta(days=1)).stale == 2
    assert http_server.requests == []


def test_a_late_error_after_release_does_not_queue_the_step_again(ws):
    """Released as "outcome unknown", the step waits for a person; the stalled dispatcher's late error
    must not turn it into an automatic retry."""
    gate = threading.Event()
    server = RecordingServer(fail_first=1, fail_status=503, hold_first=gate)
    try:
        _hook_playbook(ws, server.url)
        first = threading.Thread(target=dispatch_due, args=(ws.engine, ws.settings))
        first.start()
        assert server.holding.wait(60), "the first request never arrived"
        later = now() + timedelta(minutes=16)
        assert dispatch_due(ws.engine, ws.settings, at=later).stale == 1
        gate.set()
        first.join(60)
        row = list_outbox(ws.engine).iloc[0]
        assert (row["status"], row["last_error"], row["next_attempt_at"]) == ("failed", STALE_MESSAGE, None)
        assert dispatch_due(ws.engine, ws.settings, at=later + timedelta(days=1)).claimed == 0
        assert len(server.requests) == 1
    finally:
        gate.set()
        server.stop()


def test_a_held_email_stays_held_once_until_a_mail_server_is_set(ws):
    pb = create_playbook(ws.engine, "manager", name="Internal mail", steps=[
        {"type": "email", "to": "ops@vendor.example", "subject": "{{ account.name }} at risk", "body": "See app."}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya")
    at = now().replace(microsecond=0)
    assert dispatch_due(ws.engine, ws.settings, at=at).held == 1
    later = dispatch_due(ws.engine, ws.settings, at=at + timedelta(hours=1))
    assert (later.held, later.claimed) == (0, 0), "a held email is not held again on every pass"
    row = list_outbox(ws.engine).iloc[0]
    assert (row["status"], row["updated_at"]) == ("held", at)
    assert _actions(ws, int(row["id"])) == ["playbook.step.held"]
