"""My tasks as a compact, sortable, paged table: no task is hidden behind a cap."""

from __future__ import annotations

from datetime import timedelta

import pytest

import playbooks as pb
from data.access import Viewer
from data.opstore import now
from playbooks.definitions import create_playbook
from tests.support.apptest import run_app

MY_TASKS = "views/my_tasks.py"
CSM1 = Viewer("csm1", ("csm",), "Avery Chen")
SIX_TASKS = [{"type": "task", "title": f"Step {k} for {{{{ account.name }}}}", "due_days": k} for k in range(1, 7)]


@pytest.fixture()
def many_tasks(tiny_ws):
    """30 open tasks for csm1 (Avery Chen): five playbooks x six steps on Acme Corp (A1)."""
    for n in range(5):
        playbook = create_playbook(tiny_ws.engine, "manager", name=f"Plan {n}", steps=SIX_TASKS, holdout_pct=0)
        pb.trigger_manual(tiny_ws.engine, tiny_ws.warehouse, playbook.id, "A1", actor="manager",
                          at=now() - timedelta(days=3))
    return tiny_ws


@pytest.mark.stores
def test_every_task_is_reachable_through_the_pages(many_tasks):
    at = run_app("csm1", MY_TASKS)
    assert not at.exception
    first = at.dataframe[0].value
    assert len(first) == 25
    assert not any("first 25" in c.value for c in at.caption)
    assert any("30 tasks · showing 1–25" in c.value for c in at.caption)
    at.number_input(key="tasks_page").set_value(2).run()
    assert not at.exception
    second = at.dataframe[0].value
    assert len(second) == 5
    assert set(first["title"]) | set(second["title"]) == {f"Step {k} for Acme Corp" for k in range(1, 7)}
    assert len(first) + len(second) == len(pb.my_tasks(many_tasks.engine, CSM1, warehouse=many_tasks.warehouse))


@pytest.mark.stores
def test_the_table_shows_account_facts_and_sorts(many_tasks):
    at = run_app("csm1", MY_TASKS)
    table = at.dataframe[0].value
    assert {"due_at", "account_label", "arr", "p_churn", "renewal_date", "state"} <= set(table.columns)
    assert table.iloc[0]["arr"] == 3000  # Acme Corp: $250 MRR
    assert table.iloc[0]["state"] == "overdue by 2 days"
    assert list(table["due_at"]) == sorted(table["due_at"])
    assert table.iloc[0]["account_link"] == "account?id=A1"
    at.selectbox(key="tasks_page_size").set_value(50).run()
    assert len(at.dataframe[0].value) == 30
    at.selectbox(key="tasks_sort").set_value("Account").run()
    assert not at.exception


@pytest.mark.stores
def test_a_day_reads_as_one_day(tiny_ws):
    playbook = create_playbook(tiny_ws.engine, "manager", name="One", holdout_pct=0,
                               steps=[{"type": "task", "title": "Call", "due_days": 1}])
    pb.trigger_manual(tiny_ws.engine, tiny_ws.warehouse, playbook.id, "A1", actor="manager",
                      at=now() - timedelta(days=2, hours=1))
    at = run_app("csm1", MY_TASKS)
    assert list(at.dataframe[0].value["state"]) == ["overdue by 1 day"]


@pytest.mark.stores
def test_everyones_tasks_include_those_assigned_to_someone_without_a_login(tiny_ws):
    """A manager's "Everyone's" lists every task they may see, not only those of known users and CSM names."""
    playbook = create_playbook(tiny_ws.engine, "manager", name="Hand-off", holdout_pct=0,
                               steps=[{"type": "task", "title": "Call {{ account.name }}", "due_days": 3}])
    pb.trigger_manual(tiny_ws.engine, tiny_ws.warehouse, playbook.id, "A2", actor="manager",
                      assignee="Temp Contractor")
    manager = run_app("manager", MY_TASKS)
    assert not manager.exception
    table = manager.dataframe[0].value
    assert "Call Globex" in set(table["title"]) and "Temp Contractor" in set(table["assignee"])
    csm = run_app("csm2", MY_TASKS)  # Jordan owns Globex, but the task is not theirs
    assert not csm.exception and not any("Call Globex" in set(d.value.get("title", [])) for d in csm.dataframe)


@pytest.mark.stores
def test_a_csm_asking_for_everyones_tasks_still_gets_only_their_book(tiny_ws):
    playbook = create_playbook(tiny_ws.engine, "manager", name="Both books", holdout_pct=0,
                               steps=[{"type": "task", "title": "Review {{ account.name }}", "due_days": 3}])
    for account in ("A1", "A2"):
        pb.trigger_manual(tiny_ws.engine, tiny_ws.warehouse, playbook.id, account, actor="manager")
    jordan = Viewer("csm2", ("csm",), "Jordan Patel")
    titles = pb.my_tasks(tiny_ws.engine, jordan, warehouse=tiny_ws.warehouse, everyone=True)["title"].tolist()
    assert titles == ["Review Globex"]
    everything = pb.my_tasks(tiny_ws.engine, Viewer("manager", ("manager",)), everyone=True)["title"]
    assert sorted(everything) == ["Review Acme Corp", "Review Globex"]
    with pytest.raises(TypeError, match="warehouse"):
        pb.my_tasks(tiny_ws.engine, jordan, everyone=True)
