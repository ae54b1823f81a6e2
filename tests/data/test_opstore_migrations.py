"""Schema migrations of the operational store and the warehouse, on SQLite and PostgreSQL.

* the migrated schema equals the models' metadata (a missing revision fails here);
* ``postgresql://`` and ``postgresql+psycopg2://`` both work; a bad driver or an
  unreachable server is one line naming CSAI_DATABASE_URL, in the CLI and at app start;
* a workspace built by ``create_all`` (before migrations) is adopted with its rows;
* a schema newer than the code is refused, and nothing is changed;
* concurrent starters migrate once (the lock);
* a workspace made by the code of commit c978f3b opens with everything intact.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from data.access import SYSTEM
from data.migrations import head
from tests.support.opstore import dump_store
from tests.support.postgres import new_database
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
OLD_COMMIT = "c978f3b"


def cli(*args: str, workspace: Path, url: str | None = None, cwd: Path = ROOT, timeout: int = 300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
    if url:
        env["CSAI_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "cli.py", "--workspace", str(workspace), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def revisions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [r for (r,) in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- schema = models
def test_migrated_schema_equals_the_models_metadata(opstore_url):
    """Adding a table or column to the models without a revision makes this fail."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from data.migrations import head, upgrade
    from data.opstore import create_engine, metadata, register_tables

    register_tables()
    engine = create_engine(opstore_url)
    try:
        report = upgrade(engine)
        assert report.before == () and report.after == head() and report.applied
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == [], f"the models differ from the migrated schema; add a revision: {diff}"
        assert not upgrade(engine).changed  # a second run does nothing
    finally:
        engine.dispose()


