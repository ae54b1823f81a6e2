"""Empty cells in every table read "–", never Streamlit's default "None" (issue 12: "None" on real data is a bug).

``st.dataframe`` draws missing values as the word "None" unless the call sets ``placeholder``.
The static check covers every table call in ``views/`` and ``components/``; the page check shows
the setting reaching the browser on the Model lab's data-health table, whose date columns are
empty for tables with no rows (an event log without tickets, NPS or invoices).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.apptest import run_app

ROOT = Path(__file__).resolve().parents[2]
TABLE_CALLS = ("dataframe", "data_editor")


def _table_calls(path: Path) -> list[tuple[int, bool]]:
    """(line, sets placeholder) of each st.dataframe / st.data_editor call in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TABLE_CALLS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "st"):
            out.append((node.lineno, any(k.arg == "placeholder" for k in node.keywords)))
    return out


def test_every_table_call_sets_a_placeholder_for_empty_cells():
    files = sorted([*ROOT.glob("views/**/*.py"), *ROOT.glob("components/**/*.py"), ROOT / "app.py"])
    calls = {f"{p.relative_to(ROOT)}:{line}": ok for p in files for line, ok in _table_calls(p)}
    assert len(calls) > 20, "the scan found the app's tables"
    missing = [where for where, ok in calls.items() if not ok]
    assert not missing, f"tables that would show 'None' in empty cells: {missing}"


def test_the_data_health_table_reaches_the_browser_with_a_dash_for_empty_cells(tiny_ws):
    at = run_app("datasci", page="views/model_lab.py")
    tables = [t for t in at.dataframe if "freshness" in t.value.columns]
    assert tables, "the data-health table is on the Model lab's first tab"
    frame = tables[0].value
    assert frame[["first", "last", "freshness"]].isna().any().any(), "the tiny workspace has tables with no rows"
    assert tables[0].proto.placeholder == "–"
