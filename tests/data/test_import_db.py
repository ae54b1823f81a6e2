"""Database import sources: a real PostgreSQL server started for the session (file databases such
as SQLite are refused: see tests/security/test_server_files.py).

The PostgreSQL fixture runs Debian's ``initdb``/``pg_ctl`` in a temp dir on 127.0.0.1
and a free port (as the ``postgres`` user when the tests run as root). Without a
PostgreSQL installation these tests skip, unless ``CSAI_REQUIRE_POSTGRES=1`` (CI),
where they fail.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from data.errors import UserError
from data.importer import import_table
from data.sources import Source
from data.warehouse import Warehouse
from tests.support.postgres import PG_PASSWORD, postgres_url  # noqa: F401 - shim: tests/conftest.py registers it

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 7, 1)


def rows(wh: Warehouse, sql: str) -> list[tuple]:
    with wh.reader() as con:
        return con.execute(sql).fetchall()


def content(wh: Warehouse) -> dict[str, list[tuple]]:
    with wh.reader() as con:
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in ("accounts", "events")}


def _fill(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE crm_accounts (id INTEGER PRIMARY KEY, company VARCHAR(50), "
                             "signup DATE, seats INTEGER)"))
        conn.execute(sa.text("INSERT INTO crm_accounts VALUES (1, 'Acme', '2024-01-01', 5), "
                             "(2, 'Beta', '2024-02-01', 50), (3, 'Gamma', NULL, NULL)"))
        conn.execute(sa.text("CREATE TABLE usage (customer INTEGER, occurred_at TIMESTAMP, kind VARCHAR(20))"))
        conn.execute(sa.text("INSERT INTO usage VALUES (1, '2026-01-01 10:00:00', 'login'), "
                             "(2, '2026-01-02 11:00:00', 'login'), (2, '2026-01-03 12:00:00', 'export')"))


def _check_database_source(url: str, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    res = import_table(wh, "accounts", Source(url=url, table="crm_accounts"), today=TODAY)
    assert res.tables == {"accounts": 3}
    assert rows(wh, "SELECT account_id, name, created_at, seats FROM accounts ORDER BY 1") == [
        ("1", "Acme", date(2024, 1, 1), 5), ("2", "Beta", date(2024, 2, 1), 50), ("3", "Gamma", None, None)]
    q = "SELECT customer, occurred_at AS event_time, kind AS event_type FROM usage WHERE customer >= 1"
    res = import_table(wh, "events", Source(url=url, query=q), today=TODAY)
    assert res.tables == {"events": 3}
    assert rows(wh, "SELECT account_id, event_type FROM events ORDER BY event_time")[-1] == ("2", "export")
    before, version = content(wh), wh.version()
    for bad, message in [
        ("DELETE FROM usage", "SELECT or WITH"),
        ("SELECT 1; DROP TABLE usage", "more than one statement"),
        ("WITH d AS (DELETE FROM usage RETURNING *) SELECT * FROM d", "DELETE"),
    ]:
        with pytest.raises(UserError, match=message):
            import_table(wh, "events", Source(url=url, query=bad), today=TODAY)
    with pytest.raises(UserError, match="was not found"):
        import_table(wh, "events", Source(url=url, table="no_such_table"), today=TODAY)
    with pytest.raises(UserError, match="failed"):
        import_table(wh, "events", Source(url=url, query="SELECT * FROM no_such_table"), today=TODAY)
    with pytest.raises(UserError, match="either a query"):
        import_table(wh, "events", Source(url=url, query="SELECT 1", table="usage"), today=TODAY)
    assert wh.version() == version and content(wh) == before
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM usage")).scalar() == 3  # nothing deleted at the source
    engine.dispose()


# --------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def postgres_crm(postgres_url):  # noqa: F811 - the fixture
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS crm_accounts, usage"))
        conn.execute(sa.text("DROP SEQUENCE IF EXISTS import_probe"))
        conn.execute(sa.text("CREATE SEQUENCE import_probe"))
    _fill(engine)
    engine.dispose()
    return postgres_url


def test_postgres_source(postgres_crm, tmp_path):
    _check_database_source(postgres_crm, tmp_path)


def test_cli_database_source(postgres_crm, tmp_path):
    ws = str(tmp_path / "ws")
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", ws, "import", "accounts", postgres_crm,
                        "--from-table", "crm_accounts"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote 3 rows to accounts" in r.stdout
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", ws, "import", "events", postgres_crm],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--query" in r.stderr


def test_postgres_session_is_read_only(postgres_crm, tmp_path):
    wh = Warehouse(tmp_path / "wh")
    # nextval() passes the keyword check but writes; the READ ONLY transaction refuses it.
    with pytest.raises(UserError, match="read-only transaction"):
        import_table(wh, "accounts", Source(url=postgres_crm, query="SELECT nextval('import_probe') AS id"),
                     today=TODAY)
    assert "raw" not in wh.current()
    engine = sa.create_engine(postgres_crm)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT last_value, is_called FROM import_probe")).one() == (1, False)
    engine.dispose()


def test_postgres_password_is_never_shown(postgres_crm, tmp_path):
    wrong = postgres_crm.replace(PG_PASSWORD, "Wr0ng-pa55word")
    wh = Warehouse(tmp_path / "wh")
    with pytest.raises(UserError) as err:
        import_table(wh, "accounts", Source(url=wrong, table="crm_accounts"), today=TODAY)
    assert "Wr0ng-pa55word" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(UserError) as err:
        import_table(wh, "events", Source(url=postgres_crm, query="SELECT * FROM missing_table"), today=TODAY)
    assert PG_PASSWORD not in str(err.value)
    ws = str(tmp_path / "ws")
    for url in (wrong, postgres_crm):
        r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", ws, "import", "accounts", url,
                            "--query", "SELECT * FROM nowhere"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 2
        assert PG_PASSWORD not in r.stdout + r.stderr and "Wr0ng-pa55word" not in r.stdout + r.stderr
        assert "***" in r.stderr


def test_database_rows_arrive_in_chunks_with_types_settled_over_all_chunks(postgres_url, tmp_path, monkeypatch):  # noqa: F811
    import data.sources

    monkeypatch.setattr(data.sources, "SQL_CHUNK_ROWS", 2)  # three chunks of the three accounts and 5 events
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS chunked CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA chunked"))
        conn.execute(sa.text("CREATE TABLE chunked.crm_accounts (id INTEGER PRIMARY KEY, company VARCHAR(50), "
                             "signup DATE, seats INTEGER)"))
        conn.execute(sa.text("INSERT INTO chunked.crm_accounts VALUES (1, 'Acme', '2024-01-01', 5), "
                             "(2, 'Beta', '2024-02-01', 50), (3, 'Gamma', NULL, NULL)"))
        conn.execute(sa.text("CREATE TABLE chunked.usage (n INTEGER, customer INTEGER, occurred_at TEXT, "
                             "kind VARCHAR(20))"))
        conn.execute(sa.text("INSERT INTO chunked.usage VALUES (1, 1, '2026-01-01 10:00:00', 'login'), "
                             "(2, 2, '2026-01-02 11:00:00', 'login'), (3, 2, '2026-01-03 12:00:00', 'export'), "
                             "(4, 3, '2026-01-04 10:00:00', 'login'), (5, 1, 'not a time', 'login')"))
    engine.dispose()
    wh = Warehouse(tmp_path / "wh")
    import_table(wh, "accounts", Source(url=postgres_url, table="chunked.crm_accounts"), today=TODAY)
    with wh.reader() as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'accounts'").fetchall())
    assert types["seats"] == "BIGINT"  # 5, 50 in the first chunk and only NULL in the second
    assert rows(wh, "SELECT account_id, seats FROM accounts ORDER BY 1") == [("1", 5), ("2", 50), ("3", None)]
    from data.validation import ImportValidationError

    with pytest.raises(ImportValidationError) as err:
        import_table(wh, "events", Source(url=postgres_url, query="SELECT customer, occurred_at AS event_time, "
                                                                  "kind AS event_type FROM chunked.usage ORDER BY n"),
                     today=TODAY)
    problem = next(p for p in err.value.report.errors if p.code == "parse_failed")
    assert problem.examples[0] == {"row": 5, "event_time": "not a time"}  # row numbers run on across chunks