def test_compare_catches_a_table_without_a_revision(tmp_path):
    """The check above can fail: a table added only to the models is reported."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from data.migrations import upgrade
    from data.opstore import create_engine, metadata, register_tables

    register_tables()
    engine = create_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    upgrade(engine)
    extra = sa.Table("login_attempts_probe", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d[0] for d in diff] == ["add_table"] and diff[0][1].name == "login_attempts_probe"
    finally:
        metadata.remove(extra)
        engine.dispose()


# --------------------------------------------------------------------------- URLs and errors
@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2", "postgresql+psycopg"])
def test_postgresql_urls_work_as_written(postgres_url, tmp_path, scheme):
    url = new_database(postgres_url).replace("postgresql+psycopg2://", f"{scheme}://", 1)
    ws = tmp_path / "ws"
    first = cli("migrate", workspace=ws, url=url)
    assert first.returncode == 0, first.stderr
    assert "new database" in first.stdout and "applied 0001_baseline" in first.stdout
    again = cli("migrate", workspace=ws, url=url)
    assert again.returncode == 0 and "schema is up to date" in again.stdout
    runs = cli("playbooks", "run-due", "--json", workspace=ws, url=url)
    assert runs.returncode == 0, runs.stderr
    assert json.loads(runs.stdout)["runs_created"] == 0
    assert "playbooks" in dump_store(url) and not (ws / "operational.sqlite").exists()


@pytest.mark.parametrize("url, says", [
    ("postgresql+nodriver://csai:Pw-0f-mine@127.0.0.1/db", "no database driver for 'postgresql+nodriver'"),
    ("mysql://csai:Pw-0f-mine@127.0.0.1/db", "no database driver for 'mysql'"),
    ("postgresql://csai:Pw-0f-mine@127.0.0.1:{port}/db", "cannot use the operational store"),
    ("postgresql+psycopg2://csai:Pw-0f-mine@127.0.0.1:{port}/db", "cannot use the operational store"),
])
def test_bad_database_url_is_one_line_naming_the_setting(tmp_path, url, says):
    url = url.format(port=free_port())
    for args in (["migrate"], ["playbooks", "run-due"]):
        r = cli(*args, workspace=tmp_path / "ws", url=url, timeout=60)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: CSAI_DATABASE_URL=") and says in lines[0]
        assert "Traceback" not in r.stderr and "Pw-0f-mine" not in r.stderr + r.stdout and "***" in lines[0]
    assert not (tmp_path / "ws" / "operational.sqlite").exists()


def test_unreachable_store_at_app_start_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CSAI_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("CSAI_DATABASE_URL", f"postgresql://csai:Pw-0f-mine@127.0.0.1:{free_port()}/db")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "CSAI_DATABASE_URL" in at.error[0].value
    assert "cannot use the operational store" in at.error[0].value and "Pw-0f-mine" not in at.error[0].value


# --------------------------------------------------------------------------- adopt, refuse, lock
def _legacy_store(url: str) -> None:
    """What the code before migrations did: create_all, then rows."""
    from data.migrations import _baseline_tables
    from data.opstore import audit, metadata, notes, now, register_tables

    register_tables()
    engine = sa.create_engine(url)
    baseline = _baseline_tables()  # the tables of that code, not the ones later revisions add
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name in baseline])
    with engine.begin() as conn:
        conn.execute(notes.insert().values(account_id="A1", author="maya", created_at=now(), body="Renewal call went well"))
        audit(conn, "maya", "note.add", "A1", note_id=1)
    engine.dispose()


def test_workspace_created_by_create_all_is_adopted_with_its_rows(opstore_url, tmp_path):
    _legacy_store(opstore_url)
    before = dump_store(opstore_url)
    r = cli("migrate", workspace=tmp_path / "ws", url=opstore_url)
    assert r.returncode == 0, r.stderr
    assert "adopted tables created before migrations as baseline 0001_baseline" in r.stdout
    assert revisions(opstore_url) == [head()]
    after = dump_store(opstore_url)
    assert {t: after[t] for t in before} == before and before["account_notes"][0][4] == "Renewal call went well"


def test_schema_newer_than_the_code_is_refused_and_left_alone(opstore_url, tmp_path, monkeypatch):
    from data.migrations import upgrade
    from data.opstore import create_engine

    engine = create_engine(opstore_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    before = dump_store(opstore_url)
    for args in (["migrate"], ["playbooks", "run-due"]):
        r = cli(*args, workspace=tmp_path / "ws", url=opstore_url)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "schema revision 0099_from_the_future, which is newer than this version of the code" in r.stderr
    assert revisions(opstore_url) == ["0099_from_the_future"] and dump_store(opstore_url) == before

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CSAI_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("CSAI_DATABASE_URL", opstore_url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception and "newer than this version of the code" in at.error[0].value


def test_concurrent_starters_migrate_once(opstore_url, tmp_path):
    """Four processes open a new store at once: the lock lets one create it, the others find it done."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
    env["CSAI_DATABASE_URL"] = opstore_url
    procs = [subprocess.Popen([sys.executable, "cli.py", "--workspace", str(tmp_path / "ws"), "migrate"], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e for _, e in outs]
    assert sum("applied 0001_baseline" in o for o, _ in outs) == 1
    assert sum("schema is up to date" in o for o, _ in outs) == 3
    assert revisions(opstore_url) == [head()]


# --------------------------------------------------------------------------- warehouse snapshots
def test_snapshot_without_a_version_is_upgraded_and_a_newer_one_refused(tmp_path):
    import duckdb

    from data.warehouse import SNAPSHOT_SCHEMA_VERSION, snapshot_versions
    from data.workspace import open_workspace
    from tests.support.workspaces import write_tiny

    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    raw = ws.warehouse.root / ws.warehouse.current()["raw"]
    with duckdb.connect(str(raw)) as con:  # as written before snapshots carried a version
        con.execute("DROP TABLE csai_snapshot_meta")
        accounts = con.execute("SELECT * FROM accounts ORDER BY account_id").fetchall()
    assert snapshot_versions(ws.warehouse) == {"raw": 0}
    r = cli("migrate", workspace=ws.path)
    assert r.returncode == 0, r.stderr
    assert f"upgraded the raw snapshot from schema version 0 to {SNAPSHOT_SCHEMA_VERSION}" in r.stdout
    assert snapshot_versions(ws.warehouse) == {"raw": SNAPSHOT_SCHEMA_VERSION}
    with ws.warehouse.reader() as con:
        assert con.execute("SELECT * FROM accounts ORDER BY account_id").fetchall() == accounts
        assert not con.execute("SELECT * FROM duckdb_views() WHERE view_name = 'csai_snapshot_meta'").fetchall()

    raw = ws.warehouse.root / ws.warehouse.current()["raw"]
    with duckdb.connect(str(raw)) as con:
        con.execute("UPDATE csai_snapshot_meta SET value = '99'")
    pointer = ws.warehouse.current()
    r = cli("migrate", workspace=ws.path)
    assert r.returncode == 2 and "raw snapshot has schema version 99, newer than this version" in r.stderr
    assert ws.warehouse.current() == pointer


# --------------------------------------------------------------------------- upgrade from c978f3b
def _old_code(tmp_path: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", OLD_COMMIT],
                             capture_output=True, timeout=120)
    if archive.returncode != 0:
        pytest.skip(f"commit {OLD_COMMIT} is not in this clone ({archive.stderr.decode()[:200]})")
    dest = tmp_path / "old_code"
    dest.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


OLD_NOTE = """
import sys
from data.notes import add_note
from data.workspace import open_workspace
ws = open_workspace(sys.argv[1])
add_note(ws.engine, "A000001", "maya", "Champion left; new contact is Sam")
"""


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_workspace_made_by_the_previous_release_opens_with_everything_intact(tmp_path, request, store):
    from data import users as user_store
    from data.workspace import open_workspace
    from models.registry import list_models, load_model
    from playbooks.runs import list_runs

    url = new_database(request.getfixturevalue("postgres_url")) if store == "postgresql" else None
    old = _old_code(tmp_path)
    ws_path = tmp_path / "ws"
    made = cli("demo", "--accounts", "60", "--seed", "3", "--end", "2026-06-30", workspace=ws_path, url=url, cwd=old)
    assert made.returncode == 0, made.stderr[-2000:]
    noted = subprocess.run([sys.executable, "-c", OLD_NOTE, str(ws_path)], cwd=old, capture_output=True, text=True,
                           env={**{k: v for k, v in os.environ.items() if not k.startswith("CSAI_")},
                                **({"CSAI_DATABASE_URL": url} if url else {})}, timeout=120)
    assert noted.returncode == 0, noted.stderr[-2000:]
    store_url = url or f"sqlite:///{ws_path / 'operational.sqlite'}"
    rows_before = dump_store(store_url)
    auth_before = (ws_path / "auth.yaml").read_bytes()
    old_ws = open_workspace(str(ws_path))
    with old_ws.warehouse.reader() as con:
        scores_before = con.execute("SELECT * FROM scores ORDER BY ALL").fetchall()
        accounts_before = con.execute("SELECT * FROM accounts ORDER BY ALL").fetchall()
    assert all(rows_before[t] for t in ("playbooks", "playbook_runs", "playbook_steps", "account_notes",
                                         "audit_log", "model_registry"))

    r = cli("migrate", workspace=ws_path, url=url)
    assert r.returncode == 0, r.stderr
    assert "adopted tables created before migrations" in r.stdout
    assert "upgraded the raw snapshot from schema version 0" in r.stdout
    rows_after = dump_store(store_url)
    assert {t: rows_after[t] for t in rows_before} == rows_before  # later revisions only add tables
    assert (ws_path / "auth.yaml").read_bytes() == auth_before

    env = {"CSAI_DATABASE_URL": url} if url else {}
    from data.settings import load_settings
    from data.workspace import Workspace

    ws = Workspace(load_settings(str(ws_path), environ=env))
    with ws.warehouse.reader() as con:
        assert con.execute("SELECT * FROM scores ORDER BY ALL").fetchall() == scores_before
        assert con.execute("SELECT * FROM accounts ORDER BY ALL").fetchall() == accounts_before
    models = list_models(ws.engine)
    assert len(models) == len(rows_before["model_registry"]) and all(load_model(m) is not None for m in models)
    assert len(list_runs(ws.engine, SYSTEM)) == len(rows_before["playbook_runs"])
    assert {u.username for u in user_store.list_users(ws.settings.auth_file)} >= {"admin", "manager"}
    assert cli("check", workspace=ws_path, url=url).returncode == 0
