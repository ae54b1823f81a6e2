"""A data scientist cannot make an import read the server's files (issue 13, item 14).

* Mapping lookups resolve only inside the mapping file's folder (CLI) or the workspace's
  upload folder (Data page): absolute paths, ``..`` and symlinks out are refused.
* Database URLs must name a server database (PostgreSQL, MySQL/MariaDB, SQL Server,
  Oracle, Snowflake): a SQLite file such as the operational store and its audit log is
  refused, and so are hosts and URL parameters that name files.

Each attack runs through ``cli.py import`` or the Data page, asserts the message a
person reads, that the secret never appears, and that nothing was written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cli
from data.opstore import audit
from data.workspace import open_workspace
from tests.support.apptest import DATA_PAGE as DATA
from tests.support.apptest import button, run_app, texts, upload

SECRET = "TOP-SECRET-4711"
ACCOUNTS = "account_id,name\nA1,Acme\nA2,Beta\n"
EVENTS = "customer,occurred_at,type_id\nA1,2026-01-01 10:00:00,1\nA2,2026-01-02 10:00:00,2\n"


def run_cli(capsys, ws: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--workspace", str(ws), "import", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def mapping_yaml(lookup_file: str) -> str:
    return ("table: events\ncolumns:\n  customer: account_id\n  occurred_at: event_time\n  type_id: event_type\n"
            f"lookup:\n  column: type_id\n  file: {lookup_file}\n  key: id\n  value: name\n")


def content(ws) -> dict[str, list[tuple]]:
    with ws.warehouse.reader() as con:
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in ("accounts", "events")}


@pytest.fixture()
def setup(tmp_path, capsys):
    """A workspace with two accounts, a secret CSV outside any allowed folder, and a mapping folder."""
    ws = tmp_path / "ws"
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    assert run_cli(capsys, ws, "accounts", str(tmp_path / "accounts.csv"))[0] == 0
    secret = tmp_path / "server" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(f"id,name\n1,{SECRET}\n2,{SECRET}-2\n")
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "events.csv").write_text(EVENTS)
    (folder / "types.csv").write_text("id,name\n1,login\n2,export\n")
    os.symlink(secret, folder / "linked.csv")
    return ws, secret, folder


@pytest.mark.parametrize("lookup", ["absolute", "../server/secret.csv", "linked.csv"])
def test_cli_mapping_lookup_cannot_leave_the_mapping_folder(setup, lookup, capsys):
    ws, secret, folder = setup
    (folder / "m.yaml").write_text(mapping_yaml(str(secret) if lookup == "absolute" else lookup))
    before = content(open_workspace(str(ws)))
    code, out, err = run_cli(capsys, ws, "events", str(folder / "events.csv"), "--mapping", str(folder / "m.yaml"))
    assert code == 2
    assert "is outside the mapping file's folder or the upload folder" in err
    assert SECRET not in out + err
    assert content(open_workspace(str(ws))) == before


def test_cli_mapping_lookup_inside_the_folder_still_works(setup, capsys):
    ws, _, folder = setup
    (folder / "m.yaml").write_text(mapping_yaml("types.csv"))
    code, out, err = run_cli(capsys, ws, "events", str(folder / "events.csv"), "--mapping", str(folder / "m.yaml"))
    assert code == 0, err
    with open_workspace(str(ws)).warehouse.reader() as con:
        assert con.execute("SELECT event_type FROM events ORDER BY event_time").fetchall() == [("login",), ("export",)]


def test_data_page_lookup_reads_only_the_upload_folder(tiny_ws, tmp_path):  # noqa: F811 - the imported fixture
    secret = tmp_path / "secret.csv"
    secret.write_text(f"id,name\nlogin,{SECRET}\n")
    before = content(tiny_ws)
    at = upload(run_app("datasci", page=DATA), "events.csv",
                b"account_id,event_time,event_type\nA1,2026-06-01 10:00:00,login\n")
    for target in (str(secret), "../../secret.csv"):
        yaml = ("table: events\ncolumns:\n  account_id: account_id\n  event_time: event_time\n"
                f"  event_type: event_type\nlookup:\n  column: event_type\n  file: {target}\n  key: id\n"
                "  value: name\n")
        at.file_uploader(key="data_mapping_file").set_value((f"m{len(target)}.yaml", yaml.encode(), "text/yaml"))
        at.run()
        button(at, "Validate").click()
        at.run()
        assert not at.exception
        shown = texts(at)
        assert "is outside the mapping file's folder or the upload folder" in shown
        assert SECRET not in shown
    assert content(tiny_ws) == before


def test_data_page_lookup_finds_a_file_uploaded_before(tiny_ws):  # noqa: F811 - the imported fixture
    at = upload(run_app("datasci", page=DATA), "event_types.csv", b"id,name\n7,report_run\n")
    at = upload(at, "events.csv", b"account_id,event_time,type\nA1,2026-06-01 10:00:00,7\n")
    yaml = (b"table: events\ncolumns:\n  account_id: account_id\n  event_time: event_time\n  type: event_type\n"
            b"lookup:\n  column: type\n  file: event_types.csv\n  key: id\n  value: name\n")
    at.file_uploader(key="data_mapping_file").set_value(("m.yaml", yaml, "text/yaml"))
    at.run()
    button(at, "Validate").click()
    at.run()
    assert not at.exception
    assert "Validation passed" in texts(at)


# ------------------------------------------------------------------ database URLs
def test_cli_refuses_the_operational_store_as_a_sqlite_source(tmp_path, capsys):
    ws = open_workspace(str(tmp_path / "ws"))
    with ws.engine.begin() as conn:
        audit(conn, "admin", "users.set_password", "pat", note=SECRET)
    assert ws.settings.database_url.startswith("sqlite")
    for url in (ws.settings.database_url, f"sqlite+pysqlite:///{ws.path}/ops.sqlite", "duckdb:///:memory:"):
        code, out, err = run_cli(capsys, ws.path, "accounts", url, "--query",
                                 "SELECT actor AS account_id, detail AS name FROM audit_log")
        assert code == 2
        assert "Database imports read from a database server (postgresql, mysql, mariadb, mssql, oracle, " \
               "snowflake)" in err
        assert SECRET not in out + err
    assert "raw" not in ws.warehouse.current()


@pytest.mark.parametrize("url, part", [
    ("postgresql://bob:pw@127.0.0.1:1/crm?sslkey=/srv/ws/auth.yaml", "'sslkey'"),
    ("postgresql://bob:pw@/crm?host=/srv/ws", "'host'"),
    ("mysql+pymysql://bob:pw@db.example/crm?read_default_file=../ws/auth.yaml", "'read_default_file'"),
])
def test_cli_refuses_server_urls_that_name_files(tmp_path, capsys, url, part):
    code, out, err = run_cli(capsys, tmp_path / "ws", "accounts", url, "--from-table", "customers")
    assert code == 2
    assert f"The database URL's {part} names a file or folder on this server" in err
    assert "pw" not in err.replace("password", "")
    assert "raw" not in open_workspace(str(tmp_path / "ws")).warehouse.current()


def test_data_page_refuses_the_audit_log_database(tiny_ws):  # noqa: F811 - the imported fixture
    with tiny_ws.engine.begin() as conn:
        audit(conn, "admin", "users.set_password", "pat", note=SECRET)
    at = run_app("datasci", page=DATA)
    at.segmented_control(key="data_source_kind").set_value("Connect to a database")
    at.run()
    at.text_input(key="data_db_url").input(tiny_ws.settings.database_url)
    at.text_input(key="data_db_table").input("audit_log")
    button(at, "Connect and preview").click()
    at.run()
    assert not at.exception
    assert "'sqlite' is not one" in at.error[0].value
    assert SECRET not in texts(at)
    assert not at.dataframe or all(SECRET not in d.value.to_csv() for d in at.dataframe)
