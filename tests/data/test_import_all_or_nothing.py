"""The importer's all-or-nothing write (``data.importer.import_tables``): a multi-table import either writes
every table or leaves the warehouse exactly as it was (its tables, its meta rows, its snapshot pointer and
its files); replace and append; the data end stored with the import; dry runs; the raw writer lock."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from data import importer
from data.errors import UserError
from data.importer import ImportSpec, import_tables
from data.mapping import Mapping
from data.schema import ALL_RAW_TABLES
from data.sources import Source
from data.validation import ImportValidationError
from data.warehouse import Warehouse

TODAY = date(2026, 7, 1)
ACCOUNTS = "account_id,name,segment,tier_score\nA1,Acme,SMB,3\nA2,Beta,ENT,4\n"
EVENTS = ("account_id,event_time,event_type\nA1,2026-01-01 10:00:00,login\nA2,2026-03-05 09:00:00,login\n"
          "A1,2026-06-15 08:00:00,report_run\n")


def spec(tmp_path: Path, table: str, text: str, name: str | None = None) -> ImportSpec:
    path = tmp_path / (name or f"{table}.csv")
    path.write_text(text, encoding="utf-8")
    return ImportSpec(table, Source.from_text(str(path)))


def state(wh: Warehouse) -> dict:
    """Everything an import may change: every raw table's rows (meta included), the pointer, the files."""
    with wh.reader() as con:
        tables = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in ALL_RAW_TABLES}
        columns = [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]
    return {"tables": tables, "accounts_columns": columns, "pointer": (wh.root / "CURRENT.json").read_text(),
            "pointer_stamp": wh.pointer_stamp(), "version": wh.version(),
            "files": sorted(p.name for p in wh.root.iterdir())}


def meta(wh: Warehouse) -> dict[str, str]:
    with wh.reader() as con:
        return dict(con.execute("SELECT key, value FROM workspace_meta").fetchall())


def count(wh: Warehouse, table: str) -> int:
    with wh.reader() as con:
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]


@pytest.fixture()
def wh(tmp_path) -> Warehouse:
    """Two accounts (with a numeric custom attribute) and three events, imported in one go."""
    w = Warehouse(tmp_path / "wh")
    import_tables(w, [spec(tmp_path, "accounts", ACCOUNTS), spec(tmp_path, "events", EVENTS)], today=TODAY)
    return w


def test_a_later_table_that_fails_validation_writes_no_table(tmp_path, wh):
    before = state(wh)
    good_accounts = spec(tmp_path, "accounts", "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n", "a2.csv")
    bad_events = spec(tmp_path, "events", "account_id,event_time,event_type\nA3,2026-02-01,login\nA3,soon,login\n",
                      "e2.csv")
    with pytest.raises(ImportValidationError) as err:
        import_tables(wh, [bad_events, good_accounts], today=TODAY)
    assert str(err.value).startswith("Import stopped, nothing was written: ")
    problem = next(p for p in err.value.report.errors if p.code == "parse_failed")
    assert problem.table == "events" and problem.examples[0]["row"] == 2
    assert state(wh) == before  # the valid accounts table was not written either
    assert count(wh, "accounts") == 2 and count(wh, "events") == 3


def test_a_write_that_fails_part_way_changes_nothing_and_says_so(tmp_path, wh):
    """The accounts file passes validation but cannot be written (text into the numeric ``tier_score``)."""
    before = state(wh)
    accounts = spec(tmp_path, "accounts", "account_id,name,tier_score\nA5,Eps,high\n", "a5.csv")
    events = spec(tmp_path, "events", "account_id,event_time,event_type\nA5,2026-02-01 10:00:00,login\n", "e5.csv")
    with pytest.raises(UserError) as err:
        import_tables(wh, [accounts, events], "append", today=TODAY)
    assert str(err.value) == ("The import could not be written and nothing was changed: Conversion Error: Could "
                              "not convert string 'high' to INT64 when casting from source column tier_score")
    assert state(wh) == before  # no row, no meta stamp, the same pointer, no leftover snapshot file


@pytest.mark.parametrize(("raised", "shown"), [
    (duckdb.IOException(""), "IOException"),  # a database error with no message names its kind
    (duckdb.IOException("  \n "), "IOException"),
    (duckdb.ConstraintException("Constraint Error: duplicate key \"A9\"\nLINE 1: INSERT INTO ..."),
     'Constraint Error: duplicate key "A9"'),  # only the first line, never the statement
])
def test_a_write_error_reads_as_one_line_and_changes_nothing(tmp_path, wh, monkeypatch, raised, shown):
    before = state(wh)

    def failing(con, staged, mode):
        raise raised

    monkeypatch.setattr(importer, "_write_table", failing)
    with pytest.raises(UserError) as err:
        import_tables(wh, [spec(tmp_path, "accounts", "account_id,name\nA9,Nine\n", "a9.csv")], "append",
                      today=TODAY)
    assert str(err.value) == f"The import could not be written and nothing was changed: {shown}"
    assert state(wh) == before


