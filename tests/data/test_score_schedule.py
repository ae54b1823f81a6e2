"""The scoring schedule (CSAI_SCORE_SCHEDULE): what it accepts, when runs are due, and ``cli.py score --if-due``."""

from __future__ import annotations

from datetime import datetime, time

import pytest

import commands.models
from data.errors import UserError
from data.portfolio import scoring_runs
from data.schedule import parse_schedule
from data.settings import SettingsError, load_settings
from tests.support.workspaces import write_tiny_scores


@pytest.mark.parametrize(("raw", "days", "words"), [
    ("daily 06:00", (0, 1, 2, 3, 4, 5, 6), "every day at 06:00 UTC"),
    ("Weekdays 7:30", (0, 1, 2, 3, 4), "Monday to Friday at 07:30 UTC"),
    ("mon 06:00", (0,), "every Monday at 06:00 UTC"),
    ("thu,mon 23:05 UTC", (0, 3), "every Monday and Thursday at 23:05 UTC"),
])
def test_the_forms_an_admin_writes(raw, days, words):
    schedule = parse_schedule(raw)
    assert schedule.days == days and schedule.describe() == words


@pytest.mark.parametrize("raw", [None, "", "off", " OFF "])
def test_no_schedule(raw):
    assert parse_schedule(raw) is None


@pytest.mark.parametrize("raw", ["0 6 * * *", "daily", "daily 25:00", "daily 06:61", "funday 06:00", "hourly 06:00"])
def test_anything_else_is_refused_with_the_forms_to_use(raw, tmp_path):
    with pytest.raises(UserError, match="daily 06:00, weekdays 06:00 or mon,thu 06:00"):
        parse_schedule(raw)
    with pytest.raises(SettingsError, match=r"CSAI_SCORE_SCHEDULE=.* is not a schedule"):
        load_settings(tmp_path / "ws", environ={"CSAI_SCORE_SCHEDULE": raw})


def test_settings_carry_the_schedule(tmp_path):
    settings = load_settings(tmp_path / "ws", environ={"CSAI_SCORE_SCHEDULE": "weekdays 06:00"})
    assert settings.score_schedule.at == time(6, 0)
    assert load_settings(tmp_path / "ws", environ={}).score_schedule is None


def test_next_and_last_runs_skip_days_off():
    weekdays = parse_schedule("weekdays 06:00")
    friday_evening = datetime(2026, 12, 4, 18, 0)  # a Friday
    assert weekdays.next_run(friday_evening) == datetime(2026, 12, 7, 6, 0)  # Monday
    assert weekdays.last_run(datetime(2026, 12, 6, 12, 0)) == datetime(2026, 12, 4, 6, 0)  # Sunday -> Friday
    assert weekdays.next_run(datetime(2026, 12, 7, 6, 0)) == datetime(2026, 12, 8, 6, 0)  # strictly after


def test_a_run_is_due_once_per_scheduled_time_and_missed_after_two_hours():
    daily = parse_schedule("daily 06:00")
    scored = datetime(2026, 12, 7, 6, 1)
    assert not daily.is_due(scored, datetime(2026, 12, 7, 23, 0))
    assert daily.is_due(scored, datetime(2026, 12, 8, 6, 0))
    assert daily.is_due(None, datetime(2026, 12, 8, 5, 0))
    assert daily.missed_run(scored, datetime(2026, 12, 8, 7, 0)) is None  # still within the grace
    assert daily.missed_run(scored, datetime(2026, 12, 8, 8, 30)) == datetime(2026, 12, 8, 6, 0)
    assert daily.missed_run(datetime(2026, 12, 8, 6, 5), datetime(2026, 12, 8, 9, 0)) is None


# ------------------------------------------------------------------ cli.py score --if-due
def _score_if_due(capsys, ws, *extra):
    import cli

    code = cli.main(["--workspace", str(ws.path), "score", "--if-due", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _runs(ws):
    with ws.warehouse.reader() as con:
        return scoring_runs(con)


def test_score_if_due_waits_for_the_next_scheduled_time(tiny_ws, capsys, monkeypatch):
    write_tiny_scores(tiny_ws.warehouse)  # runs at 1 Jun and 1 Jul 2026, 06:00
    monkeypatch.setenv("CSAI_SCORE_SCHEDULE", "daily 06:00")
    monkeypatch.setattr(commands.models, "now", lambda: datetime(2026, 7, 1, 9, 0))  # the CLI's clock
    before = _runs(tiny_ws)
    code, out, err = _score_if_due(capsys, tiny_ws)
    assert code == 0, err
    assert out.strip() == ("Not due: last scored 2026-07-01 06:00 UTC; next scheduled run 2026-07-02 06:00 UTC "
                           "(every day at 06:00 UTC).")
    assert _runs(tiny_ws) == before

    code, out, _ = _score_if_due(capsys, tiny_ws, "--json")
    assert code == 0 and '"scored": false' in out and '"next_run": "2026-07-02T06:00:00"' in out


def test_score_if_due_scores_once_the_time_has_passed(tiny_ws, capsys, monkeypatch):
    write_tiny_scores(tiny_ws.warehouse)
    monkeypatch.setenv("CSAI_SCORE_SCHEDULE", "daily 06:00")
    monkeypatch.setattr(commands.models, "now", lambda: datetime(2026, 7, 2, 6, 10))
    before = _runs(tiny_ws)
    code, out, err = _score_if_due(capsys, tiny_ws)
    assert len(_runs(tiny_ws)) == len(before) + 1  # one new scoring run
    # due: it goes on to score; the tiny company has no trained model, so it scores with the rule health score
    assert code == 0 and "rule health score" in out and "Not due" not in out, err


def test_score_if_due_without_a_schedule_says_how_to_set_one(tiny_ws, capsys, monkeypatch):
    write_tiny_scores(tiny_ws.warehouse)
    monkeypatch.delenv("CSAI_SCORE_SCHEDULE", raising=False)
    before = _runs(tiny_ws)
    code, _, err = _score_if_due(capsys, tiny_ws)
    assert code == 2
    assert "No scoring schedule is set" in err and "CSAI_SCORE_SCHEDULE" in err
    assert _runs(tiny_ws) == before
