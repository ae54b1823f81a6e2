"""AppTest of the playbook pages and forms: roles, triggering (idempotent), tasks, alerts, library edits, outcomes."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import playbooks as pb
from data.access import SYSTEM, Viewer
from playbooks.definitions import get_playbook_by_key
from tests.support.apptest import button, run_app, texts
from tests.support.playbook_pages import ALERTS, MY_TASKS, OUTCOMES, PLAYBOOKS, playbook_count, trigger_app

CSM1 = Viewer("csm1", ("csm",), "Avery Chen")
ROLES = {"admin": "admin", "manager": "manager", "csm1": "csm", "datasci": "data_scientist"}
ALLOWED = {PLAYBOOKS: set(ROLES), MY_TASKS: {"admin", "manager", "csm1"}, ALERTS: set(ROLES),
           OUTCOMES: {"admin", "manager", "datasci"}}
TITLES = {PLAYBOOKS: "Playbooks", MY_TASKS: "My tasks", ALERTS: "Alerts", OUTCOMES: "Outcomes"}


def start(ws, key: str, account_id: str = "A1", actor: str = "manager"):
    """Start starter playbook ``key`` for an account through the library (as a page would)."""
    pb.ensure_starter_playbooks(ws.engine)
    playbook = get_playbook_by_key(ws.engine, key)
    return pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, account_id, actor=actor)


# ------------------------------------------------------------------ who may open what
@pytest.mark.parametrize("page", list(ALLOWED))
@pytest.mark.parametrize("username", list(ROLES))
def test_every_page_for_every_role(tiny_ws, page, username):
    at = run_app(username, page)
    assert not at.exception
    if username in ALLOWED[page]:
        assert at.title[0].value == TITLES[page]
        assert not at.error
        assert not any("cannot open" in w.value for w in at.warning)
    else:
        assert any("cannot open" in w.value for w in at.warning)
        assert [b.key for b in at.button] == ["logout_button", "logout_everywhere_button"] and not at.dataframe and not at.get("plotly_chart")


def test_the_menu_has_a_playbooks_section_per_role():
    from components.pages import PAGES, allowed

    specs = {s.url_path: s for s in PAGES if s.section == "Playbooks"}
    assert set(specs) == {"playbooks", "my_tasks", "alerts", "outcomes"}
    assert not allowed(specs["outcomes"], ("csm",)) and allowed(specs["outcomes"], ("data_scientist",))
    assert not allowed(specs["my_tasks"], ("data_scientist",)) and allowed(specs["my_tasks"], ("csm",))


# ------------------------------------------------------------------ trigger form
def skip_failing_steps(at: AppTest) -> AppTest:
    """Tick "Skip this step" on every step the preview says would fail (a run never starts with a dead end)."""
    for box in at.checkbox:
        if ":skip:" in (box.key or ""):
            box.check()
    return at


@pytest.mark.stores
def test_trigger_form_previews_and_a_double_submit_creates_one_run(tiny_ws):
    at = trigger_app("csm1")
    assert not at.exception and not at.error
    usage = get_playbook_by_key(tiny_ws.engine, "usage_drop")
    at.selectbox(key="pbform_playbook:acct:A1").set_value(usage.id).run()
    preview = texts(at)
    assert "Call Acme Corp about the usage drop" in preview  # rendered, not the template
    assert "Add a contact with an email address for Acme Corp" in preview  # nobody to email: a task instead
    assert at.selectbox(key="pbform_assignee:acct:A1").value == ""  # the account's CSM by default

    skip_failing_steps(at)
    button(at, "Start playbook").click().run()
    assert not at.exception and not at.error
    assert any("Started **Usage drop: re-engage**" in s.value for s in at.success)
    button(at, "Start playbook").click().run()  # the second click of a double click
    assert any("already started" in i.value and "nothing new was started" in i.value for i in at.info)

    runs = pb.list_runs(tiny_ws.engine, SYSTEM, account_id="A1", playbook_id=usage.id)
    assert len(runs) == 1
    assert runs.iloc[0]["triggered_by"] == "csm1"


@pytest.mark.stores
def test_two_tabs_submitting_the_same_playbook_make_one_run(tiny_ws):
    first, second = trigger_app("manager"), trigger_app("manager")
    pid = first.selectbox(key="pbform_playbook:acct:A1").value
    second.selectbox(key="pbform_playbook:acct:A1").set_value(pid).run()
    button(skip_failing_steps(first), "Start playbook").click().run()
    button(skip_failing_steps(second), "Start playbook").click().run()
    assert any("already started" in i.value for i in second.info)
    assert len(pb.list_runs(tiny_ws.engine, SYSTEM, account_id="A1", playbook_id=pid)) == 1


@pytest.mark.stores
def test_trigger_form_refuses_another_book_and_read_only_roles(tiny_ws):
    at = trigger_app("csm2", "A1")  # A1 belongs to Avery Chen (csm1)
    assert any("not in your book" in e.value for e in at.error)
    assert not [b for b in at.button if b.label == "Start playbook"]
    at = trigger_app("datasci", "A1")
    assert "Your role can read playbooks but not start them." in texts(at)
    assert not [b for b in at.button if b.label == "Start playbook"]
    assert pb.list_runs(tiny_ws.engine, SYSTEM).empty


def _panel_script():
    import streamlit as st

    from components import playbook_forms
    from components.session import settings
    from data.users import get_user

    user = get_user(settings().auth_file, st.session_state["test_user"])
    playbook_forms.account_playbook_panel(user, "A1")


@pytest.mark.stores
def test_account_panel_shows_history_and_completes_a_task(tiny_ws):
    run = start(tiny_ws, "usage_drop")
    at = AppTest.from_function(_panel_script, default_timeout=30)
    at.session_state["test_user"] = "csm1"
    at.run()
    assert not at.exception
    assert "Call Acme Corp about the usage drop" in texts(at)
    assert at.dataframe[0].value["playbook"].tolist() == ["Usage drop: re-engage"]
    tasks = pb.tasks_for_account(tiny_ws.engine, SYSTEM, "A1")
    first = int(tasks.iloc[0]["id"])
    at.button(key=f"pbpanel_done:{first}").click().run()
    assert not at.exception
    assert len(pb.tasks_for_account(tiny_ws.engine, SYSTEM, "A1")) == len(tasks) - 1
    assert run.id in pb.list_runs(tiny_ws.engine, SYSTEM, account_id="A1")["id"].tolist()


def _bulk_script():
    import streamlit as st

    from components import playbook_forms
    from components.session import settings
    from data.users import get_user

    user = get_user(settings().auth_file, st.session_state["test_user"])
    playbook_forms.bulk_trigger_form(user, ["A1", "A2", "A3", "NOPE"])


@pytest.mark.stores
def test_bulk_form_summarises_created_existing_and_errors(tiny_ws):
    start(tiny_ws, "usage_drop", "A2")
    at = AppTest.from_function(_bulk_script, default_timeout=30)
    at.session_state["test_user"] = "manager"
    at.run()
    usage = get_playbook_by_key(tiny_ws.engine, "usage_drop")
    assert "4 accounts" in texts(at)
    at.selectbox(key="pbform_bulk_playbook").set_value(usage.id)
    button(at, "Start for 4 accounts").click().run()
    assert not at.exception
    summary = " ".join(w.value for w in at.warning)
    assert "2 runs started, 1 already running" in summary and "1 not started" in summary
    assert len(pb.list_runs(tiny_ws.engine, SYSTEM, playbook_id=usage.id)) == 3


# ------------------------------------------------------------------ my tasks
@pytest.mark.stores
def test_csm_completes_snoozes_and_reopens_a_task(tiny_ws):
    start(tiny_ws, "usage_drop")
    tasks = pb.my_tasks(tiny_ws.engine, CSM1, warehouse=tiny_ws.warehouse)
    first, second = (int(t) for t in tasks["id"][:2])
    at = run_app("csm1", MY_TASKS)
    assert not at.exception and not at.error
    assert "Call Acme Corp about the usage drop" in set(at.dataframe[0].value["title"])
    assert {m.label: m.value for m in at.metric}["Open"] == str(len(tasks))

    at.multiselect(key="tasks_pick").set_value([first]).run()
    at.button(key="tasks_complete").click().run()
    assert any("Completed 1 task." in s.value for s in at.success)
    done = pb.my_tasks(tiny_ws.engine, CSM1, status="done", warehouse=tiny_ws.warehouse)
    assert done["id"].tolist() == [first]

    at.multiselect(key="tasks_pick").set_value([second]).run()
    at.button(key="tasks_snooze").click().run()
    assert not at.exception
    mine = pb.my_tasks(tiny_ws.engine, CSM1, warehouse=tiny_ws.warehouse).set_index("id")
    assert mine.at[second, "effective_status"] == "snoozed"

    at.segmented_control(key="tasks_which").set_value("Done").run()
    at.multiselect(key="tasks_pick").set_value([first]).run()
    at.button(key="tasks_reopen").click().run()
    assert first in pb.my_tasks(tiny_ws.engine, CSM1, status="open", warehouse=tiny_ws.warehouse)["id"].tolist()


@pytest.mark.stores
def test_tasks_stay_in_their_book_and_managers_see_everyones(tiny_ws):
    start(tiny_ws, "usage_drop")  # A1: Avery Chen (csm1)
    other = run_app("csm2", MY_TASKS)
    assert "Acme Corp" not in texts(other)
    assert any("No open tasks" in i.value for i in other.info)
    manager = run_app("manager", MY_TASKS)
    table = manager.dataframe[0].value
    assert "Call Acme Corp about the usage drop" in set(table["title"])
    assert set(table["assignee"]) == {"Avery Chen"}


# ------------------------------------------------------------------ alerts
@pytest.mark.stores
def test_alert_inbox_unread_first_mark_read_and_mark_all(tiny_ws):
    start(tiny_ws, "payment_failure", "A1")  # alerts role:manager
    start(tiny_ws, "payment_failure", "A2")
    at = run_app("manager", ALERTS)
    assert not at.exception
    assert "2 unread" in texts(at) and "Payment failed at Acme Corp" in texts(at)
    alert_ids = pb.alerts_for(tiny_ws.engine, Viewer("manager", ("manager",)))["id"].tolist()
    at.button(key=f"read_{alert_ids[0]}").click().run()
    assert pb.unread_alert_count(tiny_ws.engine, Viewer("manager", ("manager",))) == 1
    button(at, "Mark all read").click().run()
    assert pb.unread_alert_count(tiny_ws.engine, Viewer("manager", ("manager",))) == 0
    assert any("Marked 1 alert read." in s.value for s in at.success)
    assert "Payment failed" not in texts(run_app("csm2", ALERTS))  # a role alert for managers only


# ------------------------------------------------------------------ library
def _fill_new(at, name: str, steps: str) -> AppTest:
    at.text_input(key="new_name").input(name)
    at.text_area(key="new_steps").input(steps)
    return button(at, "Create playbook").click().run()


@pytest.mark.stores
def test_bad_step_json_shows_the_error_and_writes_nothing(tiny_ws):
    before = playbook_count(tiny_ws)
    at = run_app("manager", PLAYBOOKS)
    at = _fill_new(at, "Broken play", '[{"type": "task", "due_days": 3}]')
    assert not at.exception
    assert any("Step 1 (task): 'title' is missing" in e.value for e in at.error)
    at = _fill_new(at, "Broken play", '[{"type": "task", ')
    assert any("The steps are not valid JSON" in e.value for e in at.error)
    assert playbook_count(tiny_ws) == before
    assert "Broken play" not in [p.name for p in pb.list_playbooks(tiny_ws.engine, include_inactive=True)]


@pytest.mark.stores
def test_manager_creates_edits_and_deactivates_a_playbook(tiny_ws):
    at = run_app("manager", PLAYBOOKS)
    steps = json.dumps([{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}])
    at.text_area(key="new_rule").input('{"risk_bands": ["high"]}')
    at = _fill_new(at, "QBR prep", steps)
    assert not at.exception and not at.error
    created = next(p for p in pb.list_playbooks(tiny_ws.engine) if p.name == "QBR prep")
    assert created.rule == {"risk_bands": ["high"]} and created.created_by == "manager"

    at.selectbox(key="library_open").set_value(created.id).run()
    at.number_input(key=f"edit_{created.id}_holdout").set_value(30.0)
    button(at, "Save changes").click().run()
    assert pb.get_playbook(tiny_ws.engine, created.id).holdout_pct == 30.0
    at.button(key=f"deactivate_{created.id}").click().run()
    assert not pb.get_playbook(tiny_ws.engine, created.id).active


def test_csm_and_data_scientist_read_the_library_without_edit_forms(tiny_ws):
    for username in ("csm1", "datasci"):
        at = run_app(username, PLAYBOOKS)
        assert "Usage drop: re-engage" in at.dataframe[0].value["name"].tolist()
        assert not [b for b in at.button if b.label in ("Create playbook", "Save changes", "Deactivate")]


# ------------------------------------------------------------------ runs and outbox
def _failed_email(ws):
    """A usage-drop run for A1 whose email to a new champion the mail server refused (a delivery failure:
    a missing contact no longer fails a step, it becomes a task for the CSM to add one)."""
    from playbooks.store import steps

    with ws.warehouse.writer("raw") as con:
        con.execute("INSERT INTO contacts VALUES ('C2', 'A1', 'sam@acme.test', 'champion', DATE '2026-05-25', NULL)")
    run = start(ws, "usage_drop")
    email = next(s for s in pb.get_run(ws.engine, SYSTEM, run.id).steps if s["kind"] == "email")
    with ws.engine.begin() as conn:
        conn.execute(steps.update().where(steps.c.id == email["id"]).values(
            status="failed", attempts=1, last_error="The mail server refused sam@acme.test: mailbox unavailable"))
    return run


def test_a_missing_contact_becomes_a_task_for_the_csm(tiny_ws):
    run = start(tiny_ws, "usage_drop")  # A1's champion left: nobody to email
    made = pb.get_run(tiny_ws.engine, SYSTEM, run.id).steps
    assert not [s for s in made if s["status"] == "failed"]
    assert any(s["kind"] == "task" and "Add a contact with an email address for Acme Corp" in s["payload"]["title"]
               for s in made)


@pytest.mark.stores
def test_runs_are_scoped_and_a_failed_step_can_be_retried(tiny_ws):
    run = _failed_email(tiny_ws)
    failed = next(s for s in pb.get_run(tiny_ws.engine, SYSTEM, run.id).steps if s["status"] == "failed")
    assert {m.label: m.value for m in run_app("csm2", PLAYBOOKS, {"tab": "Runs"}).metric}["Runs shown"] == "0"
    denied = run_app("csm2", PLAYBOOKS, {"tab": "Runs", "run": str(run.id)})
    assert any("not in your book" in e.value for e in denied.error)

    at = run_app("csm1", PLAYBOOKS, {"tab": "Runs", "run": str(run.id)})
    assert not at.exception
    assert f"Run #{run.id}: Usage drop: re-engage" in [h.value for h in at.subheader]
    assert any("The mail server refused sam@acme.test" in e.value for e in at.error)  # the step's error, shown
    at.button(key=f"run{run.id}_retry_{failed['id']}").click().run()
    assert any("queued again" in s.value for s in at.success)
    status = next(s["status"] for s in pb.get_run(tiny_ws.engine, SYSTEM, run.id).steps if s["id"] == failed["id"])
    assert status == "awaiting_confirmation"  # a customer email still waits for a person


@pytest.mark.stores
def test_outbox_lists_what_needs_attention(tiny_ws):
    _failed_email(tiny_ws)
    at = run_app("manager", PLAYBOOKS, {"tab": "Outbox"})
    assert not at.exception
    assert "No SMTP server is configured" in texts(at)
    table = at.dataframe[0].value
    assert table["shown_status"].tolist() == ["failed"] and table["kind"].tolist() == ["email"]


# ------------------------------------------------------------------ outcomes
@pytest.mark.stores
def test_outcomes_without_rule_runs_say_so(tiny_ws):
    at = run_app("manager", OUTCOMES)
    assert not at.exception and not at.error
    assert "No runs have reached the 90-day horizon yet." in texts(at)
    assert {"forest_churn", "rates_churn"} <= {c.key for c in at.get("plotly_chart")}


def test_outcomes_on_the_demo_give_statements_and_intervals(sample_workspace_path, monkeypatch, tiny_ws):
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace_path))
    at = run_app("manager", OUTCOMES)
    assert not at.exception and not at.error
    body = texts(at)
    assert "How to read this" in body
    from data.workspace import open_workspace

    demo = open_workspace(str(sample_workspace_path))
    outcomes = pb.playbook_outcomes(demo.engine, demo.warehouse)
    assert outcomes
    for o in outcomes:  # each playbook's statement as the outcome code words it (verdict or "not enough data")
        assert o.churn.statement in body, o.playbook
    assert "treated" in body.lower() and "holdout" in body.lower()
    at.segmented_control(key="outcome_metric").set_value("Expansion").run()
    assert "forest_expansion" in {c.key for c in at.get("plotly_chart")}
