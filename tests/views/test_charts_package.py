"""``components/charts/`` is a package by page area: the package still offers every builder; none uses Streamlit."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pandas as pd

import components.charts as charts

MODULES = sorted(m.name for m in pkgutil.iter_modules(charts.__path__))


def _public(module) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def test_one_module_per_page_area():
    assert MODULES == ["account", "base", "data_quality", "model", "outcomes", "portfolio"]


def test_the_package_reexports_every_public_builder_and_constant():
    for name in MODULES:
        module = importlib.import_module(f"components.charts.{name}")
        for public in _public(module):
            assert getattr(charts, public) is getattr(module, public), f"{name}.{public}"
            assert public in charts.__all__
    assert all(hasattr(charts, n) for n in charts.__all__)
    assert len([n for n in charts.__all__ if n.startswith("fig_")]) == 28  # the 28 builders of the old charts.py


def test_chart_builders_never_import_streamlit_or_query():
    for path in Path(charts.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in imported if m.split(".")[0] in {"streamlit", "duckdb", "sqlalchemy"}}, path.name
        assert not {m for m in imported if m.startswith(("data.queries", "data.warehouse", "components.cached"))}, \
            path.name


def test_each_area_draws_an_empty_figure_for_no_data():
    for fig in (charts.fig_usage_by_type(pd.DataFrame()), charts.fig_risk_distribution(pd.DataFrame()),
                charts.fig_outcomes_forest(pd.DataFrame()), charts.fig_null_rates({}),
                charts.fig_backtest(pd.DataFrame())):
        assert fig.layout.annotations and not fig.data
