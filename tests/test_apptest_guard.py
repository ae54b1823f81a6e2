"""The shared AppTest guard turns a page's recorded exception into a test failure."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _crashing_page():
    import streamlit as st

    st.write("before the crash")
    raise RuntimeError("boom on the page")


def test_a_crashed_page_fails_the_test():
    at = AppTest.from_function(_crashing_page, default_timeout=30)
    with pytest.raises(AssertionError, match="the page raised an exception"):
        at.run()


@pytest.mark.page_exception_expected
def test_a_test_that_expects_the_crash_can_look_at_it():
    at = AppTest.from_function(_crashing_page, default_timeout=30)
    at.run()
    assert at.exception  # its message is redacted: client.showErrorDetails is "none" (no details to browsers)


def _ok_page():
    import streamlit as st

    st.write("fine")


def test_a_page_run_leaves_this_process_main_module_alone():
    import sys

    before = sys.modules["__main__"]
    AppTest.from_function(_ok_page, default_timeout=30).run()
    assert sys.modules["__main__"] is before  # spawned workers re-import __main__; it must not be a page script
