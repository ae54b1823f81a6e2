"""Shared fixtures: one small sample workspace per test session (built once)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.apptest_guard import fail_on_page_exception  # noqa: E402,F401  (autouse)
from tests.support.postgres import postgres_url  # noqa: E402,F401  (a session fixture for every test)
from tests.support.workspaces import tiny_ws  # noqa: E402,F401  (a fixture for every test)

SAMPLE_ACCOUNTS = int(os.environ.get("CSAI_TEST_ACCOUNTS", "400"))
SAMPLE_END = "2026-06-30"


def pytest_collection_modifyitems(config, items):
    """Every browser test is marked ``e2e`` (deselect with ``-m "not e2e"``), whatever its module says."""
    for item in items:
        if "e2e" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sample_workspace_path(tmp_path_factory) -> Path:
    """A demo workspace (small sample company, demo users; scores once models exist)."""
    from commands.demo import build_demo

    path = tmp_path_factory.mktemp("sample_ws")
    build_demo(str(path), accounts=SAMPLE_ACCOUNTS, seed=7, end=SAMPLE_END, force=True, quiet=True)
    return path


@pytest.fixture(scope="session")
def sample_workspace(sample_workspace_path):
    from data.workspace import open_workspace

    return open_workspace(str(sample_workspace_path))


@pytest.fixture()
def empty_workspace(tmp_path):
    from data.workspace import open_workspace

    return open_workspace(str(tmp_path / "ws"))
