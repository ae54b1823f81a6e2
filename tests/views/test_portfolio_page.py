"""AppTest of the Portfolio page: every role, scoped numbers, the no-scores state, drill-downs."""

from __future__ import annotations

import pytest

from tests.support.apptest import run_app, texts
from tests.support.workspaces import write_tiny_scores

PORTFOLIO = "views/portfolio.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_keys(at) -> set[str]:
    return {c.key for c in at.get("plotly_chart") if c.key}


@pytest.fixture()
def scored_ws(tiny_ws):
    write_tiny_scores(tiny_ws.warehouse)
    return tiny_ws


@pytest.mark.parametrize("username", ["admin", "manager", "datasci"])
def test_whole_company_roles_see_every_account(scored_ws, username):
    at = run_app(username, PORTFOLIO)
    assert not at.exception and not at.error
    assert at.title[0].value == "Portfolio"
    m = metrics(at)
    assert m["Active accounts"] == "2"
    assert m["ARR"] == "$219k"  # (250 + 18,000) × 12
    assert m["Expected ARR loss (the model's horizon)"] == "$6,120"  # 0.6 × 3,000 + 0.02 × 216,000
    assert m["Accounts at high risk"] == "1"
    assert m["Expansion pipeline"] == "$108k"
    assert m["GRR, last 12 months"] == "88.0%"  # 18,250 / 20,750
    assert m["Annual renewals in 90 days"] == "1"  # Globex on 1 Sep 2026
    assert {"risk_distribution", "risk_by_segment", "risk_by_csm", "mrr_waterfall", "mrr_bridge",
            "survival_segment"} <= chart_keys(at)
    assert "All accounts" in at.caption[0].value
    assert "How to read this" in texts(at)


def test_a_csm_sees_only_their_book(scored_ws):
    at = run_app("csm1", PORTFOLIO)
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["Active accounts"] == "1"  # Acme; Initech churned
    assert m["ARR"] == "$3,000"
    assert m["Expected ARR loss (the model's horizon)"] == "$1,800"
    assert m["GRR, last 12 months"] == "9.1%"  # 250 / 2,750
    assert m["Annual renewals in 90 days"] == "0"
    assert "risk_by_csm" not in chart_keys(at)  # one CSM: no per-CSM chart
    assert "Book of Avery Chen" in at.caption[0].value
    assert all("Globex" not in t.value.to_string() for t in at.dataframe)
    other = metrics(run_app("csm2", PORTFOLIO))
    assert (other["Active accounts"], other["ARR"], other["Expected ARR loss (the model's horizon)"]) == (
        "1", "$216k", "$4,320")


def test_without_scores_the_page_says_how_to_get_them(tiny_ws):
    at = run_app("manager", PORTFOLIO)
    assert not at.exception and not at.error
    assert metrics(at)["Expected ARR loss"] == "–"
    assert any("No scores yet. An admin or data scientist makes them with **Score now**" in i.value for i in at.info)
    assert "risk_by_segment" not in chart_keys(at)
    assert {"mrr_waterfall", "survival_segment"} <= chart_keys(at)  # revenue and retention need no scores


def test_empty_workspace_says_what_to_do(tmp_path, monkeypatch, tiny_ws):
    from data.workspace import open_workspace

    empty = open_workspace(str(tmp_path / "empty"))
    empty.settings.auth_file.parent.mkdir(parents=True, exist_ok=True)
    empty.settings.auth_file.write_text(tiny_ws.settings.auth_file.read_text())
    monkeypatch.setenv("CSAI_WORKSPACE", str(empty.path))
    at = run_app("manager", PORTFOLIO)
    assert not at.exception
    assert "no data yet" in texts(at)


def test_movers_show_the_driver(scored_ws):
    at = run_app("manager", PORTFOLIO)
    tables = {t.key: t for t in at.dataframe if t.key}
    up, down = tables["movers_up"].value, tables["movers_down"].value
    assert up["name"].tolist() == ["Acme Corp"] and up["driver"].tolist() == ["Logins (30 days)"]
    assert up["change"].tolist() == pytest.approx([30.0])  # points
    assert down["name"].tolist() == ["Globex"] and down["driver"].tolist() == ["Seat utilisation"]


def _click_bar(group: str) -> dict:
    return {"selection": {"points": [{"x": 1000.0, "y": group, "curve_number": 0, "point_index": 0,
                                      "customdata": [group, 1, 1000.0, 10.0]}],
                          "point_indices": [0], "box": [], "lasso": []}}


def test_clicking_a_segment_opens_accounts_filtered_by_it(scored_ws):
    at = run_app("manager", PORTFOLIO)
    at.session_state["risk_by_segment"] = _click_bar("SMB")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Accounts"
    assert at.query_params["segment"] in ("SMB", ["SMB"])
    assert at.multiselect(key="segment").value == ["SMB"]
    assert at.dataframe[0].value["name"].tolist() == ["Acme Corp"]


def test_clicking_a_csm_opens_their_accounts(scored_ws):
    at = run_app("admin", PORTFOLIO)
    at.session_state["risk_by_csm"] = _click_bar("Jordan Patel")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Accounts"
    assert at.query_params["csm"] in ("Jordan Patel", ["Jordan Patel"])
    assert at.dataframe[0].value["name"].tolist() == ["Globex"]


def test_clicking_a_renewal_opens_the_account(scored_ws):
    at = run_app("manager", PORTFOLIO)
    assert at.dataframe(key="renewals_table").value["name"].tolist() == ["Globex"]  # annual contracts only
    at.session_state["renewals_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Globex"
    assert at.query_params["id"] in ("A2", ["A2"])


def test_monthly_plans_can_join_the_renewals(scored_ws):
    at = run_app("manager", PORTFOLIO)
    at.toggle(key="renewals_monthly").set_value(True).run()
    names = at.dataframe(key="renewals_table").value["name"].tolist()
    assert names == ["Globex", "Acme Corp"]  # sorted by expected loss: 4,320 then 1,800


def test_clicking_a_mover_opens_the_account(scored_ws):
    at = run_app("csm1", PORTFOLIO)
    at.session_state["movers_up"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Acme Corp"
