"""Browser tests: a real `streamlit run` on 127.0.0.1 (free port) driven by Playwright + Debian chromium.

Every sign-in writes to the served workspace's operational store (the throttle, the re-login
session), so no server serves the shared session sample workspace itself: ``demo_server`` serves
one copy for the journeys that only read, and a journey that changes data (trains, starts a
playbook, completes a task, uploads a file) gets ``private_server``, a server on its own copy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from data.users import demo_password
from data.workspace import Workspace, open_workspace
from tests.support.browser import MARKER, Server, allow_errors, settle_and_check, shot, signed_in_state


def copy_sample(sample_workspace_path: Path, dest: Path) -> Path:
    shutil.copytree(sample_workspace_path, dest, ignore=shutil.ignore_patterns("*.log", "*.lock"))
    return dest


@pytest.fixture(scope="session")
def demo_server(sample_workspace_path, tmp_path_factory):
    """The app on a copy of the sample workspace, for journeys that read (and sign in)."""
    server = Server(copy_sample(sample_workspace_path, tmp_path_factory.mktemp("e2e_demo") / "ws"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def manager_state(browser, demo_server) -> dict:
    """The manager signed in once on ``demo_server`` through the sign-in form: the storage state (re-login
    cookie) a journey's context starts from, so journeys at several widths do not each sign in again."""
    return signed_in_state(browser, demo_server.url, "manager", demo_password("manager"))


@dataclass
class PrivateServer:
    server: Server
    ws: Workspace

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture()
def private_server(sample_workspace_path, tmp_path):
    """The app on this test's own copy of the sample workspace (``.ws`` is that copy), for a journey that writes."""
    path = copy_sample(sample_workspace_path, tmp_path / "ws")
    server = Server(path)
    try:
        yield PrivateServer(server, open_workspace(str(path)))
    finally:
        server.stop()


@pytest.fixture()
def page(browser, request):
    """A fresh browser context's page; the test fails if any of its pages ends on an exception or error box.

    ``@pytest.mark.page_error_expected("text", ...)`` lets error boxes containing one of those texts pass
    (exception elements never do).
    """
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    marker = request.node.get_closest_marker(MARKER)
    allow_errors(pg, tuple(marker.args) if marker else ())
    yield pg
    try:
        if getattr(request.node, "rep_call_passed", False):
            settle_and_check(pg)
    finally:
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep a screenshot of the page when a browser test fails."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call_passed = report.passed
    if report.when == "call" and report.failed and "page" in item.funcargs:
        try:
            shot(item.funcargs["page"], f"FAILED-{item.name}")
        except Exception:  # noqa: BLE001 - best effort only
            pass
