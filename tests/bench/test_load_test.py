"""The browser load test reports what a user would see as broken, and counts it as an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import load_test
from bench.browser import launch_options

pytestmark = pytest.mark.e2e

STAPP = '<div data-testid="stApp" data-test-script-state="notRunning"><div data-testid="stMain">{}</div></div>'
ELEMENT = '<div data-testid="stElementContainer">{}</div>'


CASES = [
    (ELEMENT.format("<h1>Accounts</h1>") + ELEMENT.format('<div data-testid="stDataFrame">grid</div>'), []),
    (ELEMENT.format('<div data-testid="stException">KeyError: boom</div>'), ["exception: KeyError: boom"]),
    (ELEMENT.format('<div data-testid="stAlertContentError">Account \'X\' is not in your book.</div>'),
     ["error: Account 'X' is not in your book."]),
    ("", ["blank page"]),
    (ELEMENT.format("<h1>Sign in</h1>"), ['expected heading "Accounts", got ["Sign in"]: Sign in',
                                         'expected content not shown: [data-testid="stDataFrame"]']),
]


def _problems_on(mains: list[str]) -> list[list[str]]:
    """PROBLEMS_JS for the Accounts page on each static page (in chromium, in a thread without a loop)."""
    from playwright.sync_api import sync_playwright

    _, selector, heading = load_test.PAGES["accounts"]
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            found = []
            for main in mains:
                page.set_content(STAPP.format(main))
                found.append(page.evaluate(load_test.PROBLEMS_JS, [selector, heading]))
            return found
        finally:
            browser.close()


def test_page_problems_are_exceptions_errors_blank_and_missing_content():
    with ThreadPoolExecutor(1) as pool:
        found = pool.submit(_problems_on, [main for main, _ in CASES]).result()
    assert found == [expected for _, expected in CASES]


def test_load_test_counts_an_account_page_error(sample_workspace_copy):
    from models.scoring import latest_scores

    # its sessions sign in (rows in the operational store): a private copy, served as CSAI_WORKSPACE
    scored = latest_scores(sample_workspace_copy.warehouse)["account_id"].iloc[0]
    result = load_test.run([scored, "NO-SUCH-ACCOUNT"], sessions=2)
    assert result["errors"] == ["session 1 account: error: Account 'NO-SUCH-ACCOUNT' is not in your book."]
    assert result["error_count"] == 1
    assert result["accounts"]["n"] == result["account"]["n"] == 2
    assert 0 < result["p50_s"] <= result["p95_s"]
    # each browser's first data grid is loaded before the measured phase, reported apart, and back on Learn
    assert result["first_accounts"]["n"] == 2 and result["first_visit_error_count"] == 0
    assert result["open"]["n"] == 4
