"""Shared fixtures: one small sample workspace per test session (built once), and the
operational stores the store tests run on (SQLite, and a real PostgreSQL server)."""

from __future__ import annotations

import os
import sys
import time
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


def pytest_generate_tests(metafunc):
    """A test marked ``stores`` runs once per operational store: the ``page_store`` fixture, or the one the
    marker names (``@pytest.mark.stores(fixture="lab_store", scope="module")`` for a module's shared workspace)."""
    marker = metafunc.definition.get_closest_marker("stores")
    if marker:
        name = marker.kwargs.get("fixture", "page_store")
        assert name in metafunc.fixturenames, f"{metafunc.definition.nodeid} is marked stores but does not use {name}"
        metafunc.parametrize(name, OPSTORES, indirect=True, scope=marker.kwargs.get("scope"))


_SESSION_DATABASE_URL = os.environ.get("CSAI_DATABASE_URL")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Fail the last test of a module that leaves ``CSAI_DATABASE_URL`` changed (use monkeypatch): a leaked
    store URL would send every later test, and the pages they run, to another store."""
    result = yield
    if nextitem is None or getattr(nextitem, "module", None) is not getattr(item, "module", None):
        leaked = os.environ.get("CSAI_DATABASE_URL")
        if leaked != _SESSION_DATABASE_URL:
            if _SESSION_DATABASE_URL is None:
                os.environ.pop("CSAI_DATABASE_URL", None)
            else:
                os.environ["CSAI_DATABASE_URL"] = _SESSION_DATABASE_URL
            raise AssertionError(f"{item.nodeid} (or its module) left CSAI_DATABASE_URL={leaked!r} behind "
                                 "(set it with monkeypatch)")
    return result


def pytest_collection_modifyitems(config, items):
    """Every browser test is marked ``e2e`` (deselect with ``-m "not e2e"``), whatever its module says."""
    for item in items:
        if "e2e" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.e2e)


def _checkpoint_sqlite(folder: Path) -> None:
    """Move the build's write-ahead log into the store file and empty it: otherwise the last connection to close,
    whenever the garbage collector gets to it, checkpoints the log into the file, and the shared-state guard
    blames whichever test was running for a write it did not make."""
    import sqlite3

    for db in folder.glob("*.sqlite"):
        con = sqlite3.connect(db)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()


@pytest.fixture(scope="session")
def sample_workspace_path(tmp_path_factory) -> Path:
    """A demo workspace (small sample company, demo users; scores once models exist), shared and read-only."""
    from commands.demo import build_demo

    path = tmp_path_factory.mktemp("sample_ws")
    build_demo(str(path), accounts=SAMPLE_ACCOUNTS, seed=7, end=SAMPLE_END, force=True, quiet=True)
    _checkpoint_sqlite(path)
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


@pytest.fixture(scope="session")
def postgres_template(postgres_url) -> str:
    """Name of a database on the test server migrated to the newest revision (copied, never used itself)."""
    from tests.support.postgres import migrated_template

    return migrated_template(postgres_url)


@pytest.fixture(autouse=True)
def page_store(request, monkeypatch):
    """The operational store of a test marked ``stores``: ``sqlite`` or ``postgresql`` (None when unmarked).

    For ``postgresql`` a fresh database (a copy of the migrated template) on the test server becomes
    ``CSAI_DATABASE_URL`` for the test only (monkeypatch), so the workspaces the test builds and the pages
    AppTest runs use it; for ``sqlite`` the variable is removed. Autouse, so it is set before any
    workspace fixture opens a store. Unmarked tests keep their environment.
    """
    from tests.support import workspaces

    backend = getattr(request, "param", None)
    if backend == "postgresql":
        from data.opstore import dispose_engine
        from tests.support.postgres import new_database

        url = new_database(request.getfixturevalue("postgres_url"),
                           template=request.getfixturevalue("postgres_template"))
        monkeypatch.setenv("CSAI_DATABASE_URL", url)
        monkeypatch.setattr(workspaces, "DATABASE_URL", url)
        started = time.time()
        yield backend
        dispose_engine(url)
        served = os.environ.get("CSAI_WORKSPACE")  # the test's workspace (its monkeypatch is undone after this)
        sqlite_file = Path(served) / "operational.sqlite" if served else None
        if sqlite_file and sqlite_file.exists() and sqlite_file.stat().st_mtime >= started - 1:
            pytest.fail(f"{sqlite_file} was written during a PostgreSQL run: a page or helper used the SQLite store")
        return
    if backend == "sqlite":
        monkeypatch.delenv("CSAI_DATABASE_URL", raising=False)
        monkeypatch.setattr(workspaces, "DATABASE_URL", None)
    yield backend


@pytest.fixture(scope="session")
def sample_workspace_pg_url(sample_workspace, postgres_url, postgres_template) -> str:
    """A PostgreSQL copy of the sample workspace's operational store (users' sessions, playbooks, models,
    audit), made once per session; serve it with ``CSAI_DATABASE_URL`` and the sample's folder."""
    import sqlalchemy as sa

    from data.opstore import create_engine
    from tests.support.postgres import store_copy

    url = store_copy(postgres_url, postgres_template, sample_workspace.settings.database_url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM model_registry")).scalar_one() > 0
    engine.dispose()
    return url


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
