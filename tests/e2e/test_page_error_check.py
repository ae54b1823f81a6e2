"""The browser tests' page-error check finds Streamlit's exception element and error boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit

from tests.support.browser import ERROR_BOX_SELECTOR, EXCEPTION_SELECTOR, allow_errors, assert_no_page_error

pytestmark = pytest.mark.e2e

STATIC = Path(streamlit.__file__).parent / "static"


def _testid(selector: str) -> str:
    return selector.split('"')[1]


def test_the_selectors_are_the_ones_streamlit_renders():
    bundle = "".join(p.read_text(errors="ignore") for p in STATIC.rglob("*.js"))
    assert _testid(EXCEPTION_SELECTOR) in bundle
    # the error box's test id is built as `stAlertContent${Kind}` with the kind capitalised
    assert "stAlertContent${" in bundle and "ERROR" in bundle


def _page_with(page, body: str):
    page.set_content(f'<div data-testid="stApp">{body}</div>')
    return page


def test_an_exception_element_fails_the_check(page):
    _page_with(page, '<div data-testid="stException">ZeroDivisionError: division by zero</div>')
    with pytest.raises(AssertionError, match="exception: ZeroDivisionError: division by zero"):
        assert_no_page_error(page)
    page.set_content("<p>fine</p>")  # the fixture's own check at teardown must pass


def test_an_error_box_fails_the_check_unless_declared(page):
    _page_with(page, f'<div data-testid="{_testid(ERROR_BOX_SELECTOR)}">Import failed: bad date</div>'
                     '<div data-testid="stAlertContentWarning">just a warning</div>')
    with pytest.raises(AssertionError, match="error: Import failed: bad date") as failure:
        assert_no_page_error(page)
    assert "just a warning" not in str(failure.value)
    allow_errors(page, ("Import failed",))
    assert_no_page_error(page)
    allow_errors(page, ())
    page.set_content("<p>fine</p>")


@pytest.mark.page_error_expected("not in your book")
def test_a_declared_error_box_passes_but_an_exception_never_does(page):
    _page_with(page, '<div data-testid="stAlertContentError">Account A-1 is not in your book.</div>')
    assert_no_page_error(page)
    _page_with(page, '<div data-testid="stException">not in your book</div>')
    with pytest.raises(AssertionError, match="exception: not in your book"):
        assert_no_page_error(page)
    page.set_content("<p>fine</p>")
