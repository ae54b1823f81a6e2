"""Browser tests: a real `streamlit run` on 127.0.0.1 (free port) driven by Playwright + Debian chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.browser import CHROMIUM, ROOT, Server, launch_options, login, wait_for_auth_cookie, wait_idle

# the journeys import these helpers from here
__all__ = ["Server", "login", "shot", "wait_for_auth_cookie", "wait_idle"]

SHOTS = ROOT / "tests" / "e2e" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it when run as root).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(**launch_options())
        yield b
        b.close()


@pytest.fixture(scope="session")
def demo_server(sample_workspace_path):
    server = Server(sample_workspace_path)
    yield server
    server.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep a screenshot of the page when a browser test fails."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in item.funcargs:
        try:
            shot(item.funcargs["page"], f"FAILED-{item.name}")
        except Exception:  # noqa: BLE001 - best effort only
            pass
