"""Browser smoke on PostgreSQL: `streamlit run` serving a copy of the sample workspace whose operational store
is a database on the test PostgreSQL server; a CSM signs in and works through Today and My tasks."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa

import playbooks as pb
from data.opstore import dispose_engine, now
from data.settings import load_settings
from data.signin import auth_sessions
from data.users import demo_password, get_user
from data.workspace import Workspace
from playbooks.definitions import create_playbook
from tests.support.browser import Server, assert_no_page_error, login, wait_for_auth_cookie, wait_idle
from tests.support.postgres import store_copy

pytestmark = pytest.mark.e2e


def test_a_csm_signs_in_and_opens_today_and_my_tasks_on_postgresql(browser, sample_workspace, postgres_url,
                                                                     postgres_template, tmp_path):
    folder = tmp_path / "ws"
    shutil.copytree(sample_workspace.path, folder, ignore=shutil.ignore_patterns("*.log", "operational.sqlite*"))
    url = store_copy(postgres_url, postgres_template, sample_workspace.settings.database_url)
    ws = Workspace(load_settings(str(folder), environ={"CSAI_DATABASE_URL": url}))
    assert ws.engine.dialect.name == "postgresql"
    csm = get_user(ws.settings.auth_file, "csm1").csm
    with ws.warehouse.reader() as con:
        account_id, name = con.execute(
            "SELECT account_id, name FROM accounts WHERE csm = ? ORDER BY account_id LIMIT 1", [csm]).fetchone()
    playbook = create_playbook(ws.engine, "manager", name="Check-in on PostgreSQL (e2e)", holdout_pct=0,
                               steps=[{"type": "task", "title": "Check in with {{ account.name }}", "due_days": 1}])
    pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, account_id, actor="manager", at=now() - timedelta(days=5))

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        with Server(folder, env={"CSAI_DATABASE_URL": url}, start_timeout=120) as server:
            login(page, server.url, "csm1", demo_password("csm1"))
            wait_for_auth_cookie(page)
            page.get_by_role("heading", name="Today", exact=True).wait_for()
            page.get_by_text(f"Check in with {name}").first.wait_for()
            page.get_by_text("overdue by 4 days").first.wait_for()
            page.goto(server.url + "/my_tasks")
            page.get_by_role("heading", name="My tasks", exact=True).wait_for()
            # a row of the task table (a canvas grid: its cells are in the page but not "visible")
            page.get_by_text(f"Check in with {name}").first.wait_for(state="attached")
            wait_idle(page)
            assert_no_page_error(page)
    finally:
        context.close()
    with ws.engine.connect() as conn:  # the sign-in was recorded in PostgreSQL
        signed = conn.execute(sa.select(sa.func.count()).select_from(auth_sessions)
                              .where(auth_sessions.c.username == "csm1")).scalar_one()
    dispose_engine(url)
    assert signed >= 1
    assert not (folder / "operational.sqlite").exists(), "the server used a SQLite store instead of PostgreSQL"
