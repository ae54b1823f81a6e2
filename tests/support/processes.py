"""Child-process bodies for the multi-process tests (the spawn start method imports them by name)."""

from __future__ import annotations


def trigger_in_process(ws_path: str, playbook_id: int, account_id: str, barrier, out) -> None:
    """Child-process body for the two-process idempotency test (spawn start method)."""
    from data.workspace import open_workspace
    from playbooks import trigger_manual

    ws = open_workspace(ws_path)
    barrier.wait(60)  # a multiprocessing Barrier: every child waits here until all are ready
    run = trigger_manual(ws.engine, ws.warehouse, playbook_id, account_id, actor="proc")
    out.put((run.id, run.created))


def run_due_in_process(ws_path: str, barrier, out) -> None:
    """Child-process body: one ``run_due`` pass."""
    from data.workspace import open_workspace
    from playbooks import run_due

    ws = open_workspace(ws_path)
    barrier.wait(60)  # a multiprocessing Barrier: every child waits here until all are ready
    out.put(run_due(ws.engine, ws.warehouse, ws.settings)["runs_created"])
