"""Starter playbooks are written when a workspace's store is created, never by a read."""

from __future__ import annotations

import sqlalchemy as sa

from data.opstore import read_audit
from data.workspace import open_workspace
from playbooks import list_playbooks
from playbooks.starter import STARTER_PLAYBOOKS
from playbooks.store import playbooks as playbooks_table
from tests.support.cli import cli


def _keys(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(playbooks_table.c.key)).scalars())


def test_a_new_workspace_starts_with_the_starter_playbooks(tmp_path):
    ws = open_workspace(str(tmp_path / "ws"))
    assert _keys(ws.engine) == sorted(s["key"] for s in STARTER_PLAYBOOKS)
    assert read_audit(ws.engine) == []  # part of creating the workspace, before anyone acted in it


def test_listing_playbooks_writes_nothing(tmp_path):
    ws = open_workspace(str(tmp_path / "ws"))
    with ws.engine.begin() as conn:
        conn.execute(playbooks_table.delete())
    assert list_playbooks(ws.engine, include_inactive=True) == []
    assert _keys(ws.engine) == []


def test_migrate_seeds_a_new_store_once_and_later_starts_leave_removed_starters_out(tmp_path):
    path = tmp_path / "ws"
    proc = cli("migrate", ws=path)
    assert proc.returncode == 0, proc.stderr
    ws = open_workspace(str(path))
    assert _keys(ws.engine) == sorted(s["key"] for s in STARTER_PLAYBOOKS)
    with ws.engine.begin() as conn:
        conn.execute(playbooks_table.delete().where(playbooks_table.c.key == "low_nps"))
    proc = cli("playbooks", "list", ws=path)  # another process opens the existing store
    assert proc.returncode == 0, proc.stderr
    assert "low_nps" not in _keys(ws.engine) and len(_keys(ws.engine)) == len(STARTER_PLAYBOOKS) - 1
