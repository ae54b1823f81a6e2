"""A line break in a mail header (from an imported account name) must not crash the dispatcher.

Before: the CR/LF reached ``EmailMessage``, the exception escaped ``dispatch_due``, the
step stayed "sending" and the steps after it in the pass were never tried.
"""

from __future__ import annotations

import json
import re
import tempfile
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from data.settings import load_settings
from playbooks import create_playbook, dispatch_due, list_outbox, trigger_manual
from playbooks.outbox import send_email
from playbooks.store import steps
from tests.support.outbound_servers import LocalServer, SmtpRecorder
from tests.support.workspaces import build_workspace

EVIL_NAME = "Evil Corp\r\nBcc: attacker@evil.example\r\n\r\nInjected body"


@pytest.fixture()
def smtp_server():
    server = SmtpRecorder()
    try:
        yield server
    finally:
        server.stop()


def _rename_account(ws, account_id: str, name: str) -> None:
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE accounts SET name = ? WHERE account_id = ?", [name, account_id])


def test_newline_in_an_account_name_is_stripped_from_the_subject_and_all_steps_are_sent(tmp_path, smtp_server):
    ws = build_workspace(tmp_path / "ws", n=3, csai_smtp_host="127.0.0.1", csai_smtp_port=str(smtp_server.port))
    _rename_account(ws, "A0001", EVIL_NAME)
    pb = create_playbook(ws.engine, "manager", name="Escalate", steps=[
        {"type": "email", "to": "ops@vendor.example", "subject": "{{ account.name }} needs a call",
         "body": "See the app."},
        {"type": "alert", "to": "csm", "message": "{{ account.name }} escalated"}])
    for account_id in ("A0001", "A0002"):  # the broken name's email comes first in the pass
        trigger_manual(ws.engine, ws.warehouse, pb.id, account_id, actor="maya")

    report = dispatch_due(ws.engine, ws.settings)

    assert (report.delivered, report.failed, report.retrying) == (2, 0, 0)
    outbox = list_outbox(ws.engine)
    assert set(outbox["status"]) == {"delivered"}
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == ["Company 2 needs a call", "Evil Corp Bcc: attacker@evil.example Injected body needs a call"]
    for message in smtp_server.messages:
        assert message["Bcc"] is None
        assert message["X-RcptTo"] == "ops@vendor.example"
        assert "Injected body" not in message.get_payload()


def test_an_unexpected_error_fails_only_that_step_and_the_pass_goes_on(tmp_path):
    server = LocalServer(body="ok")
    try:
        ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts="127.0.0.1")
        pb = create_playbook(ws.engine, "manager", name="Follow up", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": server.url, "body": {"a": "{{ account.id }}"}}])
        for account_id in ("A0001", "A0002", "A0003"):
            trigger_manual(ws.engine, ws.warehouse, pb.id, account_id, actor="maya")
        with ws.engine.begin() as conn:  # a row damaged outside the app: no url
            first = conn.execute(sa.select(sa.func.min(steps.c.id))).scalar_one()
            conn.execute(steps.update().where(steps.c.id == first).values(payload=json.dumps({"body": {}})))

        report = dispatch_due(ws.engine, ws.settings)

        assert (report.delivered, report.failed) == (2, 1)
        outbox = list_outbox(ws.engine).set_index("id")
        assert outbox.loc[first, "status"] == "failed"
        assert outbox.loc[first, "last_error"].startswith("Unexpected error while delivering (KeyError")
        assert (outbox.drop(index=first)["status"] == "delivered").all()
        assert sorted(json.loads(r["body"])["a"] for r in server.requests) == ["A0002", "A0003"]
        assert dispatch_due(ws.engine, ws.settings).claimed == 0, "nothing left in 'sending' or pending"
    finally:
        server.stop()


_NAMES = st.text(alphabet=st.one_of(st.sampled_from("\r\n\v\f\x1c\x85\u2028:;<>=+-@\t\"' "),
                                    st.characters(exclude_categories=("Cs",))), max_size=60)


def test_random_account_names_never_break_a_mail_header():
    """Names with CR/LF, formulas and markup: the subject arrives on one line, no header is injected."""
    server = SmtpRecorder()
    try:
        settings = load_settings(environ={"CSAI_SMTP_HOST": "127.0.0.1", "CSAI_SMTP_PORT": str(server.port)},
                                 workspace=tempfile.mkdtemp(prefix="hdr-"))

        @hyp_settings(max_examples=40, deadline=None)
        @given(_NAMES)
        def check(name):
            server.messages.clear()
            send_email(settings, {"to": "ops@vendor.example", "subject": f"{name}\r\nBcc: x@evil.example",
                                  "body": "b"})
            (message,) = server.messages
            assert message["Bcc"] is None and message["X-RcptTo"] == "ops@vendor.example"
            unfolded = re.sub(r"\r?\n[ \t]", " ", str(message["Subject"]))  # RFC 5322 folding is not a break
            assert "\r" not in unfolded and "\n" not in unfolded
            assert str(make_header(decode_header(unfolded))).endswith("Bcc: x@evil.example")

        check()
    finally:
        server.stop()
