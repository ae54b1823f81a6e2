"""Browser-test helpers: the Playwright page helpers of ``bench/browser.py`` plus the page-error check.

Every browser test's page is checked for an exception element (``stException``) and for error boxes
(``st.error``) when the test ends and whenever it takes a screenshot; a test that expects an error box
says so with ``@pytest.mark.page_error_expected("text of the box")``.
"""

from __future__ import annotations

from pathlib import Path

from bench.browser import (  # noqa: F401  (re-exported for the browser tests)
    CHROMIUM,
    ROOT,
    Server,
    free_port,
    launch_options,
    login,
    signed_in_state,
    wait_for_auth_cookie,
    wait_idle,
)

MARKER = "page_error_expected"
SHOTS = ROOT / "tests" / "e2e" / "screenshots"
EXCEPTION_SELECTOR = '[data-testid="stException"]'
ERROR_BOX_SELECTOR = '[data-testid="stAlertContentError"]'
_ALLOWED = "_csai_allowed_errors"

# (kind, text) of each exception element and error box on the page
PAGE_ERRORS_JS = """([exception, error]) => {
  const out = [];
  for (const el of document.querySelectorAll(exception)) out.push(['exception', el.innerText]);
  for (const el of document.querySelectorAll(error)) out.push(['error', el.innerText]);
  return out;
}"""


def allow_errors(page, texts: tuple[str, ...]) -> None:
    """Let error boxes containing one of ``texts`` pass the check on ``page`` (and pages opened from it)."""
    setattr(page.context, _ALLOWED, tuple(texts))


def page_errors(page) -> list[str]:
    """Exception elements and error boxes on ``page`` the test did not declare, as ``kind: text`` lines.

    Exception elements never pass; error boxes pass when their text contains one of the allowed texts.
    """
    if page.is_closed():
        return []
    allowed = getattr(page.context, _ALLOWED, ())
    try:
        found = page.evaluate(PAGE_ERRORS_JS, [EXCEPTION_SELECTOR, ERROR_BOX_SELECTOR])
    except Exception:  # noqa: BLE001 - a page mid-navigation has no document to read; nothing to report
        return []
    return [f"{kind}: {text.strip()[:300]}" for kind, text in found
            if kind == "exception" or not any(a in text for a in allowed)]


def assert_no_page_error(page) -> None:
    """Fail when any page of ``page``'s browser context shows an undeclared exception or error box."""
    problems = []
    for pg in page.context.pages:
        problems += [f"{pg.url}: {p}" for p in page_errors(pg)]
    if problems:
        raise AssertionError("the page shows an error:\n" + "\n".join(problems))


def settle_and_check(page, timeout: float = 15) -> None:
    """Let each Streamlit page of the context finish its run (best effort), then :func:`assert_no_page_error`."""
    for pg in page.context.pages:
        if pg.is_closed():
            continue
        try:
            if pg.locator('[data-testid="stApp"]').count():
                wait_idle(pg, timeout=timeout)
        except Exception:  # noqa: BLE001 - a run still going after the timeout is checked as it stands
            pass
    assert_no_page_error(page)


def shot(page, name: str) -> Path:
    """Screenshot ``page`` into tests/e2e/screenshots after checking it shows no undeclared error."""
    assert_no_page_error(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_first_row(page, attempts: int = 3) -> None:
    """Click the first row's account name in the Accounts grid (a canvas) and wait for the Account page.

    The grid is drawn after the page's run ends and redraws when the sidebar closes; a click that lands
    before or during a redraw is repeated, so a loaded machine slows the journey instead of failing it.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # deferred: optional dependency

    for attempt in range(attempts):
        wait_idle(page, 90)
        page.wait_for_timeout(800)
        box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(box["x"] + 120, box["y"] + 55)
        try:
            page.wait_for_url("**/account?id=*", timeout=20_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
