"""A full disk while writing a snapshot leaves no partial file and no traceback (issue 13, item 16).

The disk fills up (ENOSPC) at each place a snapshot is written: the copy of the current
snapshot, DuckDB's own writes into the new one, and the pointer file. ``cli.py import``
(``main()`` in process) exits 2 with one line, every retry leaves the warehouse folder as
it was, and the data is unchanged.
"""

from __future__ import annotations

import errno
import json
import types
from pathlib import Path

import duckdb
import pytest

import cli
import data.importer
import data.warehouse
from data.workspace import open_workspace

ACCOUNTS = "account_id,name\n" + "".join(f"A{i},Company {i}\n" for i in range(1, 201))


def run_cli(capsys, ws: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--workspace", str(ws), "import", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def files(ws: Path) -> set[str]:
    return {p.name for p in (ws / "warehouse").iterdir()}


def content(ws: Path) -> list[tuple]:
    with open_workspace(str(ws)).warehouse.reader() as con:
        return con.execute("SELECT * FROM accounts ORDER BY account_id").fetchall()


@pytest.fixture()
def ws(tmp_path, capsys) -> Path:
    ws = tmp_path / "ws"
    (tmp_path / "accounts.csv").write_text(ACCOUNTS)
    assert run_cli(capsys, ws, "accounts", str(tmp_path / "accounts.csv"))[0] == 0
    (tmp_path / "more.csv").write_text("account_id,name\nN1,New One\n")
    return ws


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _partial_copy(src, dst, *_args, **_kwargs):
    """Write the first 4 KB of the snapshot, then run out of space, as a real copy would."""
    with open(src, "rb") as fh, open(dst, "wb") as out:
        out.write(fh.read(4096))
    _enospc()


def _duckdb_disk_full(*_args, **_kwargs):
    raise duckdb.IOException('IO Error: Could not write all bytes to file "raw-x.duckdb": No space left on device')


FAULTS = {
    "snapshot copy": lambda mp: mp.setattr(data.warehouse.shutil, "copyfile", _partial_copy),
    "duckdb write": lambda mp: mp.setattr(data.importer, "_write_table", _duckdb_disk_full),
    "pointer file": lambda mp: mp.setattr(data.warehouse, "json", types.SimpleNamespace(loads=json.loads,
                                                                                         dump=_enospc)),
}


@pytest.mark.parametrize("where", list(FAULTS))
def test_disk_full_exits_2_with_one_line_and_leaves_no_partial_file(ws, where, monkeypatch, capsys):
    before_files, before = files(ws), content(ws)
    FAULTS[where](monkeypatch)
    for _retry in range(3):
        code, out, err = run_cli(capsys, ws, "accounts", str(ws.parent / "more.csv"), "--mode", "append")
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("error: disk full while writing the raw snapshot in ")
        assert "free some space" in lines[0] and "Traceback" not in err
        assert files(ws) == before_files  # no partial snapshot, WAL or pointer temp file per retry
    monkeypatch.undo()
    assert content(ws) == before
    code, out, err = run_cli(capsys, ws, "accounts", str(ws.parent / "more.csv"), "--mode", "append")
    assert code == 0, err  # with space again, the same import goes through
    assert len(content(ws)) == len(before) + 1


def test_disk_full_while_transcoding_a_csv_leaves_no_partial_copy(ws, tmp_path, monkeypatch, capsys):
    """A cp1252 CSV is copied to UTF-8 in the temp folder first; a full disk there is one line too."""
    import tempfile

    import data.sources

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (tmp_path / "cp1252.csv").write_bytes("account_id,name\nN1,Caf\xe9 Ol\xe9\n".encode("cp1252"))
    real_fdopen = data.sources.os.fdopen

    class FullFile:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[:8])
            self.fh.flush()
            _enospc()

    monkeypatch.setattr(data.sources.os, "fdopen", lambda fd, *a, **k: FullFile(real_fdopen(fd, *a, **k)))
    before = content(ws)
    code, out, err = run_cli(capsys, ws, "accounts", str(tmp_path / "cp1252.csv"), "--mode", "append")
    assert code == 2
    assert err.startswith("error: disk full while writing a UTF-8 copy of cp1252.csv to the temp folder")
    assert len(err.strip().splitlines()) == 1
    assert [p.name for p in temp.iterdir() if p.name.startswith("csai-import-") and p.suffix == ".csv"] == []
    monkeypatch.undo()
    assert content(ws) == before
