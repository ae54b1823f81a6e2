"""Shared fixtures: one small sample workspace per test session (built once), and the
operational stores the store tests run on (SQLite, and a real PostgreSQL server)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data.compat import limit_threads  # noqa: E402
from tests.support.apptest_guard import fail_on_page_exception  # noqa: E402,F401  (autouse)
from tests.support.postgres import OPSTORES  # noqa: E402
from tests.support.shared_state import _0_guard_module_state, _0_guard_shared_state, share  # noqa: E402,F401  (autouse)
from tests.support.workspaces import tiny_ws  # noqa: E402,F401  (a fixture for every test)

limit_threads()  # the test session is an entry point too (importing ``models`` no longer limits threads)

SAMPLE_ACCOUNTS = int(os.environ.get("CSAI_TEST_ACCOUNTS", "400"))
SAMPLE_END = "2026-06-30"


def pytest_collection_modifyitems(config, items):
    """Every browser test is marked ``e2e`` (deselect with ``-m "not e2e"``), whatever its module says."""
    for item in items:
        if "e2e" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sample_workspace_path(tmp_path_factory) -> Path:
    """A demo workspace (small sample company, demo users; scores once models exist), shared and read-only."""
    from commands.demo import build_demo

    path = tmp_path_factory.mktemp("sample_ws")
    build_demo(str(path), accounts=SAMPLE_ACCOUNTS, seed=7, end=SAMPLE_END, force=True, quiet=True)
    share(path)  # read-only from here on: tests/support/shared_state.py fails any test that writes to it
    return path


@pytest.fixture(scope="session")
def sample_workspace(sample_workspace_path):
    from data.workspace import open_workspace

    return open_workspace(str(sample_workspace_path))


@pytest.fixture()
def sample_workspace_copy(sample_workspace_path, tmp_path):
    """A private copy of the sample workspace, served as CSAI_WORKSPACE, for a test that writes to it."""
    from tests.support.workspaces import served_copy

    with served_copy(sample_workspace_path, tmp_path / "sample_copy") as ws:
        yield ws


@pytest.fixture()
def empty_workspace(tmp_path):
    from data.workspace import open_workspace

    return open_workspace(str(tmp_path / "ws"))


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a throwaway PostgreSQL server (password authentication on 127.0.0.1), one per session.

    Skips without PostgreSQL, fails instead when ``CSAI_REQUIRE_POSTGRES=1``.
    """
    from tests.support.postgres import run_server

    yield from run_server()


@pytest.fixture(params=OPSTORES)
def opstore_url(request, tmp_path) -> str:
    """A fresh, empty operational store: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'opstore.sqlite'}"
    from tests.support.postgres import new_database

    return new_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the whole session: Playwright's sync API allows one driver per process."""
    from bench.browser import CHROMIUM, launch_options

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does it when run as root).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(**launch_options())
        yield b
        b.close()
