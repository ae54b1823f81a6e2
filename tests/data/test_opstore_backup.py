"""``cli.py backup``, ``restore`` and ``check`` on SQLite and PostgreSQL operational stores.

The main test takes backups while an import and ``playbooks run-due`` run in other
processes, restores one into a new workspace, and checks that it passes ``check`` and
holds exactly the data of one moment: a warehouse snapshot byte-identical to one the
source published, and store rows that all exist in the source, each run with all its
steps and tasks (no half-written transaction).
"""

from __future__ import annotations

import collections
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from data import users as user_store
from data.backup import backup_workspace
from data.notes import add_note
from data.settings import load_settings
from tests.support.opstore import dump_store
from tests.support.workspaces import build_workspace

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, workspace: Path, url: str, timeout: int = 300, wait: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
    env["CSAI_DATABASE_URL"] = url
    cmd = [sys.executable, "cli.py", "--workspace", str(workspace), *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _source(tmp_path: Path, url: str, n: int = 150):
    """A scored workspace with a rule playbook, notes, a user and a registered model artifact."""
    from data.opstore import metadata, now
    from playbooks.definitions import create_playbook

    ws = build_workspace(tmp_path / "src", n=n, csai_database_url=url)
    create_playbook(ws.engine, "manager", name="Re-engage", rule={"risk_bands": ["high"]}, holdout_pct=20,
                    steps=[{"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
                           {"type": "alert", "to_role": "manager", "message": "{{ account.name }} enrolled"}])
    for i in range(5):
        add_note(ws.engine, f"A{i + 1:04d}", "maya", f"Note {i}")
    user_store.add_user(ws.settings.auth_file, "maya", role="csm", password="maya-password-1", csm="Maya Patel")
    ws.settings.models_dir.mkdir(parents=True, exist_ok=True)
    artifact = ws.settings.models_dir / "churn-test-1.joblib"
    artifact.write_bytes(os.urandom(4096))
    with ws.engine.begin() as conn:
        conn.execute(metadata.tables["model_registry"].insert().values(
            id="churn-test-1", target="churn", algorithm="logreg", params="{}", features="[]", metrics="{}",
            artifact_path=str(artifact), artifact_sha256=hashlib.sha256(artifact.read_bytes()).hexdigest(),
            status="production", created_at=now()))
    return ws


def _big_accounts_csv(path: Path, n: int) -> Path:
    pd.DataFrame({"account_id": [f"A{i:04d}" if i <= 400 else f"B{i:07d}" for i in range(1, n + 1)],
                  "name": [f"Company {i}" for i in range(1, n + 1)], "csm": "Maya Patel", "segment": "SMB",
                  "created_at": "2025-01-01"}).to_csv(path, index=False)
    return path


def _target_url(source_url: str, request) -> str:
    if source_url.startswith("sqlite"):
        return ""  # the restored workspace's own SQLite file
    from tests.support.postgres import new_database

    return new_database(request.getfixturevalue("postgres_url"))


def test_backup_under_load_restores_to_a_consistent_copy_of_one_moment(opstore_url, tmp_path, request):
    src = _source(tmp_path, opstore_url, n=400)
    csv = _big_accounts_csv(tmp_path / "accounts.csv", 300_000)
    importing = cli("import", "accounts", str(csv), workspace=src.path, url=opstore_url, wait=False)
    running = cli("playbooks", "run-due", workspace=src.path, url=opstore_url, wait=False)
    published = set(src.warehouse.current().values())

    def import_is_writing() -> bool:  # its new snapshot exists but is not published yet
        return any(p.name not in published for p in src.warehouse.root.glob("raw-*.duckdb"))

    backups, during = [], []
    deadline = time.monotonic() + 300
    while (importing.poll() is None or running.poll() is None) and time.monotonic() < deadline:
        if importing.poll() is None and not import_is_writing():
            time.sleep(0.05)
            continue
        both = importing.poll() is None and running.poll() is None
        dest = tmp_path / f"backup{len(backups)}"
        backup_workspace(load_settings(str(src.path), environ={"CSAI_DATABASE_URL": opstore_url}), dest)
        backups.append(dest)
        if both and importing.poll() is None and running.poll() is None:
            during.append(dest)
    for proc in (importing, running):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert during, f"none of {len(backups)} backups ran while both jobs were running"
    final = dump_store(opstore_url)
    assert len(final["playbook_runs"]) > 0
    source_snapshots = {p.name: p for p in src.warehouse.root.glob("*.duckdb")}

    backup = during[-1]
    target = tmp_path / "restored"
    target_url = _target_url(opstore_url, request) or f"sqlite:///{target / 'operational.sqlite'}"
    r = cli("restore", str(backup), workspace=target, url=target_url)
    assert r.returncode == 0, r.stderr
    assert "Verified" in r.stdout and "Restored the operational store" in r.stdout
    check = cli("check", workspace=target, url=target_url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Workspace is consistent." in check.stdout and "1 artifacts match their checksums" in check.stdout

    # the warehouse is exactly one snapshot the source published
    from data.warehouse import Warehouse

    restored_wh = Warehouse(target / "warehouse")
    for layer, name in restored_wh.current().items():
        assert name in source_snapshots, f"{layer} snapshot {name} was never published by the source"
        assert (restored_wh.root / name).read_bytes() == source_snapshots[name].read_bytes()

    # the store holds rows of one moment: each exists in the source, each run complete
    restored = dump_store(target_url)
    for table in ("account_notes", "playbooks"):
        assert restored[table] == final[table]
    final_runs = {r[0]: r for r in final["playbook_runs"]}
    assert all(run == final_runs[run[0]] for run in restored["playbook_runs"])
    steps_per_run = collections.Counter(s[1] for s in restored["playbook_steps"])
    final_steps_per_run = collections.Counter(s[1] for s in final["playbook_steps"])
    assert all(steps_per_run[run[0]] == final_steps_per_run[run[0]] > 0
                                             for run in restored["playbook_runs"])
    assert len(restored["playbook_tasks"]) == len([s for s in restored["playbook_steps"] if s[3] == "task"
                                                    and s[4] == "delivered"])
    assert {a[0] for a in restored["audit_log"]} <= {a[0] for a in final["audit_log"]}
    assert [u.username for u in user_store.list_users(target / "auth.yaml")] == ["maya"]
    model = restored["model_registry"][0]
    assert model[10] == str(target / "models" / "churn-test-1.joblib")  # re-pointed at the new workspace


def test_restore_refuses_a_workspace_with_data_and_a_damaged_backup(tmp_path, request):
    url = f"sqlite:///{tmp_path / 'src' / 'operational.sqlite'}"
    src = _source(tmp_path, url, n=10)
    backup = tmp_path / "backup"
    assert cli("backup", str(backup), workspace=src.path, url=url).returncode == 0

    # into a workspace with data: refused, nothing changed; --force replaces it
    other = build_workspace(tmp_path / "other", n=3)
    other_url = f"sqlite:///{other.path / 'operational.sqlite'}"
    add_note(other.engine, "A0001", "jonas", "Keep me")
    pointer, rows = other.warehouse.current(), dump_store(other_url)
    r = cli("restore", str(backup), workspace=other.path, url=other_url)
    assert r.returncode == 2 and "is not empty" in r.stderr and "--force" in r.stderr
    assert other.warehouse.current() == pointer and dump_store(other_url) == rows
    forced = cli("restore", str(backup), "--force", workspace=other.path, url=other_url)
    assert forced.returncode == 0, forced.stderr
    assert dump_store(other_url)["account_notes"] == dump_store(url)["account_notes"]

    # a damaged file: refused before anything is written
    snapshot = next((backup / "warehouse").glob("raw-*.duckdb"))
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    empty = tmp_path / "empty"
    r = cli("restore", str(backup), workspace=empty, url=f"sqlite:///{empty / 'operational.sqlite'}")
    assert r.returncode == 2 and f"warehouse/{snapshot.name} does not match its checksum" in r.stderr
    assert sorted(p.name for p in empty.iterdir()) == []
    r = cli("check", "--backup", str(backup), workspace=empty, url=f"sqlite:///{empty / 'operational.sqlite'}")
    assert r.returncode == 2 and "does not match its checksum" in r.stderr


def test_backup_refuses_a_folder_that_is_not_empty(tmp_path):
    url = f"sqlite:///{tmp_path / 'src' / 'operational.sqlite'}"
    src = build_workspace(tmp_path / "src", n=3)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    r = cli("backup", str(dest), workspace=src.path, url=url)
    assert r.returncode == 2 and "not an empty folder" in r.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]


def test_check_finds_orphans_changed_artifacts_and_repeated_keys(opstore_url, tmp_path):
    import duckdb

    src = _source(tmp_path, opstore_url, n=10)
    assert cli("check", workspace=src.path, url=opstore_url).returncode == 0
    engine = sa.create_engine(opstore_url)
    with engine.begin() as conn:  # a run whose playbook is gone (foreign keys off for this session)
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")
        conn.execute(sa.text("INSERT INTO playbook_runs (playbook_id, account_id, idempotency_key, trigger_type, "
                             "triggered_by, started_at, holdout, status) VALUES (999, 'A0001', 'orphan', 'manual', "
                             "'x', '2026-06-30 00:00:00', false, 'active')"))
    engine.dispose()
    (src.settings.models_dir / "churn-test-1.joblib").write_bytes(b"tampered")
    raw = src.warehouse.root / src.warehouse.current()["raw"]
    with duckdb.connect(str(raw)) as con:
        con.execute("INSERT INTO accounts (account_id, name) VALUES ('A0001', 'Duplicate')")
    r = cli("check", workspace=src.path, url=opstore_url)
    assert r.returncode == 1
    assert "1 rows of playbook_runs point at a playbooks row that does not exist" in r.stderr
    assert "model churn-test-1: artifact" in r.stderr and "does not match its checksum" in r.stderr
    assert "accounts has 1 repeated and 0 empty keys" in r.stderr
    assert "3 problems found." in r.stdout


def test_check_reports_a_missing_snapshot(tmp_path):
    url = f"sqlite:///{tmp_path / 'src' / 'operational.sqlite'}"
    src = build_workspace(tmp_path / "src", n=3)
    (src.warehouse.root / src.warehouse.current()["results"]).unlink()
    r = cli("check", workspace=src.path, url=url)
    assert r.returncode == 1 and "the results snapshot" in r.stderr and "is missing" in r.stderr
