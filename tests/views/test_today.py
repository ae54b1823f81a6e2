"""Today page: the CSM's landing page, scoped to their book, every row one click from done."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

import playbooks as pb
from data import users as user_store
from data.access import Viewer
from data.activities import log_activity
from data.opstore import now
from playbooks import today
from playbooks.definitions import create_playbook
from playbooks.store import tasks as tasks_table
from tests.support.apptest import run_app
from tests.support.workspaces import AS_OF, assert_store, build_workspace

TODAY = "views/today.py"
ROLES = {"admin": ("admin", None), "manager": ("manager", None), "datasci": ("data_scientist", None),
         "maya": ("csm", "Maya Patel"), "jonas": ("csm", "Jonas Weber")}
ONE_TASK = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}]


def _two_scorings(ws, ids: list[str]) -> None:
    """Two scoring runs: A0003 (Maya's) rises from 20% to 45%, A0004 (Jonas's) from 20% to 50%, others flat."""
    rows, drivers = [], []
    for k, when in enumerate([pd.Timestamp(AS_OF) - pd.Timedelta(days=7), pd.Timestamp(AS_OF)]):
        for aid in ids:
            p = 0.2 + (0.25 if (k == 1 and aid == "A0003") else 0) + (0.3 if (k == 1 and aid == "A0004") else 0)
            rows.append({"scored_at": when, "obs_date": when.date(), "account_id": aid, "model_id": "churn-test-1",
                         "target": "churn", "p_churn": p, "expansion_model_id": None, "health_score": 70.0,
                         "risk_band": "high" if p > 0.3 else "medium", "p_expansion": 0.1, "arr": 12000.0,
                         "expected_arr_loss": p * 12000})
            drivers.append({"scored_at": when, "account_id": aid, "target": "churn", "feature": "wau_change",
                            "label": "Weekly active users", "group": "Usage", "value": -0.45, "shap": 0.8,
                            "sentence": "Weekly active users fell 45% vs the previous 60 days", "rank": 1})
    with ws.warehouse.writer("results") as con:
        for name, frame in (("scores", pd.DataFrame(rows)), ("score_drivers", pd.DataFrame(drivers))):
            con.register("df", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM df")
            con.unregister("df")


@pytest.fixture()
def today_ws(tmp_path, monkeypatch, page_store):
    """20 accounts split between Maya Patel (odd ids) and Jonas Weber, two scorings, one overdue task each."""
    ws = build_workspace(tmp_path / "ws", n=20, scores=False)
    _two_scorings(ws, [f"A{i:04d}" for i in range(1, 21)])
    for name, (role, csm) in ROLES.items():
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1", csm=csm)
    playbook = create_playbook(ws.engine, "manager", name="Check in", steps=ONE_TASK, holdout_pct=0)
    five_days_ago = now() - timedelta(days=5)
    for account_id in ("A0001", "A0002"):  # Maya's, Jonas's; due 3 days ago
        pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, account_id, actor="manager", at=five_days_ago)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    yield ws
    if page_store:
        assert_store(ws, page_store)


def _frames(at) -> dict[str, pd.DataFrame]:
    return {df.proto.id: df.value for df in at.dataframe}


def _table(at, key: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if key in df.proto.id)


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "success", "info") for e in at.get(kind))


@pytest.mark.parametrize("username", list(ROLES))
def test_every_role_opens_today(today_ws, username):
    at = run_app(username, TODAY)
    assert not at.exception
    assert at.title[0].value == "Today"
    assert not at.error and not any("cannot open" in w.value for w in at.warning)


def test_a_csm_lands_on_today_and_a_manager_on_portfolio(today_ws):
    at = run_app("maya")
    assert not at.exception
    assert at.title[0].value == "Today"
    at = run_app("manager")
    assert not at.exception
    assert at.title[0].value == "Portfolio"


@pytest.mark.stores
def test_a_csm_sees_only_their_book(today_ws):
    at = run_app("maya", TODAY)
    assert not at.exception
    shown = texts(at)
    assert "Call Company 1" in shown and "Call Company 2" not in shown
    assert "overdue by 3 days" in shown
    renewals = _table(at, "today_renewals_table")
    assert set(renewals["name"]) == {"Company 1"}  # A0001 renews in 30 days; A0002 (Jonas's) too but not hers
    risk = _table(at, "today_risk_table")
    assert list(risk["name"]) == ["Company 3"]
    assert risk.iloc[0]["p_churn_change"] == pytest.approx(0.25)
    untouched = _table(at, "today_untouched_table")
    assert "Company 2" not in set(untouched["name"]) and "Company 1" not in set(untouched["name"])  # touched: run
    assert set(untouched["name"]) == {f"Company {i}" for i in range(3, 21, 2)}
    assert all(link.startswith("account?id=A") for link in untouched["open"])
    assert set(untouched["last_touch_kind"]) == {"–"}  # never touched: a dash, not "None"


@pytest.mark.stores
def test_a_manager_sees_every_account(today_ws):
    at = run_app("manager", TODAY)
    assert not at.exception
    assert "Call Company 1" in texts(at) and "Call Company 2" in texts(at)
    assert set(_table(at, "today_risk_table")["name"]) == {"Company 3", "Company 4"}


@pytest.mark.stores
def test_complete_and_snooze_a_task_in_one_click(today_ws):
    at = run_app("maya", TODAY)
    with today_ws.engine.connect() as conn:
        rows = conn.execute(sa.select(tasks_table.c.id, tasks_table.c.account_id)).all()
    mine = next(r.id for r in rows if r.account_id == "A0001")
    at.button(key=f"today_done_{mine}").click().run()
    assert not at.exception
    assert "Completed “Call Company 1”." in texts(at)
    assert "Call Company 1" not in "\n".join(m.value for m in at.markdown)
    with today_ws.engine.connect() as conn:
        assert conn.execute(sa.select(tasks_table.c.status).where(tasks_table.c.id == mine)).scalar_one() == "done"

    jonas = run_app("jonas", TODAY)
    theirs = next(r.id for r in rows if r.account_id == "A0002")
    jonas.button(key=f"today_snooze_{theirs}").click().run()
    assert not jonas.exception
    with today_ws.engine.connect() as conn:
        row = conn.execute(sa.select(tasks_table).where(tasks_table.c.id == theirs)).one()
    assert row.status == "snoozed" and row.snoozed_until > now() + timedelta(days=2)
    assert "Nothing due today and nothing overdue." in texts(jonas)


@pytest.mark.stores
def test_logging_an_activity_counts_as_a_touch(today_ws):
    log_activity(today_ws.engine, "A0003", "maya", "call", now().date() - timedelta(days=2), "QBR prep call")
    at = run_app("maya", TODAY)
    untouched = _table(at, "today_untouched_table")
    assert "Company 3" not in set(untouched["name"])
    touches = today.last_touches(today_ws.engine, ["A0003"])
    assert touches.iloc[0]["last_touch_kind"] == "activity"


@pytest.mark.stores
def test_book_tasks_are_scoped_and_count_days_overdue(today_ws):
    maya = Viewer("maya", ("csm",), "Maya Patel")
    stranger = Viewer("nobody", ("csm",), None)
    frame = today.book_tasks(today_ws.engine, maya, ["A0001", "A0003"])
    assert list(frame["account_id"]) == ["A0001"]
    assert frame.iloc[0]["days_overdue"] == 3 and bool(frame.iloc[0]["overdue"])
    assert today.book_tasks(today_ws.engine, stranger, []).empty
    assert len(today.book_tasks(today_ws.engine, Viewer("m", ("manager",)), [])) == 2
