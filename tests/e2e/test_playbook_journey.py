"""Browser journeys of a CSM: start a playbook from the Account page, then complete its task on My tasks."""

from __future__ import annotations

import re

import pytest

import playbooks as pb
from data.access import SYSTEM, Viewer
from data.users import demo_password, get_user
from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.e2e


def _csm1_accounts(ws) -> list[tuple[str, str]]:
    csm = get_user(ws.settings.auth_file, "csm1").csm
    with ws.warehouse.reader() as con:
        return con.execute(
            """SELECT a.account_id, a.name FROM accounts a
               WHERE a.csm = ? AND EXISTS (SELECT 1 FROM subscriptions s
                                           WHERE s.account_id = a.account_id AND s.end_date IS NULL)
               ORDER BY a.account_id""", [csm]).fetchall()


def _follow_up_playbook(ws):
    """A one-task playbook of this test (the starter ones may already run for the account)."""
    existing = next((p for p in pb.list_playbooks(ws.engine) if p.name == "E2E follow-up"), None)
    return existing or pb.create_playbook(
        ws.engine, "manager", name="E2E follow-up", cooldown_days=0,
        steps=[{"type": "task", "title": "Follow up with {{ account.name }}", "due_days": 2}])


def test_csm_completes_a_task_on_my_tasks(private_server, page):
    demo_server, ws = private_server, private_server.ws
    account_id, name = _csm1_accounts(ws)[-1]
    csm = get_user(ws.settings.auth_file, "csm1").csm
    follow_up = _follow_up_playbook(ws)
    run = pb.trigger_manual(ws.engine, ws.warehouse, follow_up.id, account_id, actor="manager",
                            idempotency_key="e2e-tasks")
    title = f"Follow up with {name}"
    tasks = pb.my_tasks(ws.engine, Viewer("csm1", ("csm",), csm), warehouse=ws.warehouse)
    task_id = int(tasks[(tasks["run_id"] == run.id)]["id"].iloc[0])

    login(page, demo_server.url, "csm1", demo_password("csm1"), path="/my_tasks")
    page.get_by_role("heading", name="My tasks").wait_for()
    wait_idle(page)
    shot(page, "my_tasks_csm")
    # pick the task in "Tasks to act on" (the table's row selection fills the same box), then complete it
    page.locator('.st-key-tasks_actions [data-testid="stMultiSelect"] input').click()
    page.keyboard.type(title)
    page.get_by_role("option", name=title, exact=False).first.click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_role("button", name="Complete 1 task").click()
    page.get_by_text("Completed 1 task.").wait_for()
    wait_idle(page)
    shot(page, "my_tasks_after_complete")
    done = pb.my_tasks(ws.engine, Viewer("csm1", ("csm",), csm), status="done", warehouse=ws.warehouse)
    assert task_id in done["id"].tolist()
    assert done.set_index("id").at[task_id, "completed_by"] == "csm1"


def test_csm_starts_a_playbook_from_the_account_page(private_server, page):
    demo_server, ws = private_server, private_server.ws
    account_id, name = _csm1_accounts(ws)[0]
    before = len(pb.list_runs(ws.engine, SYSTEM, account_id=account_id))

    login(page, demo_server.url, "csm1", demo_password("csm1"), path=f"/account?id={account_id}")
    page.get_by_role("heading", name=name).wait_for()
    page.get_by_role("tab", name="Playbooks & notes").click()
    start = page.get_by_role("button", name="Start playbook")
    start.wait_for()
    page.get_by_text("What will happen").wait_for()
    wait_idle(page)
    shot(page, "account_trigger_form")

    start.click()  # the playbook is preselected (suggested first): one click picks, one starts
    page.get_by_text(re.compile(r"^Started .+ run #\d+")).wait_for()
    page.get_by_text("No playbook has run for this account yet.").wait_for(state="detached")  # history updated
    wait_idle(page)
    shot(page, "account_playbook_started")
    runs = pb.list_runs(ws.engine, SYSTEM, account_id=account_id)
    assert len(runs) == before + 1
    assert runs.iloc[0]["triggered_by"] == "csm1" and runs.iloc[0]["trigger_type"] == "manual"

    page.get_by_role("button", name="Start playbook").click()  # again: no second run
    page.get_by_text(re.compile(r"was already started for")).wait_for()
    assert len(pb.list_runs(ws.engine, SYSTEM, account_id=account_id)) == before + 1
