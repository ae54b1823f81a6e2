"""Layout at 1400, 1280 and 900 px: metric cards wrap instead of cutting figures to "$…", charts carry
their titles, the Accounts table leads with what a CSM reads first. Screenshots are kept for a person to look at."""

from __future__ import annotations

import pytest

from data.users import demo_password
from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.e2e

WIDTHS = (1400, 1280, 900)

# Every metric card's value and label: is its text cut (wider than its box)?
CUT_METRICS_JS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].flatMap(card =>
  ['stMetricValue', 'stMetricLabel'].map(id => {
    const el = card.querySelector(`[data-testid="${id}"]`);
    if (!el) return null;
    const inner = [el, ...el.querySelectorAll('*')];
    const cut = inner.some(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible');
    return {text: el.innerText, cut};
  })).filter(x => x && x.cut)"""


@pytest.fixture()
def sized_page(browser, manager_state, request):
    """A page of a fresh context at the width, signed in as the manager (one sign-in for the session)."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 1000}, storage_state=manager_state)
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg, width
    context.close()


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_portfolio_cards_wrap_and_charts_carry_titles(demo_server, sized_page):
    page, width = sized_page
    page.goto(demo_server.url)
    page.get_by_role("heading", name="Portfolio").wait_for()
    page.get_by_text("Expected ARR loss").first.wait_for()
    wait_idle(page, 90)
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_timeout(1500)
    shot(page, f"layout_portfolio_{width}")
    page.locator("h3", has_text="Revenue movements").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot(page, f"layout_portfolio_revenue_{width}")
    page.locator("h3", has_text="Renewals ahead").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot(page, f"layout_portfolio_renewals_{width}")
    assert page.evaluate(CUT_METRICS_JS) == []
    # below 1024 px the sidebar starts collapsed: open, it would squeeze the figures into "$…"
    collapsed = page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"
    assert collapsed == (width <= 1024)
    titles = page.locator(".js-plotly-plot .gtitle").evaluate_all("els => els.map(e => e.textContent)")
    assert "12 months of MRR, start to now" in titles and "Renewals ahead and their churn risk" in titles
    assert page.locator(".js-plotly-plot .modebar-btn[data-title*='download' i]").count() > 0

    page.goto(f"{demo_server.url}/accounts")
    page.get_by_text("Click a row's name to open the account").wait_for()
    wait_idle(page, 90)
    page.wait_for_timeout(1000)
    shot(page, f"layout_accounts_{width}")
    assert page.evaluate(CUT_METRICS_JS) == []


def test_account_timeline_and_playbook_builder_at_1280(demo_server, browser, sample_workspace):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        with sample_workspace.warehouse.reader() as con:
            account_id = con.execute("SELECT account_id FROM tickets GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                                     ).fetchone()[0]
        login(page, demo_server.url, "manager", demo_password("manager"), path=f"/account?id={account_id}&tab=Timeline")
        page.get_by_text("Tickets, NPS, invoices, contacts").first.wait_for()
        wait_idle(page, 90)
        legend = page.locator(".js-plotly-plot .legendtext", has_text="warning sign")
        legend.first.wait_for()  # plotly draws the legend after the page's run ends
        assert legend.count() == 1
        shot(page, "layout_account_timeline_1280")

        page.goto(f"{demo_server.url}/playbooks")
        page.get_by_text("New playbook").first.click()
        builder = page.get_by_text("What it does, in order").last
        builder.wait_for()
        wait_idle(page, 90)
        builder.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        shot(page, "layout_playbook_builder_1280")
        preview = page.get_by_text("Preview for a sample account").last
        preview.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        shot(page, "layout_playbook_builder_preview_1280")
    finally:
        context.close()
