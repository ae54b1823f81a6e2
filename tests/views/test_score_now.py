"""Business users never see a command line; admins and data scientists score from the app with progress."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from data.portfolio import scoring_runs
from data.workspace import open_workspace
from tests.support.apptest import run_app
from tests.support.workspaces import assert_store

BUSINESS_PAGES = ["views/today.py", "views/portfolio.py", "views/accounts.py", "views/my_tasks.py", "views/alerts.py",
                  "views/playbooks.py", "views/learn.py"]


def everything(at) -> str:
    kinds = ("markdown", "caption", "info", "success", "warning", "error", "text", "title", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


@pytest.mark.parametrize("username", ["csm1", "manager"])
@pytest.mark.parametrize("page", BUSINESS_PAGES)
def test_no_page_shows_a_command_line_before_scoring(tiny_ws, username, page):
    at = run_app(username, page)
    assert not at.exception
    assert "cli.py" not in everything(at)


@pytest.mark.parametrize("username", ["csm1", "manager"])
def test_the_account_page_without_scores_names_no_command(tiny_ws, username):
    at = run_app(username, "views/account.py", {"id": "A1"})
    assert not at.exception
    assert "cli.py" not in everything(at)
    assert "Score now" in everything(at)


@pytest.mark.parametrize("username", ["csm1", "manager"])
def test_an_empty_workspace_names_no_command(empty_workspace, monkeypatch, username):
    from data import users as user_store

    user_store.add_user(empty_workspace.settings.auth_file, username, role="csm" if username == "csm1" else "manager",
                        password="a-long-password-1", csm="Avery Chen" if username == "csm1" else None)
    monkeypatch.setenv("CSAI_WORKSPACE", str(empty_workspace.path))
    at = run_app(username, "views/today.py")
    assert not at.exception
    assert "cli.py" not in everything(at) and "Data page" in everything(at)


def test_only_admins_and_data_scientists_get_score_now(tiny_ws):
    for username, allowed in (("csm1", False), ("manager", False), ("admin", True), ("datasci", True)):
        at = run_app(username, "views/today.py")
        assert not at.exception
        assert any(b.key == "today_score_now" for b in at.button) is allowed


@pytest.mark.stores
def test_score_now_without_a_model_scores_with_the_rule_health_score(tiny_ws):
    from data import readmodel

    at = run_app("datasci", "views/model_lab.py")
    at.button(key="lab_score_now_button").click().run()
    assert not at.exception and not at.error
    assert any("with the rule health score: there is no production churn model yet" in s.value for s in at.success)
    with tiny_ws.warehouse.reader() as con:
        assert len(scoring_runs(con)) == 1
        scores = readmodel.latest_scores(con)
    assert set(scores["model_id"]) == {"rule-health"} and scores["health_score"].notna().all()
    assert scores["expected_arr_loss"].isna().all()  # a scorecard, not a probability: no expected loss


@pytest.mark.stores
def test_score_now_scores_with_the_cli_function(sample_workspace_path, tmp_path, monkeypatch, page_store):
    path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, path)
    if page_store == "postgresql":  # the copy's registry and audit move to the test's PostgreSQL database
        from tests.support.postgres import copy_store

        sqlite_store = path / "operational.sqlite"
        copy_store(f"sqlite:///{sqlite_store}", os.environ["CSAI_DATABASE_URL"])
        for leftover in path.glob("operational.sqlite*"):
            leftover.unlink()
    ws = open_workspace(str(path))
    with ws.warehouse.reader() as con:
        before = scoring_runs(con)
    monkeypatch.setenv("CSAI_WORKSPACE", str(path))
    at = run_app("datasci", "views/model_lab.py")
    assert not at.exception
    assert any("Scores made" in c.value for c in at.caption)
    time.sleep(1.1)  # scoring runs are stamped to the second: never the second the sample was scored in
    at.button(key="lab_score_now_button").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Scored ") and "accounts at" in s.value for s in at.success)
    with ws.warehouse.reader() as con:
        after = scoring_runs(con)
    assert len(after) == len(before) + 1
    if page_store:
        assert_store(ws, page_store)
