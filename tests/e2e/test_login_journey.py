"""Browser journeys: log in, open an account, deep links across login, reload and new tab."""

from __future__ import annotations

import pytest

from data.users import demo_password
from tests.support.browser import login, open_first_row, shot, wait_for_auth_cookie, wait_idle

pytestmark = pytest.mark.e2e


def _first_account(sample_workspace, csm: str | None = None) -> tuple[str, str]:
    with sample_workspace.warehouse.reader() as con:
        sql = "SELECT account_id, name FROM accounts WHERE (? IS NULL OR csm = ?) ORDER BY account_id LIMIT 1"
        return con.execute(sql, [csm, csm]).fetchone()


def test_login_and_open_an_account(demo_server, page, sample_workspace):
    login(page, demo_server.url, "manager", demo_password("manager"), path="/accounts")
    page.get_by_role("heading", name="Accounts").wait_for()
    page.get_by_text("Click a row's name to open the account").wait_for()
    wait_idle(page)
    shot(page, "accounts_manager")
    # open the first account by clicking its name cell (the first column after the row checkboxes)
    open_first_row(page)
    page.get_by_text("What drives this account").wait_for()
    wait_idle(page)
    assert "not in your book" not in page.content()
    shot(page, "account_manager")


def test_deep_link_survives_login_reload_and_new_tab(demo_server, page, sample_workspace):
    account_id, name = _first_account(sample_workspace)
    login(page, demo_server.url, "manager", demo_password("manager"), path=f"/account?id={account_id}")
    page.get_by_role("heading", name=name).wait_for()
    assert f"id={account_id}" in page.url
    wait_for_auth_cookie(page)
    page.reload()
    page.get_by_role("heading", name=name).wait_for()
    assert "/account" in page.url
    other = page.context.new_page()
    other.goto(f"{demo_server.url}/account?id={account_id}")
    other.get_by_role("heading", name=name).wait_for()
    shot(other, "account_deep_link_new_tab")


@pytest.mark.page_error_expected("is not in your book")
def test_csm_cannot_open_another_book_by_url(demo_server, page, sample_workspace):
    from data.users import get_user

    csm1 = get_user(sample_workspace.settings.auth_file, "csm1")
    with sample_workspace.warehouse.reader() as con:
        foreign = con.execute("SELECT account_id, name FROM accounts WHERE csm <> ? ORDER BY account_id LIMIT 1",
                              [csm1.csm]).fetchone()
    login(page, demo_server.url, "csm1", demo_password("csm1"), path=f"/account?id={foreign[0]}")
    page.get_by_text("is not in your book").wait_for()
    assert foreign[1] not in page.content()
    shot(page, "account_not_in_book")
