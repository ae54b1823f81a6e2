"""Every signed-in page carries the script that starts the sidebar collapsed below 1024 px (the browser tests
check what it does at 900, 1280 and 1400 px); the sign-in page has no sidebar to collapse."""

from __future__ import annotations

import pytest

from components import styles
from tests.support.apptest import run_app


@pytest.mark.parametrize(("username", "page"), [("manager", "views/portfolio.py"), ("manager", "views/accounts.py"),
                                                ("csm1", "views/today.py"), ("csm1", "views/account.py")])
def test_signed_in_pages_collapse_the_sidebar_when_narrow(tiny_ws, username, page):
    at = run_app(username, page, {"id": "A1"} if page.endswith("account.py") else None)
    assert not at.exception
    scripts = [h for h in at.sidebar.get("html") if "stSidebarCollapsed-" in h.proto.body]
    assert len(scripts) == 1
    body = scripts[0].proto.body
    assert f"window.innerWidth > {styles.NARROW_PX}" in body and "stSidebarCollapseButton" in body
    assert styles.NARROW_PX == 1024
    assert "@media (max-width: 1024px)" in styles.CSS  # narrower margins so four cards fit a row


def test_the_sign_in_page_has_no_sidebar_script(tiny_ws):
    at = run_app(None)
    assert not at.exception
    assert not [h for h in at.get("html") if "stSidebarCollapsed-" in h.proto.body]
