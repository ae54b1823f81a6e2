"""Malformed CSV files are refused with their line number and fault; nothing is written.

Driven through ``cli.py import`` (its ``main()``, in process) and the Data page, as a
person bringing their own export would. Decisions per fault:

* unterminated quote, ragged row, NUL byte, mixed line ends, BOM in the middle: refused;
* a BOM at the very start (Excel's "CSV UTF-8"): stripped and accepted;
* line breaks inside quoted fields may differ from the row ends (Excel writes LF inside
  cells of a CRLF file): accepted;
* quoted fields never keep their quote characters, even when quotes first appear after
  the rows DuckDB's sniffer samples.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from data.workspace import open_workspace
from tests.support.apptest import DATA_PAGE as DATA
from tests.support.apptest import run_app, upload
from tests.support.cli import run_import

ACCOUNTS = "account_id,name,segment\n" + "".join(f"A{i},Company {i},SMB\n" for i in range(1, 41))
EVENTS = "account_id,event_time,event_type\n" + "".join(f"A{i},2026-01-0{1 + i % 9} 10:00:00,login\n"
                                                        for i in range(1, 41))


def content(ws: Path) -> dict[str, list[tuple]]:
    wh = open_workspace(str(ws)).warehouse
    with wh.reader() as con:
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in ("accounts", "events", "subscriptions")}


@pytest.fixture()
def ws(tmp_path, capsys) -> Path:
    """A workspace with 40 accounts and 40 events, imported through the CLI."""
    ws = tmp_path / "ws"
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    (tmp_path / "events.csv").write_text(EVENTS)
    assert run_import(capsys, ws, "accounts", str(tmp_path / "accounts.csv"))[0] == 0
    assert run_import(capsys, ws, "events", str(tmp_path / "events.csv"))[0] == 0
    return ws


BAD_FILES = {
    # the repro: an unterminated quote on the last line, imported as accounts --mode replace
    "unterminated_last_line": (b'account_id,name\nA1,Acme\nA2,Beta\n"A3,Gamma\n',
                               ["line 4", "unterminated quote"]),
    # the quote swallows the rest of the file: the old message was "'account_id' is not mapped"
    "unterminated_mid_file": (b'account_id,name\n"A1",Acme\nA2,"Beta, Inc"\n"A3,Gamma\nA4,Delta\nA5,Eps\n',
                              ["line 4", "unterminated quote"]),
    # in a large file the open quote is noticed long before the end of the file
    "unterminated_in_large_file": (b'account_id,name\nA1,Acme\n"A2,Beta\n'
                                   + b"".join(b"A%d,Company %d\n" % (i, i) for i in range(3, 20_000)),
                                   ["line 3", "unterminated quote"]),
    "stray_after_quote": (b'account_id,name\nA1,"Acme"x\nA2,Beta\n', ["line 2", "malformed quoting"]),
    "too_many_fields": (b"account_id,name\nA1,Acme\nA2,Beta,extra\nA3,Gamma\n",
                        ["line 3", "3 field(s) where line 1 has 2", "ragged row"]),
    "too_few_fields": (b"account_id;name;segment\nA1;Acme;SMB\nA2;Beta;SMB\nA3\nA4;D;SMB\n",
                       ["line 4", "1 field(s) where line 1 has 3", "ragged row"]),
    "nul_byte": (b"account_id,name\nA1,Acme\nA2,Be\x00ta\n", ["line 3", "NUL byte"]),
    "mixed_line_ends": (b"account_id,name\r\nA1,Acme\r\nA2,Beta\nA3,Gamma\r\n",
                        ["line 3", "mixed line ends", "LF (Unix)", "CRLF (Windows)"]),
    "bom_in_the_middle": (codecs.BOM_UTF8 + b"account_id,name\nA1,Acme\n" + codecs.BOM_UTF8 + b"A2,Beta\n",
                          ["line 3", "byte-order mark"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_cli_refuses_malformed_csv_with_line_and_fault(case, ws, tmp_path, capsys):
    data, expected = BAD_FILES[case]
    bad = tmp_path / f"{case}.csv"
    bad.write_bytes(data)
    before = content(ws)
    code, out, err = run_import(capsys, ws, "accounts", str(bad), "--mode", "replace")
    assert code == 2
    assert err.startswith(f"error: {bad.name}, line ")
    for text in expected:
        assert text in err
    assert "not mapped" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert content(ws) == before


def test_bom_at_start_is_stripped_and_accepted(ws, tmp_path, capsys):
    for name, data in [
        ("bom8.csv", codecs.BOM_UTF8 + b"account_id,name\r\nB1,Bom Corp\r\nB2,\"Quoted, Inc\"\r\n"),
        ("bom16.csv", "account_id,name\nB1,Bom Corp\nB2,\"Quoted, Inc\"\n".encode("utf-16")),
    ]:
        (tmp_path / name).write_bytes(data)
        code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / name), "--mode", "replace",
                                 "--allow-orphans")
        assert code == 0, err
        assert "wrote 2 rows to accounts" in out
        wh = open_workspace(str(ws)).warehouse
        with wh.reader() as con:
            assert con.execute("SELECT account_id, name FROM accounts ORDER BY 1").fetchall() == [
                ("B1", "Bom Corp"), ("B2", "Quoted, Inc")]
            columns = [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]
        assert not any("\ufeff" in c for c in columns)


def test_quoted_fields_never_keep_their_quotes(ws, tmp_path, capsys):
    """Quotes that first appear after the sniffer's sample, and line breaks inside quoted cells of a CRLF file."""
    rows = [f"A{i},Company {i},SMB" for i in range(1, 25_001)]
    rows[-1] = '"A25000","Company, the last","SMB"'
    (tmp_path / "late_quotes.csv").write_text("account_id,name,segment\n" + "\n".join(rows) + "\n")
    code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / "late_quotes.csv"), "--mode", "replace")
    assert code == 0, err
    wh = open_workspace(str(ws)).warehouse
    with wh.reader() as con:
        assert con.execute("SELECT count(*) FROM accounts WHERE account_id LIKE '%\"%' OR name LIKE '%\"%'"
                           ).fetchall() == [(0,)]
        assert con.execute("SELECT name FROM accounts WHERE account_id = 'A25000'").fetchall() == [
            ("Company, the last",)]
    excel = b'account_id,name,segment\r\nA1,"Acme\nCorp",SMB\r\n"A2","Beta ""B""",SMB\r\n'
    (tmp_path / "excel.csv").write_bytes(excel)
    code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / "excel.csv"), "--mode", "replace",
                             "--allow-orphans")
    assert code == 0, err
    with wh.reader() as con:
        assert con.execute("SELECT account_id, name FROM accounts ORDER BY 1").fetchall() == [
            ("A1", "Acme\nCorp"), ("A2", 'Beta "B"')]


def test_data_page_shows_the_line_and_fault(tiny_ws):  # noqa: F811 - the imported fixture
    wh = tiny_ws.warehouse
    version = wh.version()
    at = upload(run_app("admin", page=DATA), "accounts.csv", b'account_id,name\nA1,Acme\n"A9,Broken\n')
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("accounts.csv, line 3" in e and "unterminated quote" in e for e in errors), errors
    assert not [b for b in at.button if b.key == "data_import"]  # the page stops before mapping
    assert wh.version() == version
