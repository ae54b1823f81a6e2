"""Pages say when the scores were made and when the next scheduled run is (CSAI_SCORE_SCHEDULE), or that
there is no schedule; never a command line."""

from __future__ import annotations

import pytest

from tests.support.apptest import run_app, texts
from tests.support.workspaces import write_tiny_scores

PAGES = [("manager", "views/portfolio.py", None), ("manager", "views/accounts.py", None),
         ("manager", "views/today.py", None), ("manager", "views/account.py", {"id": "A2"}),
         ("csm1", "views/today.py", None), ("csm1", "views/accounts.py", None),
         ("csm1", "views/account.py", {"id": "A1"}), ("admin", "views/model_lab.py", None)]
IDS = [f"{user}-{page.split('/')[1][:-3]}" for user, page, _ in PAGES]


@pytest.mark.parametrize(("username", "page", "params"), PAGES, ids=IDS)
def test_pages_name_the_next_scheduled_run(tiny_ws, monkeypatch, username, page, params):
    write_tiny_scores(tiny_ws.warehouse)  # latest run 1 Jul 2026 06:00 UTC, long before today
    monkeypatch.setenv("CSAI_SCORE_SCHEDULE", "weekdays 06:00")
    at = run_app(username, page, params)
    assert not at.exception and not at.error
    shown = texts(at)
    line = next(c.value for c in at.caption if "next scheduled run" in c.value)
    assert "1 Jul 2026 06:00 UTC" in line  # when the scores were made
    assert "(Monday to Friday at 06:00 UTC)" in line
    assert "has not happened yet" in line  # months of weekdays without a run: the job is not running
    assert "cli.py" not in shown


@pytest.mark.parametrize(("username", "page", "params"), PAGES[:5], ids=IDS[:5])
def test_without_a_schedule_pages_say_who_refreshes_scores(tiny_ws, monkeypatch, username, page, params):
    write_tiny_scores(tiny_ws.warehouse)
    monkeypatch.delenv("CSAI_SCORE_SCHEDULE", raising=False)
    at = run_app(username, page, params)
    assert not at.exception and not at.error
    line = next(c.value for c in at.caption if "no scoring schedule set" in c.value)
    assert "1 Jul 2026 06:00 UTC" in line and "Score now" in line
    assert "next scheduled run" not in texts(at) and "cli.py" not in texts(at)


def test_the_outbox_button_names_no_command_for_a_manager(tiny_ws):
    at = run_app("manager", "views/playbooks.py", {"tab": "Outbox"})
    assert not at.exception
    deliver = at.button(key="outbox_dispatch")
    assert "scheduled delivery job" in deliver.help
    assert "run-due" not in deliver.help and "cli.py" not in deliver.help
