"""The snapshot warehouse: canonical tables, atomic publishing, readers keep their snapshot, other processes write."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from data.schema import CANONICAL_TABLES
from data.warehouse import Warehouse


def test_empty_warehouse_exposes_empty_canonical_tables(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    assert not wh.has_data()
    with wh.reader() as con:
        for table in CANONICAL_TABLES:
            assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0


def test_schema_is_created_idempotently(tiny_warehouse):
    with tiny_warehouse.writer("raw") as con:  # copy + ensure schema again must keep the rows
        pass
    with tiny_warehouse.reader() as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
        cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'accounts' "
                                          "AND database_name = 'raw' ORDER BY column_index").fetchall()]
    assert cols == [c for c, _, _ in CANONICAL_TABLES["accounts"]]


def test_failed_write_leaves_previous_snapshot(tiny_warehouse):
    before = tiny_warehouse.version()
    with pytest.raises(RuntimeError, match="boom"):
        with tiny_warehouse.writer("raw") as con:
            con.execute("DELETE FROM accounts")
            raise RuntimeError("boom")
    assert tiny_warehouse.version() == before
    with tiny_warehouse.reader() as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
    assert len(list(tiny_warehouse.root.glob("raw-*.duckdb"))) == 1


def test_reader_keeps_its_snapshot_while_a_writer_publishes(tiny_warehouse):
    con = tiny_warehouse.connect()
    with tiny_warehouse.writer("raw") as w:
        w.execute("DELETE FROM accounts WHERE account_id = 'A3'")
    assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3  # old snapshot, still readable
    con.close()
    with tiny_warehouse.reader() as fresh:
        assert fresh.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2


def _write_results_in_child(root: str) -> None:
    wh = Warehouse(root)
    with wh.writer("results") as con:
        con.execute("CREATE OR REPLACE TABLE scores AS SELECT account_id, 0.25 AS p FROM accounts")


def test_another_process_can_write_while_this_one_reads(tiny_warehouse):
    con = tiny_warehouse.connect()  # like the app: a long-lived read connection
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_write_results_in_child, args=(str(tiny_warehouse.root),))
    proc.start()
    proc.join(300)  # a spawned interpreter on a busy 2-core machine can take a while to start
    assert proc.exitcode == 0
    con.close()
    with tiny_warehouse.reader() as fresh:
        assert fresh.execute("SELECT count(*) FROM scores").fetchone()[0] == 3
    assert "results=" in tiny_warehouse.version()


def test_old_snapshots_are_collected(tiny_warehouse):
    for _ in range(6):
        with tiny_warehouse.writer("raw"):
            pass
    assert len(list(tiny_warehouse.root.glob("raw-*.duckdb"))) <= 3
    assert json.loads((tiny_warehouse.root / "CURRENT.json").read_text())["raw"].startswith("raw-")
