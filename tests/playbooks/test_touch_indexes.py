"""The "last touch" change marker, read on every Accounts rerun, reads indexes, not every task and run: with
hundreds of thousands of automatic runs and open tasks (1,000,000 accounts) a scan cost 0.2 s a rerun."""

from __future__ import annotations

import sqlalchemy as sa

from data.opstore import create_engine, ensure_schema
from playbooks.store import runs, tasks


def _plan(engine: sa.Engine, query) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return " | ".join(str(row[-1]) for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))


def test_done_tasks_and_manual_runs_are_read_through_their_indexes(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    ensure_schema(engine)
    done = sa.select(sa.func.count(), sa.func.max(tasks.c.completed_at), sa.func.sum(tasks.c.id)).where(
        tasks.c.status == "done")
    manual = sa.select(sa.func.count(), sa.func.max(runs.c.id)).where(runs.c.trigger_type == "manual")
    per_account = (sa.select(runs.c.account_id, sa.func.max(runs.c.started_at))
                   .where(runs.c.trigger_type == "manual").group_by(runs.c.account_id))
    assert "COVERING INDEX ix_playbook_tasks_status_account" in _plan(engine, done)
    assert "COVERING INDEX ix_playbook_runs_trigger" in _plan(engine, manual)
    assert "COVERING INDEX ix_playbook_runs_trigger" in _plan(engine, per_account)
    assert "SCAN playbook_tasks" not in _plan(engine, done) and "SCAN playbook_runs" not in _plan(engine, manual)
