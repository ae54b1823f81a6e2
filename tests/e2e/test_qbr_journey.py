"""Browser journey: a manager prepares a QBR at 1400, 1280 and 900 px.

Signed in (once, for all three widths), read the Portfolio (ARR at risk, renewals, retention), download a chart as a PNG for the
deck, open Accounts sorted by risk and open the riskiest account. At 900 px the sidebar starts
collapsed (the figures get the room), opens and closes on request, and keeps the person's choice.
Screenshots of every step are kept in tests/e2e/screenshots for a person to look at.
"""

from __future__ import annotations

import pytest

from data.access import Viewer
from playbooks.today import scored_book
from tests.support.browser import open_first_row, shot, wait_idle

pytestmark = pytest.mark.e2e

WIDTHS = (1400, 1280, 900)
NARROW = 1024  # components.styles.NARROW_PX

# Every metric card's value and label whose text is cut (wider than its box).
CUT_METRICS_JS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].flatMap(card =>
  ['stMetricValue', 'stMetricLabel'].map(id => {
    const el = card.querySelector(`[data-testid="${id}"]`);
    if (!el) return null;
    const inner = [el, ...el.querySelectorAll('*')];
    const cut = inner.some(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible');
    return cut ? el.innerText : null;
  })).filter(Boolean)"""


def _sidebar_collapsed(page) -> bool:
    return page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "true"


def _settled(page, ms: int = 1200) -> None:
    wait_idle(page, 90)
    page.wait_for_timeout(ms)


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_manager_prepares_a_qbr(demo_server, browser, manager_state, sample_workspace, width, tmp_path):
    with sample_workspace.warehouse.reader() as con:
        book = scored_book(con, Viewer("manager", ("manager",)))
    active = book[book["status"] == "active"]
    # signed in once for the three widths (manager_state): a fresh context each, so no sidebar choice carries over
    context = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True,
                                  storage_state=manager_state)
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(demo_server.url)
        page.get_by_role("heading", name="Portfolio").wait_for()
        for figure in ("Expected ARR loss", "GRR, last 12 months", "NRR, last 12 months", "Annual renewals in 90 days"):
            page.locator('[data-testid="stMetricLabel"]', has_text=figure).first.wait_for()
        page.locator(".js-plotly-plot").first.wait_for()
        _settled(page, 2000)
        assert _sidebar_collapsed(page) == (width <= NARROW)
        assert page.evaluate(CUT_METRICS_JS) == []
        assert "next scheduled run" in page.content() or "no scoring schedule set" in page.content()
        shot(page, f"qbr_portfolio_{width}")

        # the renewals chart goes into the deck as a PNG with its title inside
        chart = page.locator(".js-plotly-plot", has=page.locator(".gtitle", has_text="Renewals ahead")).first
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        shot(page, f"qbr_portfolio_renewals_{width}")
        chart.hover()
        with page.expect_download() as download:
            chart.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
        png = tmp_path / download.value.suggested_filename
        download.value.save_as(png)
        assert png.suffix == ".png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000

        page.locator("h3", has_text="Revenue movements").scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        shot(page, f"qbr_portfolio_retention_{width}")

        # Accounts from the menu; at 900 px the menu is opened first, then closed again
        if width <= NARROW:
            page.locator('[data-testid="stExpandSidebarButton"]').click()
            page.wait_for_timeout(500)
            assert not _sidebar_collapsed(page)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Accounts").click()
        page.get_by_text("Click a row's name to open the account").wait_for()
        _settled(page)
        assert not _sidebar_collapsed(page)  # opened by the person: it stays open on the next page
        if width <= NARROW:
            page.locator('[data-testid="stSidebarCollapseButton"] button').click()
            page.wait_for_timeout(500)
            assert _sidebar_collapsed(page)
        sort = page.locator('[data-testid="stSelectbox"]', has_text="Sort by")
        assert sort.locator("input").input_value() == "Risk"
        assert page.evaluate(CUT_METRICS_JS) == []
        shot(page, f"qbr_accounts_{width}")

        # the first row is the riskiest account; its name opens it
        open_first_row(page)
        page.get_by_text("What drives this account").first.wait_for()
        _settled(page, 1500)
        account_id = page.url.split("id=")[1].split("&")[0]
        opened = active.set_index("account_id").loc[account_id]
        assert opened["p_churn"] == pytest.approx(active["p_churn"].max())
        assert page.get_by_role("heading", name=opened["name"]).count() == 1
        assert _sidebar_collapsed(page) == (width <= NARROW)
        assert page.evaluate(CUT_METRICS_JS) == []
        shot(page, f"qbr_account_{width}")
    finally:
        context.close()
