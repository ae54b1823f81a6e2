"""AppTest on the demo workspace: scores on Accounts, and the Account 360 reasons, what-if and notes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from components import cached_scores
from data.opstore import audit_log
from data.opstore import notes as notes_table
from data.users import get_user
from models.scoring import latest_scores
from tests.support.apptest import run_app

ACCOUNTS = "views/accounts.py"
ACCOUNT = "views/account.py"


@pytest.fixture()
def demo_env(sample_workspace, monkeypatch, page_store, request):
    """The sample workspace served to the pages; in a ``stores`` test on PostgreSQL, with the session's
    PostgreSQL copy of its operational store."""
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    if page_store != "postgresql":
        return sample_workspace
    from data.settings import load_settings
    from data.workspace import Workspace

    url = request.getfixturevalue("sample_workspace_pg_url")
    monkeypatch.setenv("CSAI_DATABASE_URL", url)
    ws = Workspace(load_settings(str(sample_workspace.path)))
    assert ws.engine.dialect.name == "postgresql"
    return ws


@pytest.fixture()
def writable_env(sample_workspace_copy, page_store):
    """A private copy of the sample workspace to write notes into; on PostgreSQL, its store's rows are copied
    into the test's own database (page_store) and the copy's SQLite file is removed."""
    if page_store == "postgresql":
        from tests.support.postgres import copy_store

        folder = Path(sample_workspace_copy.path)
        copy_store(f"sqlite:///{folder / 'operational.sqlite'}", os.environ["CSAI_DATABASE_URL"])
        for leftover in folder.glob("operational.sqlite*"):
            leftover.unlink()
        assert sample_workspace_copy.engine.dialect.name == "postgresql"
    return sample_workspace_copy


@pytest.fixture(scope="module")
def top_account(sample_workspace):
    scores = latest_scores(sample_workspace.warehouse)
    return scores.iloc[0]


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


@pytest.mark.stores
def test_accounts_show_risk_sorted_with_reasons(demo_env):
    at = run_app("manager", page=ACCOUNTS)
    assert not at.exception
    table = at.dataframe[0].value
    assert {"p_churn", "risk_band", "top_driver", "p_expansion", "expected_arr_loss", "p_churn_change"} <= set(table)
    assert table["p_churn"].is_monotonic_decreasing
    assert table["top_driver"].notna().mean() > 0.8
    assert _metrics(at)["Expected ARR loss"].startswith("$")


def test_accounts_filter_by_risk_band_and_driver_group(demo_env):
    # the riskiest band the small sample's calibrated scores reach (a weak model keeps them near the base rate)
    band = next(b for b in ("high", "medium", "low") if (latest_scores(demo_env.warehouse)["risk_band"] == b).any())
    at = run_app("manager", page=ACCOUNTS, params={"risk": band})
    assert set(at.dataframe[0].value["risk_band"]) == {band.capitalize()}
    overview = run_app("manager", page=ACCOUNTS).dataframe[0].value
    group = latest_scores(demo_env.warehouse)["top_driver_group"].dropna().iloc[0]
    at = run_app("manager", page=ACCOUNTS, params={"driver": group})
    assert 0 < len(at.dataframe[0].value) < len(overview)


@pytest.fixture()
def table_rows(monkeypatch):
    """Set how many rows the Accounts table draws (the shared view cache is emptied around it)."""
    def set_rows(n: int) -> None:
        monkeypatch.setattr(cached_scores, "TABLE_ROWS", n)
        cached_scores._accounts_view.clear()
    yield set_rows
    cached_scores._accounts_view.clear()


def test_large_books_draw_the_first_rows_in_the_chosen_order(demo_env, table_rows):
    table_rows(10**6)
    every = run_app("manager", page=ACCOUNTS, params={"sort": "ARR"}).dataframe[0].value
    assert every["arr"].is_monotonic_decreasing
    table_rows(50)
    at = run_app("manager", page=ACCOUNTS, params={"sort": "ARR"})
    assert not at.exception
    table = at.dataframe[0].value
    total = int(_metrics(at)["Accounts shown"].replace(",", ""))
    assert len(table) == 50 and total == len(every) > 50
    assert list(table["account_id"]) == list(every["account_id"][:50])  # the 50 largest of all, not of a page
    assert f"Showing the first 50 of {total:,} accounts by ARR" in "\n".join(c.value for c in at.caption)
    at = run_app("manager", page=ACCOUNTS)  # default: riskiest first
    assert at.selectbox(key="sort").value == "Risk"
    assert at.dataframe[0].value["p_churn"].is_monotonic_decreasing


@pytest.mark.parametrize("value", ["bogus", "<script>alert(1)</script>' OR 1=1 --"])
def test_unknown_sort_in_the_url_falls_back_to_risk(demo_env, value):
    at = run_app("manager", page=ACCOUNTS, params={"sort": value})
    assert not at.exception and not at.error
    assert at.selectbox(key="sort").value == "Risk"
    assert at.dataframe[0].value["p_churn"].is_monotonic_decreasing


def test_csm_sees_only_their_scores(demo_env):
    csm = get_user(demo_env.settings.auth_file, "csm1").csm
    at = run_app("csm1", page=ACCOUNTS, params={"status": "All"})
    assert set(at.dataframe[0].value["csm"]) == {csm}


def test_bulk_selection_offers_a_playbook_for_all(demo_env):
    at = run_app("manager", page=ACCOUNTS)
    at.session_state["accounts_table"] = {"selection": {"rows": [0, 1, 2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any("3 selected account" in e.label for e in at.expander)


def test_account_page_explains_the_score(demo_env, top_account):
    at = run_app("manager", page=ACCOUNT, params={"id": top_account["account_id"]})
    assert not at.exception
    metrics = _metrics(at)
    band = top_account["risk_band"]
    assert metrics[f"Churn risk · {band}"] == f"{top_account['p_churn']:.0%}"
    assert "Rule health score" in metrics and "Expansion likelihood" in metrics
    # the waterfall (only the open tab renders; the sample has one scoring, and one point is not a history)
    assert len(at.get("plotly_chart")) == 1
    body = "\n".join(m.value for m in at.markdown)
    assert "raises risk" in body
    assert "Scores predict churn within the next" in "\n".join(c.value for c in at.caption)


def test_what_if_rescores_live(demo_env, top_account):
    at = run_app("manager", page=ACCOUNT, params={"id": top_account["account_id"], "tab": "What-if"})
    assert not at.exception
    assert at.number_input, "actionable metrics are offered"
    for box in at.number_input[:3]:
        box.set_value((box.value or 0) * 3 + 10)
    next(b for b in at.button if b.label == "Re-score").click()
    at.run()
    assert not at.exception
    assert "What-if churn risk" in _metrics(at)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.stores
def test_notes_are_saved_and_audited(writable_env, top_account):
    demo_env = writable_env  # the note is written to a private copy
    account_id = top_account["account_id"]
    at = run_app("manager", page=ACCOUNT, params={"id": account_id, "tab": "Playbooks & notes"})
    assert not at.exception
    note_box = next(t for t in at.text_area if t.label == "Add a note")
    note_box.input("Champion on leave until March; <b>call</b> the CFO")
    next(b for b in at.button if b.label == "Save note").click()
    at.run()
    assert not at.exception
    with demo_env.engine.connect() as conn:
        rows = conn.execute(sa.select(notes_table).where(notes_table.c.account_id == account_id)).fetchall()
        audits = conn.execute(sa.select(audit_log).where(audit_log.c.action == "note.add")).fetchall()
    assert any("Champion on leave" in r.body for r in rows)
    assert any(a.target == account_id for a in audits)
    assert any("Champion on leave" in t.value for t in at.text)


@pytest.mark.stores
def test_empty_note_is_refused_and_nothing_written(writable_env, top_account):
    demo_env = writable_env
    account_id = top_account["account_id"]
    with demo_env.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(notes_table)).scalar()
    at = run_app("manager", page=ACCOUNT, params={"id": account_id, "tab": "Playbooks & notes"})
    next(b for b in at.button if b.label == "Save note").click()
    at.run()
    assert any("empty" in e.value for e in at.error)
    with demo_env.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notes_table)).scalar() == before


def test_csm_cannot_read_another_books_scores(demo_env):
    csm = get_user(demo_env.settings.auth_file, "csm1").csm
    with demo_env.warehouse.reader() as con:
        foreign = con.execute("SELECT account_id FROM accounts WHERE csm <> ? LIMIT 1", [csm]).fetchall()[0][0]
    at = run_app("csm1", page=ACCOUNT, params={"id": foreign, "tab": "What-if"})
    assert any("not in your book" in e.value for e in at.error)
    assert not at.metric and not at.number_input
