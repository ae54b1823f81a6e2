"""Fixtures for playbook tests: a tiny scored workspace, a real SMTP server and a real HTTP server.

The tests of the modules in :data:`STORE_MODULES` run twice: on the workspace's SQLite
file and on a fresh database of the test PostgreSQL server (``opstore_backend``).
"""

from __future__ import annotations

import pytest

from tests.support import workspaces as helpers
from tests.support.postgres import OPSTORES
from tests.support.servers import RecordingServer, free_port
from tests.support.workspaces import build_workspace

STORE_MODULES = {"test_cli", "test_definitions", "test_outbox", "test_outcomes", "test_triggers"}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rsplit(".", 1)[-1] in STORE_MODULES:
        metafunc.parametrize("opstore_backend", OPSTORES, indirect=True)


@pytest.fixture(autouse=True)
def opstore_backend(request, monkeypatch, tmp_path):
    """Point every workspace of the test (and its child processes) at the operational store under test."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        monkeypatch.delenv("CSAI_DATABASE_URL", raising=False)
        monkeypatch.setattr(helpers, "DATABASE_URL", None)
        yield backend
        return
    from data.opstore import dispose_engine
    from tests.support.postgres import new_database

    url = new_database(request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("CSAI_DATABASE_URL", url)
    monkeypatch.setattr(helpers, "DATABASE_URL", url)
    assert helpers.open_ws(tmp_path / "probe").engine.dialect.name == "postgresql"
    yield backend
    dispose_engine(url)


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
