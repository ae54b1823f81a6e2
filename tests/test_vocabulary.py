"""One home for each business word: the vocabulary lists are typed out once, in data/vocabulary.py.

The test reads every product module (not the tests) with ``ast`` and fails on any tuple, list or
set literal that spells out one of the vocabulary lists again, in any order: such a copy is a
second definition waiting to disagree with the first.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from data import vocabulary

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("app.py", "cli.py", "views", "components", "data", "models", "playbooks", "commands", "bench")
HOME = ROOT / "data" / "vocabulary.py"

TERMS = {
    "roles": frozenset(vocabulary.ROLES),
    "contact roles": frozenset(vocabulary.CONTACT_ROLES),
    "risk bands": frozenset(vocabulary.RISK_BANDS),
    "prediction targets": frozenset(vocabulary.TARGETS),
    "metric groups": frozenset(vocabulary.METRIC_GROUPS),
    "actionable metric groups": vocabulary.ACTIONABLE_GROUPS,
}


def _product_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *PRODUCT], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.splitlines() if line.endswith(".py")]


def _copies(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or not node.elts:
            continue
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            continue
        words = frozenset(e.value for e in node.elts)
        for term, vocab in TERMS.items():
            if words == vocab:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} types out the {term}")
    return found


def test_each_vocabulary_list_is_typed_out_once_in_the_tree():
    files = _product_files()
    assert HOME in files and len(files) > 100
    copies = [c for f in files if f != HOME for c in _copies(f)]
    assert copies == [], "import these from data.vocabulary instead:\n" + "\n".join(copies)
    assert len(_copies(HOME)) >= len(TERMS) - 1  # the home itself is seen by the same check (actionable is derived)


def test_the_vocabulary_is_consistent():
    vocabulary.check_vocabulary()
    assert vocabulary.ACTIONABLE_GROUPS < frozenset(vocabulary.METRIC_GROUPS)


def test_the_ui_cli_and_charts_use_the_one_vocabulary():
    from commands.models import register  # noqa: F401  (the CLI's choices come from the vocabulary)
    from components import charts, pages, playbook_builder
    from data import users
    from playbooks import definitions

    assert tuple(charts.RISK_COLORS) == vocabulary.RISK_BANDS
    assert tuple(charts.GROUP_COLORS) == vocabulary.METRIC_GROUPS
    assert pages.PageSpec("x.py", "X", "x", "").roles == vocabulary.ROLES
    assert users.ROLES is vocabulary.ROLES
    assert {f"role:{r}" for r in vocabulary.ROLES} <= set(playbook_builder.ALERT_TARGETS)
    assert set(vocabulary.CONTACT_ROLES) <= set(playbook_builder.EMAIL_TARGETS)
    # a playbook may email every contact role a person can give a contact on the Account page
    for role in vocabulary.CONTACT_ROLES:
        definitions.validate_steps([{"type": "email", "to": role, "subject": "Hi", "body": "Hello"}])



def test_targets_means_only_the_prediction_targets():
    """``TARGETS`` once meant import tables in one module and churn/expansion in another."""
    owners = []
    for path in _product_files():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.append(node.target.id)
            if "TARGETS" in names:
                owners.append(str(path.relative_to(ROOT)))
    assert owners == ["data/vocabulary.py"]
