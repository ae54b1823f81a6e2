"""Fixtures for playbook tests: a tiny scored workspace, a real SMTP server and a real HTTP server."""

from __future__ import annotations

import pytest

from tests.support.servers import RecordingServer, free_port
from tests.support.workspaces import build_workspace


@pytest.fixture()
def ws(tmp_path):
    """20 scored high-risk accounts (Usage top driver), no SMTP configured; webhooks may reach 127.0.0.1."""
    return build_workspace(tmp_path / "ws", n=20, csai_webhook_allow_hosts="127.0.0.1")


@pytest.fixture()
def smtp_server():
    """An aiosmtpd server on 127.0.0.1 (free port) that keeps every message it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Keep(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    handler = Keep()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.messages = handler.messages
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture()
def http_server():
    server = RecordingServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def flaky_server():
    """Answers 500 to the first request, 200 afterwards."""
    server = RecordingServer(fail_first=1)
    try:
        yield server
    finally:
        server.stop()
