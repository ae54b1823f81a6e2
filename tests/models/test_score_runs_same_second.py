"""Two scoring runs in the same second (a double "Score now", a scheduled run beside a manual one) stay two runs:
the second is stamped one second later, under the writer lock, and never mixes its rows with the first's."""

from __future__ import annotations

from datetime import datetime, timedelta

from data import readmodel
from models.scoring import next_run_time, score_with_rules
from tests.support.workspaces import build_workspace

AT = datetime(2026, 7, 1, 9, 30, 0)


def _runs(ws) -> list[tuple]:
    with ws.warehouse.reader() as con:
        return con.execute("SELECT scored_at, accounts FROM score_runs ORDER BY scored_at").fetchall()


def test_a_second_run_in_the_same_second_is_its_own_run(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=12, scores=False)
    first = score_with_rules(ws, scored_at=AT)
    second = score_with_rules(ws, scored_at=AT)  # the same second
    assert first.scored_at == AT and second.scored_at == AT + timedelta(seconds=1)
    runs = _runs(ws)
    assert [r[0] for r in runs] == [AT, AT + timedelta(seconds=1)]
    with ws.warehouse.reader() as con:
        per_run = dict(con.execute("SELECT scored_at, count(*) FROM scores GROUP BY 1").fetchall())
        drivers_at = {r[0] for r in con.execute("SELECT DISTINCT scored_at FROM score_drivers").fetchall()}
        latest = readmodel.latest_scores(con)
    assert per_run == {AT: first.accounts, AT + timedelta(seconds=1): second.accounts} and first.accounts > 0
    assert drivers_at <= {AT, AT + timedelta(seconds=1)} and AT + timedelta(seconds=1) in drivers_at
    assert latest["account_id"].is_unique and len(latest) == second.accounts  # one latest row per account
    assert (latest["scored_at"] == AT + timedelta(seconds=1)).all()


def test_an_earlier_stamp_never_goes_before_the_latest_run(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=8, scores=False)
    score_with_rules(ws, scored_at=AT)
    late = score_with_rules(ws, scored_at=AT - timedelta(hours=1))
    assert late.scored_at == AT + timedelta(seconds=1)


def test_a_new_run_time_is_after_the_latest_run(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=8, scores=False)
    assert next_run_time(ws) <= datetime.now() + timedelta(days=1)  # no run yet: now (naive UTC)
    future = datetime(2099, 1, 1, 0, 0, 0)
    score_with_rules(ws, scored_at=future)
    assert next_run_time(ws) == future + timedelta(seconds=1)
