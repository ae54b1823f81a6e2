"""Browser journeys for the daily users: a manager drills from the portfolio into an account;
a CSM opens an account from their book, reads the reasons and runs a what-if."""

from __future__ import annotations

import pytest

from data.users import demo_password, get_user
from models.scoring import latest_scores
from tests.e2e.conftest import login, shot

pytestmark = pytest.mark.e2e


def test_manager_reviews_portfolio_and_drills_into_an_account(demo_server, page, sample_workspace):
    login(page, demo_server.url, "manager", demo_password("manager"))
    page.get_by_role("heading", name="Portfolio").wait_for()
    page.get_by_text("Expected ARR loss").first.wait_for()
    page.wait_for_timeout(1500)
    shot(page, "portfolio_manager")
    # drill down: the accounts page filtered by segment, then the riskiest account
    page.goto(f"{demo_server.url}/accounts?segment=SMB&risk=high")
    page.get_by_text("Click a row's name to open the account").wait_for()
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 120, box["y"] + 55)
    page.wait_for_url("**/account?id=*")
    page.get_by_text("What drives this account").wait_for()
    assert "Churn risk · high" in page.content()
    shot(page, "account_drilldown_manager")


def test_csm_reads_reasons_and_runs_a_what_if(demo_server, page, sample_workspace):
    csm = get_user(sample_workspace.settings.auth_file, "csm1").csm
    scores = latest_scores(sample_workspace.warehouse)
    with sample_workspace.warehouse.reader() as con:
        book = {r[0] for r in con.execute("SELECT account_id FROM accounts WHERE csm = ?", [csm]).fetchall()}
    account_id = scores[scores["account_id"].isin(book)].iloc[0]["account_id"]
    login(page, demo_server.url, "csm1", demo_password("csm1"), path=f"/account?id={account_id}")
    page.get_by_text("In plain words").wait_for()
    assert "raises risk" in page.content() or "lowers risk" in page.content()
    shot(page, "account_reasons_csm")
    page.get_by_role("tab", name="What-if").click()
    page.get_by_role("button", name="Re-score").wait_for()
    box = page.locator('input[type="number"]').first
    box.fill("0")
    page.get_by_role("button", name="Re-score").click()
    page.get_by_text("What-if churn risk").wait_for()
    page.wait_for_timeout(800)
    shot(page, "account_what_if_csm")