def test_replace_writes_every_named_table_and_keeps_the_others(tmp_path, wh):
    nps = spec(tmp_path, "nps", "account_id,responded_at,score\nA1,2026-05-01,9\n")
    import_tables(wh, [nps], "append", today=TODAY)
    res = import_tables(wh, [spec(tmp_path, "accounts", "account_id,name\nB1,New\n", "b.csv"),
                             spec(tmp_path, "events", "account_id,event_time,event_type\nB1,2026-04-01,login\n",
                                  "f.csv")], "replace", today=TODAY, allow_orphans=True)
    with wh.reader() as con:
        assert con.execute("SELECT account_id, name FROM accounts").fetchall() == [("B1", "New")]
        assert con.execute("SELECT account_id FROM events").fetchall() == [("B1",)]
        assert "tier_score" not in [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]  # a new table
    assert count(wh, "nps") == 1  # not named: kept
    assert (res.tables, res.mode, res.rows, res.version) == ({"accounts": 1, "events": 1}, "replace", 2, wh.version())
    assert set(res.mappings) == {"accounts", "events"}


def test_append_adds_rows_and_new_custom_columns_and_stamps_each_table(tmp_path, wh):
    stamps_before = meta(wh)
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    res = import_tables(wh, [spec(tmp_path, "accounts", "account_id,name,region\nA3,Gamma,EU\n", "a3.csv"),
                             spec(tmp_path, "events", "account_id,event_time,event_type\nA3,2026-06-20,login\n",
                                  "e3.csv")], "append", today=TODAY)
    with wh.reader() as con:
        rows = con.execute("SELECT account_id, tier_score, region FROM accounts ORDER BY 1").fetchall()
    assert rows == [("A1", 3, None), ("A2", 4, None), ("A3", None, "EU")]
    assert count(wh, "events") == 4 and res.tables == {"accounts": 1, "events": 1} and res.mode == "append"
    stamps = meta(wh)
    for table in ("accounts", "events"):
        stamp = stamps[f"imported_{table}"]
        assert stamp != stamps_before[f"imported_{table}"] or stamp >= start.isoformat()
        assert start <= datetime.fromisoformat(stamp) <= datetime.now(UTC).replace(tzinfo=None)
        assert len(stamp) == 19  # seconds, no time zone suffix
    assert "imported_nps" not in stamps
    with wh.reader() as con:  # one row per key, however often a table is imported
        assert con.execute("SELECT count(*) FROM workspace_meta WHERE key = 'imported_events'").fetchall() == [(1,)]


def test_fresh_import_replaces_named_tables_and_empties_the_rest_even_in_append_mode(tmp_path, wh):
    res = import_tables(wh, [spec(tmp_path, "accounts", "account_id,name\nA1,Again\n", "a6.csv")], "append",
                        today=TODAY, fresh=True)
    with wh.reader() as con:
        assert con.execute("SELECT account_id, name FROM accounts").fetchall() == [("A1", "Again")]
    assert count(wh, "events") == 0 and res.tables == {"accounts": 1}
    assert meta(wh)["end_date"] == TODAY.isoformat() and meta(wh)["end_date_basis"] == "import date"


def test_the_end_of_the_data_is_stored_with_the_import(tmp_path, wh):
    stored = meta(wh)
    assert (stored["end_date"], stored["imported_on"]) == ("2026-06-15", "2026-07-01")
    assert json.loads(stored["future_rows"]) == {} and "as_of_override" not in stored
    res = import_tables(wh, [spec(tmp_path, "nps", "account_id,responded_at,score\nA1,2026-06-20,9\n")], "append",
                        today=TODAY, as_of=date(2026, 5, 31))
    stored = meta(wh)
    assert (stored["end_date"], stored["as_of_override"]) == ("2026-06-20", "2026-05-31")
    assert res.data_end["end_date"] == date(2026, 6, 20) and res.data_end["override"] == date(2026, 5, 31)
    assert res.to_dict()["data_end"] == "2026-06-20"


