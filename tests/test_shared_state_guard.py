"""The shared-workspace guard (tests/support/shared_state.py) sees a write and ignores what reading leaves behind."""

from __future__ import annotations

import os
import sqlite3

from tests.support.shared_state import changed_files, changed_process_state, files_state, process_state


def test_a_write_is_seen_and_reading_leaves_nothing_to_see(tmp_path):
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "auth.yaml").write_text("credentials: {}\n")
    (tmp_path / "warehouse" / "raw.duckdb").write_bytes(b"x" * 10)
    db = tmp_path / "operational.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE notes (body TEXT)")
    con.close()
    before = files_state(tmp_path)

    # what a reader leaves: logs, lock files, SQLite's shared-memory index, an empty WAL
    reader = sqlite3.connect(db)
    assert reader.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    (tmp_path / "streamlit.log").write_text("started\n")
    (tmp_path / "warehouse" / ".raw.lock").touch()
    assert changed_files(before, files_state(tmp_path)) == []

    # a write: a note through another connection (lands in the WAL), a changed user file, a new file
    with sqlite3.connect(db) as writer:
        writer.execute("INSERT INTO notes VALUES ('hello')")
    writer.close()
    (tmp_path / "auth.yaml").write_text("credentials: {usernames: {}}\n")
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "crm.csv").write_text("a\n")
    reader.close()
    changed = changed_files(before, files_state(tmp_path))
    assert "auth.yaml (modified)" in changed and os.path.join("uploads", "crm.csv") + " (added)" in changed
    assert any(c.startswith("operational.sqlite") for c in changed)


def test_environment_and_working_directory_changes_are_named(monkeypatch, tmp_path):
    before = process_state()
    monkeypatch.setenv("CSAI_WORKSPACE", "/somewhere/else")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNRELATED_VARIABLE", "1")  # only the app's settings and the cwd are watched
    changed = changed_process_state(before, process_state())
    assert len(changed) == 2
    assert any(c.startswith("CSAI_WORKSPACE: ") and c.endswith("-> '/somewhere/else'") for c in changed)
    assert any(c.startswith("cwd: ") and c.endswith(f"-> {str(tmp_path)!r}") for c in changed)
