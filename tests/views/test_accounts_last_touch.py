"""Accounts: "Days since last touch" per row, the Today page's definition, scoped to the viewer's book;
ARR and expected loss in whole dollars."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pandas as pd
import pytest

from data import users as user_store
from data.activities import log_activity
from data.notes import add_note
from data.opstore import now
from playbooks import today
from tests.support.apptest import record_downloads, run_app
from tests.support.workspaces import build_workspace

ACCOUNTS = "views/accounts.py"


@pytest.fixture()
def touch_ws(tmp_path, monkeypatch):
    """20 scored accounts split between Maya Patel (odd ids) and Jonas Weber; a few touches."""
    ws = build_workspace(tmp_path / "ws", n=20)
    for name, role, csm in (("maya", "csm", "Maya Patel"), ("jonas", "csm", "Jonas Weber"),
                            ("manager", "manager", None)):
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1", csm=csm)
    log_activity(ws.engine, "A0003", "maya", "call", now().date() - timedelta(days=6), "Renewal call")
    add_note(ws.engine, "A0003", "maya", "Sent the QBR deck")  # today: the latest touch wins
    log_activity(ws.engine, "A0005", "maya", "meeting", now().date() - timedelta(days=12), "Onboarding review")
    log_activity(ws.engine, "A0002", "jonas", "email", now().date() - timedelta(days=4), "Pricing question")
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    return ws


def _accounts_table(at):
    table = next(d for d in at.dataframe if d.proto.column_order)
    return table, table.value.set_index("account_id")


def test_a_csm_reads_days_since_last_touch_for_their_book_only(touch_ws):
    at = run_app("maya", ACCOUNTS)
    assert not at.exception and not at.error
    table, rows = _accounts_table(at)
    assert set(rows.index) == {f"A{i:04d}" for i in range(1, 21, 2)}  # Jonas's A0002 is not listed
    days = rows["days_since_touch"]
    assert days["A0003"] == 0 and days["A0005"] == 12
    assert pd.isna(days["A0001"])  # never touched: blank, not 0
    config = json.loads(table.proto.columns)
    assert config["days_since_touch"]["label"] == "Days since last touch"
    assert "days_since_touch" in list(table.proto.column_order)[:7]  # beside what a CSM reads first


def test_the_column_agrees_with_today_and_a_new_touch_counts_at_once(touch_ws):
    at = run_app("manager", ACCOUNTS)
    assert not at.exception
    _, rows = _accounts_table(at)
    assert rows.loc["A0002", "days_since_touch"] == 4  # the manager sees every book
    touches = today.last_touches(touch_ws.engine, list(rows.index))
    expected = today.with_days_since_touch(rows.reset_index()[["account_id"]], touches).set_index("account_id")
    pd.testing.assert_series_equal(rows["days_since_touch"].astype("Int64"),
                                   expected["days_since_touch"].reindex(rows.index), check_names=False)

    log_activity(touch_ws.engine, "A0001", "maya", "call", now().date() - timedelta(days=1), "Check-in")
    at.run()
    assert not at.exception
    assert _accounts_table(at)[1].loc["A0001", "days_since_touch"] == 1


def test_money_columns_read_whole_dollars(touch_ws):
    at = run_app("manager", ACCOUNTS)
    assert not at.exception
    table, rows = _accounts_table(at)
    config = json.loads(table.proto.columns)
    assert config["arr"]["type_config"]["format"] == "$%,d"
    assert config["expected_arr_loss"]["type_config"]["format"] == "$%,d"
    assert (rows["arr"] == rows["arr"].round()).all() and (rows["expected_arr_loss"] % 1 == 0).all()


def test_the_touch_marker_moves_with_every_kind_of_touch(touch_ws):
    """The Accounts page caches every account's touches under this marker, so each touch must move it."""
    before = today.touch_marker(touch_ws.engine)
    assert today.touch_marker(touch_ws.engine) == before  # nothing happened: the cache is used
    add_note(touch_ws.engine, "A0007", "maya", "Followed up")
    after_note = today.touch_marker(touch_ws.engine)
    assert after_note != before
    log_activity(touch_ws.engine, "A0009", "maya", "call", now().date(), "Quick call")
    assert today.touch_marker(touch_ws.engine) != after_note


def test_the_export_has_the_days_since_touch_of_every_account(touch_ws, monkeypatch):
    served = record_downloads(monkeypatch)
    at = run_app("manager", ACCOUNTS)
    assert not at.exception
    data = served["export_accounts"]
    csv = (data() if callable(data) else data).decode("utf-8")
    frame = pd.read_csv(io.StringIO(csv)).set_index("account_id")
    assert len(frame) == 20
    assert frame.loc["A0003", "days_since_touch"] == 0 and frame.loc["A0005", "days_since_touch"] == 12
    assert pd.isna(frame.loc["A0004", "days_since_touch"])  # never touched
