"""Every shape of data the importer accepts gives a working product (issue 12, item 2).

Each generated shape (tests/support/shapes.py: an event log that ended two years ago with integer
ids, no names and no CSM; a flat table with a churn label; accounts and events without billing data)
is driven through ``cli.py`` (import with a mapping, train, promote, score) and then every page is
run with AppTest for every role that may open it, as a user would. The sample company is checked on
the customer pages with the same assertions.
"""

from __future__ import annotations

import re

import pytest

from components.pages import PAGES, allowed
from data import readmodel
from data.workspace import open_workspace
from tests.support import shapes
from tests.support.apptest import run_app
from tests.support.cli import cli_in_process
from tests.support.workspaces import SHAPE_ROLES, add_role_users

ROLES = SHAPE_ROLES
CSM_OF = {"event_log": "Nobody Assigned", "short_log": "Nobody Assigned", "flat_table": "Nobody Assigned",
          "activity_log": "Ana Lima"}
PREDICTION_PAGES = ("views/home.py", "views/portfolio.py", "views/accounts.py", "account", "views/model_lab.py")
BAD_TEXT = re.compile(r"\bNone\b|\bnan\b|\bNaT\b")
RULE_SHAPES = ("short_log",)  # train refuses: the rule health score is the score of record
RULE_PAGES = ("views/today.py", "views/portfolio.py", "views/accounts.py", "views/data.py")




