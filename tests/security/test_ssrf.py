"""SSRF: a webhook step must not make the server call (and show) its own network.

Each attack uses a real HTTP server on 127.0.0.1 whose body is a "secret".
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from data.opstore import audit_log
from playbooks import PlaybookError, create_playbook, dispatch_due, list_outbox, trigger_manual
from playbooks.store import playbooks as playbooks_table
from playbooks.store import steps
from tests.support.apptest import run_app
from tests.support.outbound_servers import SECRET, LocalServer
from tests.support.workspaces import build_workspace, open_ws


@pytest.fixture()
def secret_server():
    server = LocalServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def plain_ws(tmp_path):
    """A workspace with no webhook allow-list (the default)."""
    return build_workspace(tmp_path / "ws", n=3)


def _stored_text(engine) -> str:
    """Everything the outbox and the audit log hold, as one string (what pages can show)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(steps.c.payload, steps.c.result, steps.c.last_error)).all()
        audit = conn.execute(sa.select(audit_log.c.detail)).scalars().all()
    return json.dumps([list(r) for r in rows] + list(audit), default=str)


def _playbook_names(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.select(playbooks_table.c.name)).scalars().all()


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:{port}/hook", "loopback"),
    ("http://localhost:{port}/hook", "loopback"),
    ("http://2130706433:{port}/hook", "loopback"),  # 127.0.0.1 written as one number
    ("http://[::1]:{port}/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "loopback"),
    ("http://0.0.0.0:{port}/hook", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://10.1.2.3/admin", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://100.100.100.200/latest/meta-data/", "metadata"),
    ("http://224.0.0.1/", "multicast"),
    ("http://metadata.google.internal/computeMetadata/v1/", "internal name"),
])
def test_webhook_to_an_internal_address_is_refused_on_save(plain_ws, secret_server, url, why):
    url = url.format(port=secret_server.port)
    with pytest.raises(PlaybookError) as err:
        create_playbook(plain_ws.engine, "manager", name="Exfiltrate", steps=[
            {"type": "webhook", "url": url, "body": {"a": "{{ account.id }}"}}])
    message = str(err.value)
    assert why in message and "CSAI_WEBHOOK_ALLOW_HOSTS" in message and "Step 1 (webhook) url" in message
    assert "Exfiltrate" not in _playbook_names(plain_ws.engine)
    assert secret_server.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://example.com/x"])
def test_only_http_and_https_are_accepted(plain_ws, url):
    with pytest.raises(PlaybookError, match="http:// or https://"):
        create_playbook(plain_ws.engine, "manager", name="Scheme", steps=[{"type": "webhook", "url": url}])
    assert "Scheme" not in _playbook_names(plain_ws.engine)


def test_webhook_to_loopback_slipped_into_the_store_is_refused_at_delivery(plain_ws, secret_server):
    """A step that bypassed the form (direct insert, old data) is checked again when sent."""
    pb = create_playbook(plain_ws.engine, "manager", name="Hook", steps=[
        {"type": "webhook", "url": "https://hooks.example.com/services/T0/B0", "body": {"a": "{{ account.id }}"}}])
    with plain_ws.engine.begin() as conn:
        conn.execute(playbooks_table.update().where(playbooks_table.c.id == pb.id).values(steps=json.dumps(
            [{"type": "webhook", "url": secret_server.url, "body": {"a": "{{ account.id }}"}, "timeout": 5}])))
    trigger_manual(plain_ws.engine, plain_ws.warehouse, pb.id, "A0001", actor="maya")

    report = dispatch_due(plain_ws.engine, plain_ws.settings)

    assert (report.delivered, report.failed, report.retrying) == (0, 1, 0)
    assert secret_server.requests == [], "the server was called"
    row = list_outbox(plain_ws.engine).iloc[0]
    assert row["status"] == "failed" and "loopback" in row["last_error"]
    assert "CSAI_WEBHOOK_ALLOW_HOSTS" in row["last_error"]
    assert SECRET not in _stored_text(plain_ws.engine)


def test_allow_listed_host_is_delivered_without_keeping_the_reply(tmp_path, secret_server):
    ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts=f"127.0.0.1:{secret_server.port}")
    pb = create_playbook(ws.engine, "manager", name="Internal CRM", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": secret_server.url, "body": {"a": "{{ account.id }}"}}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0002", actor="maya")

    assert dispatch_due(ws.engine, ws.settings).delivered == 1

    (request,) = secret_server.requests
    assert json.loads(request["body"]) == {"a": "A0002"}
    row = list_outbox(ws.engine).iloc[0]
    assert request["headers"]["Idempotency-Key"] == str(row["id"])
    assert (row["status"], row["result"]) == ("delivered", "HTTP 200 OK")
    assert SECRET not in _stored_text(ws.engine)


