"""Accounts page: every "Sort by" choice orders the table and its CSV export the same way, blanks last.

The page keeps only the shown rows' positions in the shared list and builds the export on the click
(``components/cached_scores.AccountsView``); these tests hold that it is still exactly what the table shows,
in the same order, and that the table is the export's first rows when the list is cut.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from components import cached_scores
from data import users as user_store
from tests.support.apptest import record_downloads, run_app
from tests.support.workspaces import build_workspace

ACCOUNTS = "views/accounts.py"
N = 26
# "Sort by" choice -> (column in the export, descending?)
ORDERS = {"Expected loss": ("expected_arr_loss", True), "ARR": ("arr", True),
          "Renewal date": ("renewal_date", False), "Name": ("name", False)}


@pytest.fixture(scope="module")
def varied_ws(tmp_path_factory):
    ws = build_workspace(tmp_path_factory.mktemp("order") / "ws", n=N, varied=True)
    user_store.add_user(ws.settings.auth_file, "manager", role="manager", password="manager-password")
    return ws


@pytest.fixture()
def served(varied_ws, monkeypatch):
    monkeypatch.setenv("CSAI_WORKSPACE", str(varied_ws.path))
    return record_downloads(monkeypatch)


def _table_and_export(served, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    at = run_app("manager", page=ACCOUNTS, params=params)
    table = at.dataframe[0].value.reset_index(drop=True)
    data = served["export_accounts"]
    export = pd.read_csv(io.StringIO((data() if callable(data) else data).decode("utf-8")))
    return table, export


def _in_order(values: pd.Series, descending: bool) -> bool:
    """Non-blank values sorted, every blank after them."""
    blank = values.isna().to_numpy()
    if blank.any() and not blank[blank.argmax():].all():
        return False
    present = values[~blank]
    return bool(present.is_monotonic_decreasing if descending else present.is_monotonic_increasing)


@pytest.mark.parametrize("order", list(ORDERS))
def test_each_order_sorts_the_table_and_the_export_alike_blanks_last(served, order):
    column, descending = ORDERS[order]
    table, export = _table_and_export(served, {"status": "All", "sort": order})
    assert list(table["account_id"]) == list(export["account_id"])
    assert len(export) == N
    values = export[column]
    if column == "renewal_date":
        values = pd.to_datetime(values)
    if column in ("expected_arr_loss", "renewal_date"):
        assert values.isna().any()  # blanks are present, so "blanks last" is tested
    assert _in_order(values, descending), export[[column, "account_id"]]
    # ties keep the list's order: riskiest first (the sort is stable)
    ties = export.assign(key=values.astype(str)).groupby("key", sort=False)["p_churn"]
    assert any(len(group) > 1 for _, group in ties) or column == "name"
    assert all(_in_order(group, descending=True) for _, group in ties)
    shuffled = export.sample(frac=1, random_state=1)  # the order is not the file's by chance
    assert list(shuffled["account_id"]) != list(export["account_id"])


def test_risk_order_lists_the_riskiest_first_and_unscored_last(served):
    table, export = _table_and_export(served, {"status": "All"})
    assert list(table["account_id"]) == list(export["account_id"])
    assert _in_order(export["p_churn"], descending=True)
    assert export["p_churn"].isna().any() and export["p_churn"].notna().sum() > 3


def test_a_cut_table_is_the_first_rows_of_the_filtered_export(served, monkeypatch):
    monkeypatch.setattr(cached_scores, "TABLE_ROWS", 5)
    cached_scores._accounts_view.clear()
    try:
        table, export = _table_and_export(served, {"status": "Active", "sort": "ARR"})
    finally:
        cached_scores._accounts_view.clear()
    assert len(table) == 5 and len(export) > 5
    assert list(table["account_id"]) == list(export["account_id"][:5])
    assert set(export["status"]) == {"active"}
    assert _in_order(export["arr"], descending=True)
