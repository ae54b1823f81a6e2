"""Browser tests: a real `streamlit run` on 127.0.0.1 (free port) driven by Playwright + Debian chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CSAI_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workspace: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CSAI_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT)}
        self.log = open(workspace / "streamlit.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start; see " + str(workspace / "streamlit.log"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it when run as root).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
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


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector('[data-testid="stApp"]', state="attached")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def wait_for_auth_cookie(page, name: str = "csai_auth", timeout: float = 30) -> None:
    """The re-login cookie is written by a browser component shortly after sign-in."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(c["name"] == name for c in page.context.cookies()):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"no {name} cookie after login")


def login(page, base_url: str, username: str, password: str, path: str = "") -> None:
    page.goto(base_url + path)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


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
