"""The rule health score is the score of record while no model can be trained (issue 12, items 1-3).

Two months of a subscription log and two months of activity without billing data are imported through
``cli.py``; ``train`` refuses (and agrees with the import summary on how much more history is needed),
``score`` then scores every active account with the rule health score, and every page for every role
shows it, labelled as the rule score. A promoted model takes over at the next scoring; playbook rules
on risk bands fire on the rule's bands; training without billing data labels churn by inactivity,
censored at the data's end.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pandas as pd
import pytest
import yaml

from components.pages import PAGES, allowed
from data import readmodel
from data.access import SYSTEM
from data.workspace import open_workspace
from tests.support import shapes
from tests.support.apptest import run_app
from tests.support.cli import cli_in_process
from tests.support.workspaces import SHAPE_ROLES, add_role_users

ROLES = SHAPE_ROLES
CSM_OF = {"two_month_log": "Nobody Assigned", "short_activity_log": "Ana Lima"}
RULE_PAGES = ("views/today.py", "views/portfolio.py", "views/accounts.py", "views/data.py")
BAD_TEXT = re.compile(r"\bNone\b|\bnan\b|\bNaT\b")




@pytest.fixture(scope="session")
def rule_scored(tmp_path_factory) -> dict:
    """Two short shapes imported, refused by ``train --horizon-days 30`` and scored by the rule health score."""
    root = tmp_path_factory.mktemp("rule_score")
    out = {}
    for build in (shapes.two_month_log, shapes.short_activity_log):
        shape = build(root / build.__name__ / "files")
        path = str(root / build.__name__ / "ws")
        logs = {}
        for argv in shape.imports:
            code, text = cli_in_process("--workspace", path, *argv)
            assert code == 0, text
            logs["import"] = text
        logs["train"] = cli_in_process("--workspace", path, "train", "--promote", "--horizon-days", "30")
        logs["score"] = cli_in_process("--workspace", path, "score")
        ws = open_workspace(path)
        add_role_users(ws, CSM_OF[shape.name])
        out[shape.name] = (shape, ws, logs)
    return out


SHORT = ["two_month_log", "short_activity_log"]


# --------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("name", SHORT)
def test_import_summary_data_page_and_train_agree_on_the_history_needed(rule_scored, name, monkeypatch):
    _, _, logs = rule_scored[name]
    summary = re.search(r"Training: about (\d+) more weeks of history are needed for a model with a 30-day horizon",
                        logs["import"])
    assert summary, logs["import"]
    code, text = logs["train"]
    assert code == 2 and "Traceback" not in text
    refusal = re.search(r"Import about (\d+) more weeks of data", text)
    assert refusal, text
    assert summary.group(1) == refusal.group(1)  # one rule: models/history.py
    monkeypatch.setenv("CSAI_WORKSPACE", str(rule_scored[name][1].path))
    at = run_app("admin", page="views/data.py")
    assert not at.exception
    assert any(f"about {summary.group(1)} more weeks of history are needed" in m.value for m in at.markdown)
    assert "`cli.py score`" in text and "Next: cli.py score (the rule health score)" in logs["import"]
    ws = rule_scored[name][1]
    with ws.warehouse.reader():
        from models.registry import production_model

        assert production_model(ws.engine, "churn") is None  # nothing was registered


@pytest.mark.parametrize("name", SHORT)
def test_score_without_a_model_writes_the_rule_health_score(rule_scored, name):
    shape, ws, logs = rule_scored[name]
    code, text = logs["score"]
    assert code == 0 and "with the rule health score (no production churn model yet)" in text
    assert "not a probability" in text and "High risk below 50" in text
    with ws.warehouse.reader() as con:
        scores = readmodel.latest_scores(con)
        state = readmodel.account_state(con)
        drivers = readmodel.top_drivers(con, n=10)
    active = set(state.loc[state["status"] == "active", "account_id"])
    assert set(scores["account_id"]) == active and len(active) > 20
    assert set(scores["model_id"]) == {readmodel.RULE_MODEL_ID}
    assert (scores["risk_band"] == readmodel.rule_risk_band(scores["health_score"])).all()
    assert scores["p_churn"].round(6).equals(((100 - scores["health_score"]) / 100).round(6))
    assert scores["expected_arr_loss"].isna().all()  # a scorecard has no expected loss
    assert "high" in set(scores["risk_band"]) and scores["risk_band"].nunique() >= 2  # the rule tells accounts apart
    assert drivers["sentence"].str.contains(r"\(healthy: ", regex=True).all()
    # no contacts, tickets, invoices or NPS were imported: those rules are not known, never failed
    assert not drivers["group"].isin(["Relationship", "Support", "Billing", "Sentiment"]).any()
    code, text = cli_in_process("--workspace", str(ws.path), "explain", scores.iloc[0]["account_id"])
    assert code == 0 and "rule health score" in text and "not a probability" in text and "churn risk" not in text


# --------------------------------------------------------------------------- pages
def _texts(at) -> list[str]:
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "text"):
        out += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(m.proto.delta or "")]
    return out


@pytest.mark.parametrize("name", SHORT)
@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_shows_the_rule_score_for_every_role(rule_scored, name, who, monkeypatch):
    shape, ws, _ = rule_scored[name]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
    mine = state if who != "csm" else state[state["csm"] == CSM_OF[name]]
    for page in [p.file for p in PAGES if allowed(p, (ROLES[who],)) and p.url_path != "account"]:
        at = run_app(who, page=page)
        where = f"{name} {page} as {who}"
        assert not at.exception, f"{where}: {at.exception}"
        texts = _texts(at)
        assert not [t for t in texts if BAD_TEXT.search(t)], where
        if page in RULE_PAGES and not mine.empty:
            assert any("Rule health score" in t for t in texts), f"{where}: {texts}"
        if page == "views/accounts.py" and not mine.empty:
            table = at.dataframe[0].value
            assert len(table) == (mine["status"] == "active").sum(), where
            assert table["health_score"].notna().all() and "p_churn" not in table and "expected_arr_loss" not in table
            assert table["health_score"].is_monotonic_increasing  # riskiest (least healthy) first
        if page == "views/portfolio.py" and not mine.empty:
            assert not any(m.label.startswith("Expected") for m in at.metric), where
            assert any(m.label == "Accounts at high risk (rule)" for m in at.metric), where
        if page == "views/data.py":
            assert any("Scores in use: **Rule health score**" in t for t in texts), where
    if mine.empty:
        return
    with ws.warehouse.reader() as con:
        scores = readmodel.latest_scores(con, list(mine["account_id"]))
    worst = scores.sort_values(["health_score", "account_id"]).iloc[0]
    at = run_app(who, page="views/account.py", params={"id": worst["account_id"]})
    assert not at.exception
    texts = _texts(at)
    assert not [t for t in texts if BAD_TEXT.search(t)]
    label = f"Rule health score · {worst['risk_band']} risk"
    assert any(m.label == label and m.value == f"{worst['health_score']:.0f} / 100" for m in at.metric), texts
    assert not any(m.label.startswith("Churn risk") for m in at.metric)
    assert any(s.value == "Why this rule health score" for s in at.subheader)
    assert any("(healthy: " in t and "points)" in t for t in texts)  # the failed rules in plain words


# --------------------------------------------------------------------------- playbook rules
def test_risk_band_rules_fire_on_the_rule_scores_and_probability_rules_do_not(rule_scored, tmp_path):
    from playbooks.definitions import get_playbook_by_key
    from playbooks.runs import list_runs

    _, shared, _ = rule_scored["two_month_log"]
    path = tmp_path / "ws"
    shutil.copytree(shared.path, path)  # run-due writes runs: a private copy
    ws = open_workspace(str(path))
    folder = tmp_path / "defs"
    folder.mkdir()
    for key, rule in (("rule_high", {"risk_bands": ["high"]}), ("rule_p", {"min_p_churn": 0.01})):
        (folder / f"{key}.yaml").write_text(yaml.safe_dump({
            "key": key, "name": key, "rule": rule, "holdout_pct": 0,
            "steps": [{"type": "task", "title": "Call {{ account.name }}", "due_days": 1}]}))
    assert cli_in_process("--workspace", str(path), "playbooks", "apply", str(folder))[0] == 0
    code, text = cli_in_process("--workspace", str(path), "playbooks", "run-due", "--json")
    assert code == 0, text
    with ws.warehouse.reader() as con:
        scores = readmodel.latest_scores(con)
    high = set(scores.loc[scores["risk_band"] == "high", "account_id"])
    assert high
    fired = list_runs(ws.engine, SYSTEM, playbook_id=get_playbook_by_key(ws.engine, "rule_high").id, limit=10_000)
    assert set(fired["account_id"]) == high
    assert list_runs(ws.engine, SYSTEM, playbook_id=get_playbook_by_key(ws.engine, "rule_p").id).empty


# --------------------------------------------------------------------------- no billing data: inactivity labels
@pytest.fixture(scope="module")
def activity_ws(tmp_path_factory):
    """Ten months of activity without billing data (small), imported and scored with the rule health score."""
    root = tmp_path_factory.mktemp("activity_takeover")
    shape = shapes.activity_log(root / "files", n=100)
    path = str(root / "ws")
    for argv in shape.imports:
        assert cli_in_process("--workspace", path, *argv)[0] == 0
    assert cli_in_process("--workspace", path, "score")[0] == 0
    ws = open_workspace(path)
    add_role_users(ws, "Ana Lima")
    return shape, ws


def test_training_without_billing_labels_inactivity_and_censors_the_end(activity_ws):
    from models.observations import build_observations

    shape, ws = activity_ws
    with ws.warehouse.reader() as con:
        obs = build_observations(con, horizon_days=30)
        events = con.execute("SELECT account_id, max(CAST(event_time AS DATE)) AS last FROM events GROUP BY 1").df()
    frame = obs.frame
    assert obs.label_source == "inactivity" and obs.gap_days == 0
    labelled = frame[frame["labelled"]]
    end = shape.end
    assert (labelled["obs_date"].map(lambda d: d + timedelta(days=30)) <= end).all()
    assert (~frame["labelled"]).any()  # the last weeks' windows run past the data's end: censored, not churned
    churned = labelled[labelled["label_churn"] == 1]
    assert 0 < len(churned) < len(labelled)
    for r in churned.itertuples():  # the 60th day without activity falls in the window, inside the data
        churn = r.churn_date.date() if hasattr(r.churn_date, "date") else r.churn_date
        assert r.obs_date <= churn < r.obs_date + timedelta(days=30) and churn <= end
    last = dict(zip(events["account_id"], pd.to_datetime(events["last"]).dt.date, strict=True))
    # an account last active fewer than 60 days before the end has not churned as far as the data knows
    recent = {a for a, d in last.items() if (end - d).days < 60}
    final = labelled[labelled["obs_date"] == labelled["obs_date"].max()]
    assert recent & set(final["account_id"])
    assert final.loc[final["account_id"].isin(recent), "label_churn"].sum() == 0


def test_a_promoted_model_takes_over_from_the_rule_score(activity_ws, monkeypatch):
    _, ws = activity_ws
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    at = run_app("admin", page="views/portfolio.py")
    assert not at.exception and any("scores: Rule health score" in c.value for c in at.caption)
    code, text = cli_in_process("--workspace", str(ws.path), "train", "--promote", "--algorithm", "logreg", "--horizon-days", "30")
    assert code == 0, text
    code, text = cli_in_process("--workspace", str(ws.path), "score")
    assert code == 0 and "rule health score" not in text
    with ws.warehouse.reader() as con:
        scores = readmodel.latest_scores(con)
    assert not scores["model_id"].map(readmodel.is_rule_score).any()
    at = run_app("admin", page="views/portfolio.py")
    assert not at.exception
    assert not any("Rule health score" in t for t in _texts(at))
    at = run_app("admin", page="views/data.py")
    assert not at.exception
    assert any("Scores in use: the churn model" in m.value for m in at.markdown)


def test_a_young_account_reads_one_month_not_one_months(rule_scored, monkeypatch):
    _, ws, _ = rule_scored["two_month_log"]
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
    young = state[(state["tenure_days"] >= 30) & (state["tenure_days"] < 60)]
    assert not young.empty, "the two-month log has accounts one month old"
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    at = run_app("manager", page="views/account.py", params={"id": young.iloc[0]["account_id"]})
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Tenure"] == "1 month"