@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Each generated shape imported, trained, promoted and scored through the CLI (once per module)."""
    root = tmp_path_factory.mktemp("shapes")
    out = {}
    for build, train_args in ((shapes.event_log, ["--horizon-days", "30", "--algorithm", "logreg"]),
                              (shapes.flat_table, ["--algorithm", "logreg"]),
                              (shapes.short_log, []),
                              (shapes.activity_log, ["--algorithm", "logreg"])):
        shape = build(root / build.__name__ / "files")
        path = str(root / build.__name__ / "ws")
        logs = {}
        for argv in shape.imports:
            code, text = cli_in_process("--workspace", path, *argv)
            assert code == 0, text
            logs.setdefault("import", []).append(text)
        logs["train"] = cli_in_process("--workspace", path, "train", "--promote", *train_args)
        logs["score"] = cli_in_process("--workspace", path, "score")  # the rule health score where train refused
        ws = open_workspace(path)
        add_role_users(ws, CSM_OF[shape.name])
        out[shape.name] = (shape, ws, logs)
    return out


# --------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("name", ["activity_log", "event_log"])
def test_the_account_picker_lists_every_account_by_arr_then_id(built, name, monkeypatch):
    """Every account is offered once, largest ARR first, then by id (by id only without revenue data, as in the
    activity log); integer ids and missing names read as the id, never "None" or "nan"."""
    _, ws, _ = built[name]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
    if name == "activity_log":
        assert state["arr"].isna().all() and list(state["account_id"]) == sorted(state["account_id"])
    at = run_app("manager", page="views/account.py")
    assert not at.exception
    options = at.selectbox[0].options
    assert options == [f"{n} ({a})" for a, n in zip(state["account_id"], state["name"], strict=True)]
    assert len(set(options)) == len(state) and not any(BAD_TEXT.search(o) for o in options)


def test_event_log_is_as_of_its_end_and_trains(built):
    shape, ws, logs = built["event_log"]
    assert "As of 29 Sep 2024 (the last activity in the data)" in logs["import"][-1]
    # the trainer's own rule: no churn early enough for a 90-day time-ordered test, 30 days train
    assert "enough for a model with a 30-day horizon" in logs["import"][-1]
    assert "Next: cli.py train --promote --horizon-days 30; then cli.py score" in logs["import"][-1]
    assert logs["train"][0] == 0, logs["train"][1]
    assert logs["score"][0] == 0 and "as of 2024-09-30" in logs["score"][1]
    with ws.warehouse.reader() as con:
        assert readmodel.as_of_date(con).isoformat() == "2024-09-29"
        state = readmodel.account_state(con)
    assert (state["name"] == state["account_id"]).all()  # no names: the id is the name
    assert set(state["csm_label"]) == {"unassigned"}
    assert (state["status"] == "active").sum() > 100


def test_flat_table_says_no_horizon_and_bands_fit_probabilities(built):
    shape, ws, logs = built["flat_table"]
    assert "one row per account with a churn label" in logs["import"][0]
    assert logs["train"][0] == 0 and logs["score"][0] == 0, logs["train"][1] + logs["score"][1]
    with ws.warehouse.reader() as con:
        scores = readmodel.latest_scores(con)
        groups = set(readmodel.top_drivers(con, n=10)["group"])
    assert 0 < len(scores) < shape.accounts  # the accounts still with us (see test_flat_table_scores_only_...)
    assert (scores.loc[scores["p_churn"] >= 0.5, "risk_band"] == "high").all()
    assert scores["p_churn"].max() >= 0.5  # the planted causes make some accounts likely to churn
    assert {"Support", "Usage", "Billing", "Contract"} & groups and groups != {"Firmographic"}


def test_short_history_falls_back_to_the_rule_health_score(built):
    shape, ws, logs = built["short_log"]
    text = logs["import"][-1]
    assert "History: 5 months" in text and "no churn is known yet early enough in it" in text
    assert "Next: cli.py score (the rule health score)" in text  # and train agrees: it refuses
    assert logs["train"][0] == 2 and "not enough history" in logs["train"][1]  # no churn is known early enough
    assert "the rule health score works without a model: `cli.py score`" in logs["train"][1]
    assert logs["score"][0] == 0 and "with the rule health score (no production churn model yet)" in logs["score"][1]
    with ws.warehouse.reader() as con:
        assert readmodel.as_of_date(con).isoformat() == "2024-09-29"
        scores = readmodel.latest_scores(con)
    assert set(scores["model_id"]) == {readmodel.RULE_MODEL_ID} and len(scores) > 100


def test_activity_log_says_what_it_supports(built):
    shape, ws, logs = built["activity_log"]
    text = logs["import"][-1]
    assert "accounts and activity without billing data" in text and "no activity for 60 days" in text
    assert "As of 31 Oct 2025" in text
    assert "enough for a model with a 90-day horizon (churn = no activity for 60 days)" in text
    assert logs["train"][0] == 0, logs["train"][1]  # no billing and no label: churn is inactivity
    assert logs["score"][0] == 0 and "rule health score" not in logs["score"][1]
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
    assert state["arr"].isna().all() and not state["has_revenue"].any()
    assert 0 < (state["status"] == "churned").sum() < (state["status"] == "active").sum()
    assert set(state["name"]) == set(shape.names.values())  # cp1252 names read intact
    assert "unassigned" in set(state["csm_label"])


def test_inactivity_days_are_a_setting(built, monkeypatch):
    _, ws, _ = built["activity_log"]
    with ws.warehouse.reader() as con:
        default = (readmodel.account_state(con)["status"] == "churned").sum()
        monkeypatch.setenv("CSAI_INACTIVE_CHURN_DAYS", "200")
        longer = (readmodel.account_state(con)["status"] == "churned").sum()
    assert longer < default


# --------------------------------------------------------------------------- pages
def _texts(at) -> list[str]:
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "text"):
        out += [str(e.value) for e in getattr(at, kind)]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(m.proto.delta or "")]
    return out


def _check_page(at, who: str, page: str, shape_name: str, flat: bool, revenue: bool) -> list[str]:
    assert not at.exception, f"{shape_name} {page} as {who}: {at.exception}"
    texts = _texts(at)
    where = f"{shape_name} {page} as {who}"
    bad = [t for t in texts if BAD_TEXT.search(t)]
    assert not bad, f"{where}: {bad}"
    if who in ("admin", "manager"):
        assert not any("No accounts in your book yet" in t for t in texts), where
    if flat and page in PREDICTION_PAGES:  # pages that state what a score predicts (playbook settings may say days)
        assert not any("90 days" in t for t in texts), f"{where}: {[t for t in texts if '90 days' in t]}"
    if not revenue:
        values = [str(m.value) for m in at.metric]
        assert not any(v.startswith("$0") for v in values), f"{where}: {values}"
    return texts


def _pages_for(role: str) -> list[str]:
    return [p.file for p in PAGES if allowed(p, (role,)) and p.url_path != "account"]


@pytest.mark.parametrize("shape_name", ["event_log", "short_log", "flat_table", "activity_log"])
@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_works_for_every_role(built, shape_name, who, monkeypatch):
    shape, ws, _ = built[shape_name]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    flat, revenue = shape_name == "flat_table", shape_name in ("event_log", "short_log")
    for page in _pages_for(ROLES[who]):
        at = run_app(who, page=page)
        texts = _check_page(at, who, page, shape_name, flat, revenue)
        if shape_name in RULE_SHAPES and page in RULE_PAGES and who != "csm":
            assert any("Rule health score" in t for t in texts), f"{shape_name} {page} as {who}: {texts}"
        if page == "views/accounts.py" and who != "csm" and shape_name in RULE_SHAPES:
            table = at.dataframe[0].value
            assert table["health_score"].notna().all() and "p_churn" not in table
        if page == "views/accounts.py" and who != "csm":
            table = at.dataframe[0].value
            assert len(table) > 0, f"{shape_name}: Accounts shows no account to {who}"
            if "p_churn_change" in table:  # one scoring run so far: "Δ since last" is blank, and said so
                assert table["p_churn_change"].dtype == "float64" and table["p_churn_change"].isna().all()
                assert any("– (first scoring)" in t for t in texts)
        if page == "views/portfolio.py" and who != "csm":
            assert int(at.metric[0].value.replace(",", "")) > 0
        if page == "views/data.py":
            assert any("What your data supports" in t for t in texts), texts
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
    if who == "csm":
        mine = state[state["csm"] == CSM_OF[shape_name]]
        if mine.empty:
            return
        state = mine
    account = state.sort_values("account_id").iloc[0]
    at = run_app(who, page="views/account.py", params={"id": account["account_id"]})
    texts = _check_page(at, who, "account", shape_name, flat, revenue)
    assert at.title[0].value == account["name"] and account["name"]
    if shape_name in RULE_SHAPES and account["status"] == "active":
        assert any(m.label.startswith("Rule health score · ") and m.value.endswith(" / 100") for m in at.metric)
        assert any("Scores in use: **Rule health score**" in t for t in texts)


@pytest.mark.parametrize("who", ["admin", "manager", "datasci"])
def test_sample_company_customer_pages(sample_workspace, who, monkeypatch):
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    for page in ("views/portfolio.py", "views/accounts.py"):
        if not allowed(next(p for p in PAGES if p.file == page), (ROLES[who],)):
            continue
        at = run_app(who, page=page)
        texts = _check_page(at, who, page, "sample", False, True)
        if page == "views/portfolio.py":
            assert any(t.startswith("$") for t in texts)


def test_event_log_is_as_of_its_data_not_today(built, monkeypatch):
    _, ws, _ = built["event_log"]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    at = run_app("admin", page="views/portfolio.py")
    assert not at.exception
    assert any("data as of 29 Sep 2024" in c.value for c in at.caption)


def test_as_of_override_setting(built, monkeypatch):
    _, ws, _ = built["event_log"]
    with ws.warehouse.reader() as con:
        monkeypatch.setenv("CSAI_AS_OF", "2024-06-30")
        assert readmodel.as_of_date(con).isoformat() == "2024-06-30"
        monkeypatch.setenv("CSAI_AS_OF", "30/06/2024")
        with pytest.raises(Exception, match="CSAI_AS_OF"):
            readmodel.as_of_date(con)


def test_data_page_trains_and_scores_with_a_progress_bar(tmp_path, monkeypatch):
    shape = shapes.flat_table(tmp_path / "files", n=150)
    path = str(tmp_path / "ws")
    code, text = cli_in_process("--workspace", path, *shape.imports[0])
    assert code == 0, text
    ws = open_workspace(path)
    add_role_users(ws, "Nobody Assigned")
    monkeypatch.setenv("CSAI_WORKSPACE", path)
    at = run_app("admin", page="views/data.py")
    assert not at.exception
    assert any("What your data supports" in s.value for s in at.subheader)
    assert any("150 accounts" in m.value and "flat table" in m.value for m in at.markdown)
    at.button(key="data_train_score").click().run()
    assert not at.exception
    assert at.progress and at.progress[-1].value == 100
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
        active = int((state["status"] == "active").sum())  # the churned rows are known outcomes, not scored
        assert 0 < active < 150 and len(readmodel.latest_scores(con)) == active
    assert any(f"trained, promoted and used to score {active} accounts" in s.value for s in at.success)


# --------------------------------------------------------------------------- wording and dates a user reads
def _figures(at) -> list:
    import plotly.io as pio

    return [pio.from_json(e.proto.spec) for e in at.get("plotly_chart")]


def _subtitles(at) -> str:
    return " | ".join(f"{f.layout.title.text} {f.layout.title.subtitle.text}" for f in _figures(at))


def test_event_log_account_page_dates_agree_with_the_portfolio(built, monkeypatch):
    """The Account page's caption and its waterfall say the data's as-of date (29 Sep 2024), as the
    Portfolio does: not the scoring wall-clock date, not the day after."""
    shape, ws, _ = built["event_log"]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    portfolio = run_app("manager", page="views/portfolio.py")
    assert any("data as of 29 Sep 2024" in t for t in _texts(portfolio))
    assert "no segment" in _subtitles(portfolio) or any(
        "no segment" in str(f.data[0].y) for f in _figures(portfolio)), "segment-less accounts are 'no segment'"
    with ws.warehouse.reader() as con:
        scored = sorted(readmodel.latest_scores(con)["account_id"])
    at = run_app("manager", page="views/account.py", params={"id": scored[0]})
    texts = _texts(at)
    assert any("within the next **30 days** after 29 Sep 2024" in t for t in texts), texts
    waterfall = _subtitles(at)
    assert "data as of 29 Sep 2024" in waterfall and "Dec 2026" not in waterfall, waterfall


def test_flat_table_scores_only_customers_who_have_not_left(built, monkeypatch):
    """A flat table's churned rows are known outcomes, not risks: only the active accounts are scored,
    and the Portfolio counts accounts (not ARR) in titles that say so."""
    shape, ws, logs = built["flat_table"]
    with ws.warehouse.reader() as con:
        state = readmodel.account_state(con)
        scored = readmodel.latest_scores(con)
    active = set(state.loc[state["status"] == "active", "account_id"])
    assert 0 < len(active) < shape.accounts
    assert set(scored["account_id"]) == active
    assert f"scored {len(active):,} accounts" in logs["score"][1].lower()
    assert "horizon 90 days" not in logs["train"][1] and "from the label column" in logs["train"][1]
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    portfolio = run_app("manager", page="views/portfolio.py")
    arr = [m for m in portfolio.metric if m.label.startswith("ARR")]
    assert [(m.label, m.value) for m in arr] == [("ARR · no revenue data", "–")]
    titles = _subtitles(portfolio)
    assert "Accounts by risk band and segment" in titles and "ARR by risk band" not in titles, titles
    at = run_app("manager", page="views/account.py", params={"id": sorted(active)[0]})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tenure"] == "–" and metrics["ARR · no revenue data"] == "–", metrics
