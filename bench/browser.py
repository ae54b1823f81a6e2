"""A real `streamlit run app.py` on 127.0.0.1 and the Playwright helpers to drive it with Debian's chromium.

Shared by the benchmark's load test and the browser tests (``tests/e2e``). The page helpers take
Playwright's sync ``Page``; the ``*_JS`` predicates work with the async API too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CSAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
AUTH_COOKIE = "csai_auth"
# Streamlit's running indicator appears only after a run has lasted 500 ms, so "finished" also reads
# the script state the app root exposes.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` on a free port serving ``workspace``; ready (health check passed) once built.

    Output goes to ``workspace/streamlit.log``. Call :meth:`stop`, or use it as a context manager.
    """

    def __init__(self, workspace: str | os.PathLike, *, start_timeout: float = 60, port: int | None = None,
                 env: dict | None = None, extra_args: tuple[str, ...] = ()):
        workspace = Path(workspace)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CSAI_WORKSPACE": str(workspace), "PYTHONPATH": str(ROOT), **(env or {})}
        self.log = open(workspace / "streamlit.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", *extra_args],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + start_timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_stcore/health", timeout=1)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start; see " + str(workspace / "streamlit.log"))

    def stop(self) -> None:
        """Terminate the server (kill after 10 s) and close its log."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_options() -> dict:
    """Keyword arguments for ``playwright.chromium.launch``: Debian's chromium, headless."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).")
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


def wait_idle(page, timeout: float = 30) -> None:
    """Wait until Streamlit has finished the current run (``timeout`` in seconds)."""
    page.wait_for_selector('[data-testid="stApp"]', state="attached")
    page.wait_for_function(IDLE_JS, timeout=timeout * 1000)


def wait_for_auth_cookie(page, name: str = AUTH_COOKIE, timeout: float = 30) -> None:
    """The re-login cookie is written by a browser component shortly after sign-in."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(c["name"] == name for c in page.context.cookies()):
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"no {name} cookie after login")


def login(page, base_url: str, username: str, password: str, path: str = "") -> None:
    """Open ``base_url + path`` and submit the sign-in form (does not wait for the next page)."""
    page.goto(base_url + path)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in_state(browser, base_url: str, username: str, password: str, *, timeout: float = 180) -> dict:
    """Sign in once and return the context's storage state (cookies), to start signed-in contexts from."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(timeout * 1000)
        login(page, base_url, username, password)
        wait_for_auth_cookie(page, timeout=timeout)
        return context.storage_state()
    finally:
        context.close()