def test_allow_list_names_a_port_so_other_ports_stay_refused(tmp_path, secret_server):
    ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts=f"127.0.0.1:{secret_server.port + 1}")
    with pytest.raises(PlaybookError, match="loopback"):
        create_playbook(ws.engine, "manager", name="Other port", allow_hosts=ws.settings.webhook_allow_hosts,
                        steps=[{"type": "webhook", "url": secret_server.url}])


def test_error_reply_stores_the_status_and_standard_reason_only(tmp_path):
    server = LocalServer(status=500, reason=f"Oops {SECRET}", body=f"Traceback ... {SECRET}")
    try:
        ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts="127.0.0.1")
        pb = create_playbook(ws.engine, "manager", name="Broken", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": f"{server.url}/T0/B0/hook-token-123"}])
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
        assert dispatch_due(ws.engine, ws.settings).retrying == 1
        row = list_outbox(ws.engine).iloc[0]
        assert row["last_error"] == f"HTTP 500 Internal Server Error from http://127.0.0.1:{server.port}"
        assert server.requests[0]["path"] == "/hook/T0/B0/hook-token-123"
        assert SECRET not in _stored_text(ws.engine)
    finally:
        server.stop()


def test_redirect_to_a_private_address_is_not_followed(tmp_path, secret_server):
    redirector = LocalServer(redirect_to=f"http://127.0.0.1:{secret_server.port}/secret")
    try:
        ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts=f"127.0.0.1:{redirector.port}")
        pb = create_playbook(ws.engine, "manager", name="Bouncer", allow_hosts=ws.settings.webhook_allow_hosts,
                             steps=[{"type": "webhook", "url": redirector.url}])
        trigger_manual(ws.engine, ws.warehouse, pb.id, "A0003", actor="maya")

        report = dispatch_due(ws.engine, ws.settings)

        assert (report.delivered, report.failed) == (0, 1)
        assert len(redirector.requests) == 1 and secret_server.requests == []
        row = list_outbox(ws.engine).iloc[0]
        assert row["status"] == "failed"
        assert row["last_error"].startswith("HTTP 302 Found") and "redirects are not followed" in row["last_error"]
        assert SECRET not in _stored_text(ws.engine)
    finally:
        redirector.stop()


def test_removing_a_host_from_the_allow_list_stops_delivery(tmp_path, secret_server):
    ws = build_workspace(tmp_path / "ws", n=3, csai_webhook_allow_hosts="127.0.0.1")
    pb = create_playbook(ws.engine, "manager", name="Was trusted", allow_hosts=ws.settings.webhook_allow_hosts,
                         steps=[{"type": "webhook", "url": secret_server.url}])
    trigger_manual(ws.engine, ws.warehouse, pb.id, "A0001", actor="maya")
    strict = open_ws(ws.path)
    assert dispatch_due(strict.engine, strict.settings).failed == 1
    assert secret_server.requests == []
    assert "loopback" in list_outbox(ws.engine)["last_error"].iloc[0]


# ---------------------------------------------------------------- the same check through the Playbooks page's form
def _create_through_the_form(url: str):
    at = run_app("manager", "views/playbooks.py")
    at.text_input(key="new_name").input("Form hook")
    at.text_area(key="new_steps").input(json.dumps([{"type": "webhook", "url": url, "body": {"a": "{{ account.id }}"}}]))
    return next(b for b in at.button if b.label == "Create playbook").click().run()


def test_the_form_refuses_a_webhook_to_loopback_and_writes_nothing(tiny_ws, secret_server, monkeypatch):  # noqa: F811
    monkeypatch.delenv("CSAI_WEBHOOK_ALLOW_HOSTS", raising=False)
    at = _create_through_the_form(secret_server.url)
    assert not at.exception
    assert any("loopback" in e.value and "CSAI_WEBHOOK_ALLOW_HOSTS" in e.value for e in at.error)
    assert "Form hook" not in _playbook_names(tiny_ws.engine)


def test_the_form_accepts_an_allow_listed_host(tiny_ws, secret_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CSAI_WEBHOOK_ALLOW_HOSTS", f"127.0.0.1:{secret_server.port}")
    at = _create_through_the_form(secret_server.url)
    assert not at.exception and not at.error
    assert "Form hook" in _playbook_names(tiny_ws.engine)
