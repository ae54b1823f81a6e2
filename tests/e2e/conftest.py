"""Browser tests: a real `streamlit run` on 127.0.0.1 (free port) driven by Playwright + Debian chromium."""

from __future__ import annotations

import pytest

from tests.support.browser import (
    MARKER,
    Server,
    allow_errors,
    login,
    settle_and_check,
    shot,
    wait_for_auth_cookie,
    wait_idle,
)

# older journeys import these helpers from here; new ones import tests.support.browser
__all__ = ["Server", "login", "shot", "wait_for_auth_cookie", "wait_idle"]


@pytest.fixture(scope="session")
def demo_server(sample_workspace_path):
    server = Server(sample_workspace_path)
    yield server
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
