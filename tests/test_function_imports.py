"""Imports belong at module top; an import inside a function says why on its own line.

The allowed reasons (issue 16, item 9) are an optional dependency (pyspark, ...), import time (a heavy
library the app's cold start or the CLI should not pay for until it is used) and an import cycle that
cannot be broken. The reason is a trailing comment on the import's line::

    import pyspark  # deferred: optional dependency (requirements-spark.txt)

Imports under ``if TYPE_CHECKING:`` are never run and need no reason. The check reads the source with
``ast`` and ``tokenize``, so it imports none of the code it checks.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".venv", "tests", ".git", "node_modules", "workspace"}
REASON = re.compile(r"#\s*deferred:\s*(optional dependency|import time|cycle)\b")
# Files other branches are rewriting in parallel (session of issue 16); the lead removes each entry once its
# branch has merged and the file's function-level imports carry their reasons.
EXCLUDED: set[str] = set()  # files of a branch still being merged; remove each entry once its imports state their reason


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment on that line (tokenize, so a ``#`` inside a string is not a comment)."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _function_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that runs when a function (or method, or nested function) is called."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit_statement(other, in_function)
                continue
            visit_statement(child, in_function)

    def visit_statement(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if in_function:
                found.append(node)
            return
        visit(node, in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def unexplained_imports(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """(line, statement) for each import inside a function without a ``# deferred: <reason>`` on its line(s)."""
    tree = ast.parse(source, filename=filename)
    comments = _comments(source)
    lines = source.splitlines()
    out = []
    for node in _function_imports(tree):
        span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        if not any(REASON.search(comments.get(line, "")) for line in span):
            out.append((node.lineno, lines[node.lineno - 1].strip()))
    return out


def function_import_reasons(source: str) -> list[str]:
    """The reason word of each import inside a function ('' when it has none); used for the report's counts."""
    comments = _comments(source)
    reasons = []
    for node in _function_imports(ast.parse(source)):
        matches = [REASON.search(comments.get(line, "")) for line in range(node.lineno, (node.end_lineno or 0) + 1)]
        reasons.append(next((m.group(1) for m in matches if m), ""))
    return reasons


def project_files() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py")
                  if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts))


def test_the_checker_flags_an_import_inside_a_function_without_a_reason():
    source = '''
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas

def plain():
    import json
    text = "# deferred: cycle"  # a string is not a comment
    from pathlib import Path  # deferred: because
    return json, Path, text

def explained():
    import pyspark  # deferred: optional dependency (requirements-spark.txt)
    import plotly.graph_objects as go  # deferred: import time (plotly is 0.5 s)
    from models import scoring  # deferred: cycle (models.scoring imports this module)
    from data import (  # deferred: cycle (data.x imports this module)
        a,
        b,
    )
    if TYPE_CHECKING:
        import numpy
    return pyspark, go, scoring, a, b

class Page:
    def render(self):
        def inner():
            import csv
            return csv
        return inner

    async def load(self):
        import sqlite3
        return sqlite3
'''
    assert unexplained_imports(source) == [
        (9, "import json"), (11, "from pathlib import Path  # deferred: because"),
        (29, "import csv"), (34, "import sqlite3")]
    assert function_import_reasons(source).count("") == 4
    assert sorted(r for r in function_import_reasons(source) if r) == [
        "cycle", "cycle", "import time", "optional dependency"]
    assert unexplained_imports("import json\n\ndef f():\n    return json\n") == []


def test_the_excluded_files_exist():
    missing = sorted(name for name in EXCLUDED if not (ROOT / name).is_file())
    assert missing == [], "stale entries in EXCLUDED (the file moved or was removed): " + ", ".join(missing)


def test_every_import_inside_a_function_states_its_reason():
    files = project_files()
    assert len(files) > 100
    offences = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        if relative in EXCLUDED:
            continue
        for line, statement in unexplained_imports(path.read_text(encoding="utf-8"), relative):
            offences.append(f"{relative}:{line}: {statement}")
    assert offences == [], (
        "imports inside functions without a reason; move them to module top, or add "
        "'# deferred: optional dependency|import time|cycle (...)' on the line:\n" + "\n".join(offences))