def test_without_a_date_the_import_uses_today(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    res = import_tables(wh, [spec(tmp_path, "accounts", "account_id,name\nA1,Acme\n")])
    today = datetime.now(UTC).date()
    assert meta(wh)["imported_on"] == today.isoformat() == meta(wh)["end_date"]
    assert res.data_end["end_date"] == today and res.data_end["basis"] == "import date"


def test_the_date_of_the_import_decides_what_is_in_the_future(tmp_path, wh):
    """An event after ``today`` is refused even when it is in the past on the real calendar."""
    before = state(wh)
    later = spec(tmp_path, "events", "account_id,event_time,event_type\nA1,2026-07-20 10:00:00,login\n", "e7.csv")
    with pytest.raises(ImportValidationError) as err:
        import_tables(wh, [later], "append", today=TODAY)
    assert "future_date" in err.value.report.codes()
    assert state(wh) == before


def test_a_dry_run_validates_writes_nothing_and_needs_no_lock(tmp_path, wh):
    """A preview runs while another import holds the raw writer lock (it does not wait for it)."""
    before = state(wh)
    held, release, outcome = threading.Event(), threading.Event(), {}

    def hold():
        with wh.lock("raw"):
            held.set()
            release.wait(120)

    def preview():
        outcome["result"] = import_tables(wh, [spec(tmp_path, "events", "account_id,event_time,event_type\n"
                                                    "A2,2026-06-01,x\n", "e8.csv")], "append", today=TODAY,
                                          dry_run=True)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        previewer = threading.Thread(target=preview)
        previewer.start()
        previewer.join(60)
        assert "result" in outcome, "the dry run waited for the raw writer lock"
    finally:
        release.set()
        holder.join()
    res = outcome["result"]
    assert (res.tables, res.mode, res.version, res.data_end) == ({"events": 1}, "append", before["version"], {})
    assert set(res.mappings) == {"events"} and res.report.ok and res.report.rows == {"events": 1}
    assert state(wh) == before
    with pytest.raises(ImportValidationError, match="^Import stopped, nothing was written: "):
        import_tables(wh, [spec(tmp_path, "events", "account_id,event_time\nA2,2026-06-01\n", "e9.csv")],
                      "append", today=TODAY, dry_run=True)
    assert state(wh) == before


def test_an_import_validates_under_the_writer_lock(tmp_path, wh):
    """An import started while another holds the lock validates against what that one wrote: the account
    the other import added is a duplicate, refused, not written twice."""
    held, go, failure = threading.Event(), threading.Event(), {}
    first = spec(tmp_path, "accounts", "account_id,name\nA3,First\n", "first.csv")
    second = spec(tmp_path, "accounts", "account_id,name\nA3,Second\n", "second.csv")

    def hold_then_write():
        with wh.lock("raw"):
            held.set()
            go.wait(120)
            import_tables(wh, [first], "append", today=TODAY)  # the lock is re-entrant in this thread

    def run():
        try:
            import_tables(wh, [second], "append", today=TODAY)
        except ImportValidationError as exc:
            failure["error"] = exc

    holder = threading.Thread(target=hold_then_write)
    holder.start()
    assert held.wait(30)
    importer = threading.Thread(target=run)
    importer.start()
    try:
        importer.join(5)
        assert importer.is_alive() and count(wh, "accounts") == 2  # blocked behind the holder, nothing written
    finally:
        go.set()
        holder.join()
        importer.join(120)
    assert not importer.is_alive()
    assert "error" in failure, "the second import was not refused: it validated before the first one wrote"
    assert "duplicate_existing" in failure["error"].report.codes()
    with wh.reader() as con:
        assert con.execute("SELECT account_id, name FROM accounts WHERE account_id = 'A3'").fetchall() == \
            [("A3", "First")]


def test_replacing_accounts_that_would_orphan_rows_is_refused_unless_allowed(tmp_path, wh):
    before = state(wh)
    only_a1 = spec(tmp_path, "accounts", "account_id,name\nA1,Acme\n", "only_a1.csv")
    with pytest.raises(ImportValidationError) as err:
        import_tables(wh, [only_a1], today=TODAY)
    assert "replacing accounts would orphan 1 row(s) in other tables" in str(err.value)
    assert state(wh) == before
    import_tables(wh, [only_a1], today=TODAY, allow_orphans=True)
    assert count(wh, "accounts") == 1 and count(wh, "events") == 3


def test_replace_keeps_an_empty_custom_attribute_as_null(tmp_path, wh):
    import_tables(wh, [spec(tmp_path, "accounts", "account_id,name,tier_score\nA1,Acme,5\nA2,Beta,\n", "t.csv")],
                  today=TODAY)
    with wh.reader() as con:
        assert con.execute("SELECT account_id, tier_score FROM accounts ORDER BY 1").fetchall() == \
            [("A1", 5), ("A2", None)]


def test_a_replace_checks_child_rows_against_the_new_accounts_only(tmp_path, wh):
    """Replacing accounts with events in the same import: an event of an account only the old snapshot had is
    an orphan, not a match (the warehouse's accounts are about to be replaced)."""
    before = state(wh)
    new_accounts = spec(tmp_path, "accounts", "account_id,name\nA3,Gamma\n", "a3.csv")
    old_only = spec(tmp_path, "events", "account_id,event_time,event_type\nA1,2026-02-01 10:00:00,login\n", "e3.csv")
    with pytest.raises(ImportValidationError) as err:
        import_tables(wh, [new_accounts, old_only], "replace", today=TODAY)
    problem = next(p for p in err.value.report.errors if p.code == "unknown_account")
    assert problem.table == "events" and problem.examples[0]["account_id"] == "A1"
    assert state(wh) == before


def test_an_append_checks_child_rows_against_the_new_and_the_existing_accounts(tmp_path, wh):
    new_account = spec(tmp_path, "accounts", "account_id,name\nA3,Gamma\n", "a3.csv")
    events = spec(tmp_path, "events", "account_id,event_time,event_type\nA1,2026-02-01 10:00:00,login\n"
                                      "A3,2026-02-02 10:00:00,login\n", "e3.csv")
    res = import_tables(wh, [new_account, events], "append", today=TODAY)
    assert res.report.ok and "unknown_account" not in res.report.codes()
    assert res.tables == {"accounts": 1, "events": 2}
    assert (count(wh, "accounts"), count(wh, "events")) == (3, 5)


def test_the_same_table_twice_in_one_import_is_refused_in_words(tmp_path, wh):
    before = state(wh)
    with pytest.raises(UserError) as err:
        import_tables(wh, [spec(tmp_path, "events", EVENTS, "e1.csv"), spec(tmp_path, "events", EVENTS, "e2.csv")],
                      today=TODAY)
    assert str(err.value) == "Each table can appear only once in one import."
    assert state(wh) == before


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_child_rows_are_checked_against_accounts_whose_mapping_binds_values(tmp_path, wh, mode):
    """An accounts mapping with a date format, a value map and a default binds values into its staging query; the
    child tables' account check reads that same query, with the same values."""
    accounts = ImportSpec("accounts", Source.from_text(str(_write(tmp_path / "a7.csv",
                                                                  "id,nm,since,seg\nC7,Gamma,31/12/2025,e\n"))),
                          Mapping("accounts", columns={"id": "account_id", "nm": "name", "since": "created_at",
                                                       "seg": "segment"},
                                  formats={"created_at": "%d/%m/%Y"}, values={"segment": {"e": "Enterprise"}},
                                  defaults={"region": "EMEA"}))
    events = spec(tmp_path, "events", "account_id,event_time,event_type\nC7,2026-02-01 10:00:00,login\n", "e7.csv")
    import_tables(wh, [events, accounts], mode, today=TODAY, allow_orphans=True)
    with wh.reader() as con:
        assert con.execute("SELECT account_id, created_at, segment, region FROM accounts WHERE account_id = 'C7'"
                           ).fetchall() == [("C7", date(2025, 12, 31), "Enterprise", "EMEA")]
        assert con.execute("SELECT count(*) FROM events WHERE account_id = 'C7'").fetchone() == (1,)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_mode_or_table_is_refused_in_words(tmp_path, wh):
    before = state(wh)
    with pytest.raises(UserError) as err:
        import_tables(wh, [spec(tmp_path, "events", EVENTS)], "merge", today=TODAY)
    assert str(err.value) == "Unknown import mode 'merge'; use 'replace' or 'append'."
    with pytest.raises(UserError) as err:
        import_tables(wh, [spec(tmp_path, "events", EVENTS), spec(tmp_path, "payments", EVENTS, "p.csv")],
                      "append", today=TODAY)
    assert str(err.value) == ("Unknown table 'payments'; choose one of accounts, subscriptions, events, tickets, "
                              "nps, invoices, contacts, account_labels.")
    assert state(wh) == before


def test_a_fresh_import_of_child_rows_without_accounts_asks_for_the_accounts_first(tmp_path):
    """``fresh=True`` starts from an empty raw layer: the old snapshot's accounts do not count."""
    w = Warehouse(tmp_path / "wh")
    import_tables(w, [spec(tmp_path, "accounts", ACCOUNTS), spec(tmp_path, "events", EVENTS)], today=TODAY)
    before = state(w)
    with pytest.raises(ImportValidationError) as err:
        import_tables(w, [spec(tmp_path, "events", EVENTS, "e2.csv")], "replace", fresh=True, today=TODAY)
    problem = next(p for p in err.value.report.errors if p.code == "unknown_account")
    assert problem.table == "events" and problem.count == 3 and "import accounts first" in problem.message
    assert state(w) == before
