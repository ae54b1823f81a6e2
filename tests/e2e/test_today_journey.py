"""Browser journey: a CSM signs in, lands on Today, and acts on a task; screenshots at three widths."""

from __future__ import annotations

from datetime import timedelta

import pytest

import playbooks as pb
from data.opstore import now
from data.users import demo_password, get_user
from playbooks.definitions import create_playbook
from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.e2e

WIDTHS = (1400, 1280, 900)


def _overdue_task_for(ws, username: str) -> str:
    """Start a one-task playbook five days ago for the CSM's biggest account; returns the account name."""
    csm = get_user(ws.settings.auth_file, username).csm
    with ws.warehouse.reader() as con:
        account_id, name = con.execute(
            "SELECT account_id, name FROM accounts WHERE csm = ? ORDER BY account_id LIMIT 1", [csm]).fetchone()
    playbook = create_playbook(ws.engine, "manager", name="Morning check-in (e2e)", holdout_pct=0,
                               steps=[{"type": "task", "title": "Check in with {{ account.name }}", "due_days": 1}])
    pb.trigger_manual(ws.engine, ws.warehouse, playbook.id, account_id, actor="manager",
                      at=now() - timedelta(days=5))
    return name


def test_csm_morning_on_today(private_server, browser):
    demo_server, ws = private_server, private_server.ws
    name = _overdue_task_for(ws, "csm1")
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            login(page, demo_server.url, "csm1", demo_password("csm1"))
            page.get_by_role("heading", name="Today", exact=True).wait_for()
            page.get_by_text(f"Check in with {name}").first.wait_for()
            page.get_by_text("overdue by 4 days").first.wait_for()
            wait_idle(page)
            page.wait_for_timeout(1000)
            assert "cli.py" not in page.content()
            # below 1024 px the sidebar starts collapsed and the figures get the room
            collapsed = page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
            assert collapsed == (width <= 1024)
            shot(page, f"today_csm_{width}")
            page.locator(".st-key-today_untouched").scroll_into_view_if_needed()
            page.wait_for_timeout(800)
            shot(page, f"today_csm_{width}_lists")
        finally:
            context.close()
    # one click completes the task
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        login(page, demo_server.url, "csm1", demo_password("csm1"))
        page.get_by_text(f"Check in with {name}").first.wait_for()
        page.get_by_role("button", name="Complete").first.click()
        page.get_by_text(f"Completed “Check in with {name}”.").wait_for()
    finally:
        context.close()
