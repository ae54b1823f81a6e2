"""Shared test helpers live in ``tests/support/``: no test file imports another test module, a
conftest, or a helper module kept beside the tests (the removed shims included).

A helper imported from a test module runs that module's import-time code and ties the two files
together (moving or deleting one breaks the other, and pytest may collect the helper's tests
twice); fixtures come from ``tests/conftest.py`` and the conftests, which pytest loads itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ALLOWED_PREFIX = "tests.support"
# helper paths that were shims for a while; named so that a branch bringing one back fails here
REMOVED_SHIMS = ("tests.playbooks.helpers", "tests.data.tiny", "tests.models.synthetic",
                 "tests.models.subscription_log", "tests.security.apptest_helpers", "tests.security.outbound_servers")


def bad_imports(source: str) -> list[str]:
    """The imports in ``source`` of a ``tests`` module outside ``tests/support/`` (or any relative import)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append(f"line {node.lineno}: relative import from {'.' * node.level}{node.module or ''}")
                continue
            base = node.module or ""
            names = [base] if base != "tests" else [f"tests.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if (name == "tests" or name.startswith("tests.")) and not (
                    name == ALLOWED_PREFIX or name.startswith(ALLOWED_PREFIX + ".")):
                found.append(f"line {node.lineno}: {name}")
    return found


def test_no_test_file_imports_a_test_module_conftest_or_shim():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        found = bad_imports(path.read_text())
        if found:
            offenders[str(path.relative_to(TESTS.parent))] = found
    assert not offenders, ("import shared helpers from tests/support/ (fixtures from the conftests), not from "
                           f"another test module: {offenders}")


def test_removed_shims_stay_removed():
    left = [name for name in REMOVED_SHIMS if (TESTS.parent / (name.replace(".", "/") + ".py")).exists()]
    assert not left, f"these helper shims were moved to tests/support/: {left}"


def test_the_check_finds_each_kind_of_cross_import():
    assert bad_imports("from tests.views.test_playbook_pages import trigger_app") == [
        "line 1: tests.views.test_playbook_pages"]
    assert bad_imports("import tests.data.test_opstore_migrations as m") == ["line 1: tests.data.test_opstore_migrations"]
    assert bad_imports("def f():\n    from tests.playbooks.helpers import build_workspace") == [
        "line 2: tests.playbooks.helpers"]
    assert bad_imports("from tests.security.conftest import cli") == ["line 1: tests.security.conftest"]
    assert bad_imports("from tests.conftest import ROOT") == ["line 1: tests.conftest"]
    assert bad_imports("from tests import conftest") == ["line 1: tests.conftest"]
    assert bad_imports("from .helpers import x") == ["line 1: relative import from .helpers"]
    assert bad_imports("from tests.support.apptest import run_app\nfrom tests import support\nimport tests.support") == []
