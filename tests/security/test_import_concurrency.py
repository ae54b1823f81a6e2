"""Two concurrent imports never write duplicate account ids (issue 13, item 13).

Two ``cli.py import accounts --mode append`` processes start behind a real
multiprocessing barrier with the same new accounts. Each child widens the window
between validation and write (its warehouse writer waits a moment before starting),
so without the writer lock held across validation both would pass the key check
against the same old data and both would write.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import time
from pathlib import Path

import cli
from data.workspace import open_workspace

WRITE_DELAY_S = 1.5


def _import_behind_barrier(ws: str, path: str, barrier, results) -> None:
    import data.warehouse

    original = data.warehouse.Warehouse.writer

    def slow_writer(self, layer, **kwargs):
        time.sleep(WRITE_DELAY_S)
        return original(self, layer, **kwargs)

    data.warehouse.Warehouse.writer = slow_writer
    out, err = io.StringIO(), io.StringIO()
    barrier.wait(timeout=60)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--workspace", ws, "import", "accounts", path, "--mode", "append"])
    results.put((code, out.getvalue(), err.getvalue()))


def test_two_concurrent_appends_write_each_account_once(tmp_path, capsys):
    ws = tmp_path / "ws"
    (tmp_path / "base.csv").write_text("account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n")
    assert cli.main(["--workspace", str(ws), "import", "accounts", str(tmp_path / "base.csv")]) == 0
    new = tmp_path / "new.csv"
    new.write_text("account_id,name\nN1,New One\nN2,New Two\n")

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_import_behind_barrier, args=(str(ws), str(new), barrier, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused = next(err for code, _, err in outcomes if code == 2)
    assert "[duplicate_existing]" in refused and "already exist in the warehouse" in refused
    assert "Nothing was written" in refused
    with open_workspace(str(ws)).warehouse.reader() as con:
        ids = [r[0] for r in con.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()]
    assert ids == ["A1", "A2", "A3", "N1", "N2"]


def test_lock_is_reentrant_so_an_import_can_write_inside_it(tmp_path):
    """The import holds the raw lock and then opens a writer of the same layer in the same thread."""
    wh = open_workspace(str(tmp_path / "ws")).warehouse
    with wh.lock("raw"), wh.writer("raw") as con:
        con.execute("INSERT INTO accounts (account_id) VALUES ('X1')")
    with wh.reader() as con:
        assert con.execute("SELECT account_id FROM accounts").fetchall() == [("X1",)]
    assert Path(wh.root / ".raw.lock").exists()
