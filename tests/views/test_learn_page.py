"""AppTest: the Learn page: every role reads it (and sees it in the menu); deep links, search, editable topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.pages import PAGES, allowed
from tests.support.admin_pages import LEARN, ROLE_LABELS, audit_actions
from tests.support.apptest import button, run_app, texts

SHIPPED_BILLING = Path(__file__).resolve().parents[2] / "content" / "learn" / "billing.md"


@pytest.mark.parametrize("username", list(ROLE_LABELS))
def test_every_role_opens_the_learn_page(tiny_ws, username):
    at = run_app(username, page=LEARN)
    assert not at.exception
    assert "cannot open" not in texts(at) and at.title


def test_menu_shows_only_allowed_pages(tiny_ws):
    visible = {s.url_path for s in PAGES if s.in_menu and allowed(s, ("csm",))}
    assert "learn" in visible and "data" not in visible and "admin" not in visible


def test_learn_deep_link_opens_the_topic(tiny_ws):
    at = run_app("csm1", page=LEARN, params={"topic": "usage"})
    assert not at.exception
    assert at.title[0].value == "Usage"
    assert "What tends to help" in texts(at)
    assert not at.text_area  # only admins edit


def test_learn_unknown_topic_falls_back(tiny_ws):
    at = run_app("manager", page=LEARN, params={"topic": "../../etc/passwd"})
    assert not at.exception
    assert "no topic called" in at.warning[0].value
    assert "How churn scores are made" in at.title[0].value


def test_admin_edits_and_resets_a_topic(tiny_ws):
    shipped = SHIPPED_BILLING.read_text()
    at = run_app("admin", page=LEARN, params={"topic": "billing"})
    at.text_area[0].input("# Billing\n\nCall finance first.")
    button(at, "Save").click()
    at.run()
    assert not at.exception
    assert "Call finance first." in texts(at)
    override = tiny_ws.settings.content_dir / "learn" / "billing.md"
    assert override.read_text().startswith("# Billing")
    assert SHIPPED_BILLING.read_text() == shipped  # the shipped file is untouched
    assert "Call finance first." in texts(run_app("csm1", page=LEARN, params={"topic": "billing"}))

    button(at, "Reset to shipped version").click()
    at.run()
    assert not override.exists()
    assert "Call finance first." not in texts(at)
    assert audit_actions(tiny_ws) == ["learn.reset", "learn.edit"]


def test_topic_edit_needs_a_title(tiny_ws):
    at = run_app("admin", page=LEARN, params={"topic": "usage"})
    at.text_area[0].input("no title here")
    button(at, "Save").click()
    at.run()
    assert "Start the text with a title line" in at.error[0].value
    assert not (tiny_ws.settings.content_dir / "learn" / "usage.md").exists()


def test_learn_search_filters_the_topic_list(tiny_ws):
    at = run_app("csm2", page=LEARN)
    at.text_input(key="learn_search").input("kaplan")
    at.run()
    assert not at.exception
    assert {e.proto.label for e in at.get("page_link")} == {"Reading the charts"}
    at.text_input(key="learn_search").input("no such words anywhere")
    at.run()
    assert not at.get("page_link") and "No topic mentions that" in texts(at)


def test_learn_shows_playbook_resources_of_the_driver_group(tiny_ws):
    resource = Path(__file__).resolve().parents[2] / "content" / "resources" / "usage.md"
    if not resource.exists():
        pytest.skip("no playbook resources shipped yet")
    title = next(line[2:].strip() for line in resource.read_text().splitlines() if line.startswith("# "))
    at = run_app("csm1", page=LEARN, params={"topic": "usage"})
    assert title in [s.value for s in at.subheader]
