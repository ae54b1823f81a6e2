"""Imports: sources, mapping, validation, all-or-nothing writes, CLI, data health."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.errors import UserError
from data.health import data_health
from data.importer import ImportSpec, import_flat, import_table, import_tables
from data.mapping import Lookup, Mapping, normalise_name, suggest_mapping, suggest_value_map
from data.schema import ALL_RAW_TABLES, CANONICAL_TABLES
from data.sources import Source, check_select_query, mask_url
from data.validation import ImportValidationError
from data.warehouse import Warehouse
from tests.support.cli import cli

ROOT = Path(__file__).resolve().parents[2]
FIX = Path(__file__).parent / "fixtures_import"
TODAY = date(2026, 7, 1)

ACCOUNTS_CSV = """account_id,name,segment,created_at,employees
A1,Acme,SMB,2024-01-01,10
A2,Beta,ENT,2024-02-01,500
A3,Gamma,MM,2024-03-01,50
"""
EVENTS_CSV = """account_id,event_time,event_type,quantity
A1,2026-01-01 10:00:00,login,1
A2,2026-01-02 10:00:00,login,2
A3,2026-01-03 10:00:00,report_run,1
"""


def snapshot(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """Every raw table's full content, sorted, for before/after comparisons."""
    out = {}
    with wh.reader() as con:
        for table in ALL_RAW_TABLES:
            df = con.execute(f'SELECT * FROM "{table}"').df()
            out[table] = df.sort_values(list(df.columns)).reset_index(drop=True) if len(df) else df
    return out


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert before.keys() == after.keys()
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], check_dtype=False, obj=table)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture()
def wh(tmp_path) -> Warehouse:
    """A warehouse holding three accounts and three events."""
    w = Warehouse(tmp_path / "wh")
    import_table(w, "accounts", str(write(tmp_path, "a.csv", ACCOUNTS_CSV)), today=TODAY)
    import_table(w, "events", str(write(tmp_path, "e.csv", EVENTS_CSV)), today=TODAY)
    return w


# --------------------------------------------------------------------------- mapping
def test_suggest_mapping_by_name_and_type():
    m = suggest_mapping(["customerID", "Company Name", "Plan", "Signup Date", "Employees"], None, "accounts")
    assert m.columns == {"customerID": "account_id", "Company Name": "name", "Plan": "plan",
                         "Signup Date": "created_at"}
    assert m.extra == ["Employees"]
    ev = suggest_mapping(["customer_id", "timestamp", "event", "userId"], None, "events")
    assert ev.columns == {"customer_id": "account_id", "timestamp": "event_time", "event": "event_type",
                          "userId": "user_id"}
    for name in ("event_time", "occurred_at", "timestamp"):
        assert suggest_mapping(["account", name, "type"], None, "events").targets["event_time"] == name
    by_type = suggest_mapping(["account", "when", "type"], ["VARCHAR", "TIMESTAMP", "VARCHAR"], "events")
    assert by_type.targets["event_time"] == "when"
    for label in ("churn", "Churned", "is_churned"):
        assert suggest_mapping(["id", label], None, "account_labels").targets["label"] == label
    assert normalise_name("customerID") == "customer_id"


def test_value_maps():
    assert suggest_value_map(["Yes", "No", "yes"]) == {"yes": 1, "no": 0}
    assert suggest_value_map(["true", "FALSE"]) == {"true": 1, "false": 0}
    assert suggest_value_map(["1", "0"]) == {"1": 1, "0": 0}
    assert suggest_value_map(["Y", "N", None]) == {"y": 1, "n": 0}
    assert suggest_value_map(["red", "blue"]) is None


def test_mapping_yaml_round_trip_and_checks():
    m = Mapping("events", columns={"c": "account_id", "t": "event_time", "k": "event_type"},
                values={"event_type": {"1": "login"}}, lookup=[Lookup("k", "types.csv", "id", "name")])
    assert Mapping.from_yaml(m.to_yaml()) == m
    with pytest.raises(UserError, match="not a column of events"):
        Mapping("events", columns={"c": "nonsense"})
    with pytest.raises(UserError, match="Both"):
        Mapping("events", columns={"a": "account_id", "b": "account_id"})
    with pytest.raises(UserError, match="not valid YAML"):
        Mapping.from_yaml("table: [")
    with pytest.raises(UserError, match="Unknown mapping keys"):
        Mapping.from_yaml("table: events\nsql: drop table x")


# --------------------------------------------------------------------------- sources and shapes
def test_csv_sniffs_delimiter_and_encoding_and_keeps_custom_attributes(tmp_path):
    w = Warehouse(tmp_path / "wh")
    res = import_table(w, "accounts", str(FIX / "accounts_semicolon_cp1252.csv"), today=TODAY)
    assert res.tables == {"accounts": 3}
    with w.reader() as con:
        df = con.execute("SELECT * FROM accounts ORDER BY account_id").df()
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE table_name = 'accounts'").fetchall())
    assert df["account_id"].tolist() == ["1001", "1002", "1003"]  # integer ids become text
    assert df["name"].tolist() == ["Müller GmbH", "Café Olé", "Åkerlund AB"]
    assert str(df["created_at"][0])[:10] == "2024-01-15"
    assert types["employees"] == "BIGINT" and types["annual_revenue"] == "DOUBLE"
    assert types["account_id"] == "VARCHAR"


def test_csv_overrides(tmp_path):
    p = write(tmp_path, "x.txt", "junk line\nid|nm\n007|Acme\n")
    w = Warehouse(tmp_path / "wh")
    src = Source(path=str(p), delimiter="|", skip=1, encoding="utf-8")
    import_table(w, "accounts", src, Mapping("accounts", columns={"id": "account_id", "nm": "name"}), today=TODAY)
    with w.reader() as con:
        assert con.execute("SELECT account_id, name FROM accounts").fetchall() == [("007", "Acme")]


def test_event_type_lookup_and_billing_periods(tmp_path):
    w = Warehouse(tmp_path / "wh")
    import_table(w, "accounts", str(FIX / "accounts_semicolon_cp1252.csv"), today=TODAY)
    res = import_table(w, "events", str(FIX / "events_by_type_id.csv"), Mapping.load(FIX / "events_mapping.yaml"),
                       today=TODAY)
    assert res.tables == {"events": 4}
    res = import_table(w, "subscriptions", str(FIX / "subscriptions_periods.csv"),
                       Mapping.load(FIX / "subscriptions_mapping.yaml"), today=TODAY)
    assert res.tables == {"subscriptions": 4}
    with w.reader() as con:
        ev = con.execute("SELECT account_id, event_type, quantity FROM events ORDER BY event_time").fetchall()
        subs = con.execute("SELECT account_id, start_date, end_date, mrr, seats FROM subscriptions "
                           "ORDER BY account_id, start_date").fetchall()
    assert ev == [("1001", "login", 3.0), ("1002", "report_run", 1.0), ("1003", "login", 1.0),
                  ("1001", "user_invite", 2.0)]
    assert subs[0] == ("1001", date(2025, 1, 1), date(2025, 1, 31), 100.0, 5)
    assert subs[3] == ("1002", date(2025, 1, 1), None, 900.0, 50)


def test_lookup_with_unknown_code_is_reported(tmp_path):
    w = Warehouse(tmp_path / "wh")
    import_table(w, "accounts", str(FIX / "accounts_semicolon_cp1252.csv"), today=TODAY)
    before = snapshot(w)
    ev = write(tmp_path, "ev.csv", "customer,occurred_at,type_id,n\n1001,2025-01-01,9,1\n")
    m = Mapping.load(FIX / "events_mapping.yaml")
    with pytest.raises(ImportValidationError) as err:
        import_table(w, "events", str(ev), m, today=TODAY)
    # code 9 is not in the lookup, so the mapped event type is empty and the user is told which column
    assert err.value.report.codes() == {"missing_value"}
    assert "Import stopped, nothing was written: required column 'event_type' is empty" in str(err.value)
    assert_same(before, snapshot(w))


def test_parquet_and_excel_sources(tmp_path):
    df = pd.DataFrame({"Account": [1, 2, 3], "Name": ["a", "b", "c"], "Since": pd.to_datetime(["2024-01-01"] * 3)})
    df.to_parquet(tmp_path / "a.parquet")
    df.to_excel(tmp_path / "a.xlsx", index=False)
    for f in ("a.parquet", "a.xlsx"):
        w = Warehouse(tmp_path / f"wh_{f}")
        res = import_table(w, "accounts", str(tmp_path / f), today=TODAY)
        assert res.tables == {"accounts": 3}
        with w.reader() as con:
            assert con.execute("SELECT account_id, name, created_at FROM accounts ORDER BY 1").fetchall()[0] == (
                "1", "a", date(2024, 1, 1))


def test_parquet_is_read_in_place_with_file_row_numbers_and_order(tmp_path, wh, monkeypatch):
    import tempfile

    n = 5000
    events = pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A1"] * (n // 4),
        "event_time": pd.date_range("2025-01-01", periods=n, freq="h"),
        "event_type": ["login"] * n,
        "quantity": [1.0] * n,
    })
    events.loc[4321, "quantity"] = -1.0  # a warning, reported at its file row
    events.loc[4001, "event_type"] = None  # an error
    events.to_parquet(tmp_path / "e.parquet", row_group_size=512)  # several row groups
    staging = tmp_path / "staging"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))
    with pytest.raises(ImportValidationError) as err:
        import_table(wh, "events", str(tmp_path / "e.parquet"), today=TODAY)
    codes = {p.code: p for p in err.value.report.problems}
    assert codes["missing_value"].examples == [{"row": 4002}]
    assert codes["out_of_range"].examples == [{"row": 4322, "quantity": "-1.0"}]
    events.loc[4001, "event_type"] = "login"
    events.rename(columns={"quantity": "file_row_number"}).to_parquet(tmp_path / "f.parquet")  # a clashing name
    events.to_parquet(tmp_path / "e.parquet", row_group_size=512)
    res = import_table(wh, "events", str(tmp_path / "e.parquet"), today=TODAY)
    assert res.tables == {"events": n} and res.report.codes() == {"out_of_range"}
    with wh.reader() as con:
        got = con.execute("SELECT event_time FROM events").df()["event_time"]
    assert got.tolist() == events["event_time"].tolist()  # written in file order
    res = import_table(wh, "events", str(tmp_path / "f.parquet"), today=TODAY)
    assert res.tables == {"events": n} and "dropped_columns" in res.report.codes()
    assert list(staging.iterdir()) == []  # the private staging folder is removed after each import


def test_writer_on_an_existing_connection_publishes_and_cleans_up(tmp_path, wh):
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE mine AS SELECT 'A9' AS account_id")
    with wh.writer("raw", con=con) as w:
        assert w is con
        assert con.execute("SELECT current_database()").fetchall()[0][0] == "memory"
        con.execute("INSERT INTO raw.accounts (account_id) SELECT account_id FROM mine")
    assert {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()} \
        == {"memory"}
    assert con.execute("SELECT * FROM mine").fetchall() == [("A9",)]  # the caller's objects are untouched
    with wh.reader() as r:
        assert r.execute("SELECT count(*) FROM accounts WHERE account_id = 'A9'").fetchall()[0][0] == 1
    before, version = snapshot(wh), wh.version()
    with pytest.raises(duckdb.Error, match="no_such_table"):
        with wh.writer("raw", con=con):
            con.execute("INSERT INTO raw.accounts (account_id) VALUES ('A10')")
            con.execute("SELECT * FROM no_such_table")
    assert wh.version() == version and len(list(Path(wh.root).glob("raw-*.duckdb"))) <= 3
    assert_same(before, snapshot(wh))
    assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'raw'").fetchall()[0][0] == 0
    con.close()


def test_flat_import(tmp_path, wh):
    res = import_flat(wh, str(FIX / "flat_crm.csv"), "customerID", "Churn", today=TODAY)
    assert res.tables == {"accounts": 5, "account_labels": 5}
    assert "few_churned" in res.report.codes()
    with wh.reader() as con:
        labels = dict(con.execute("SELECT account_id, label FROM account_labels").fetchall())
        cols = [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 0  # workspace data replaced
    assert labels["3668-QPYBK"] == 1 and labels["7590-VHVEG"] == 0 and sum(labels.values()) == 2
    assert {"tenure", "contract", "monthly_charges", "senior_citizen"} <= set(cols) and "churn" not in cols
    res = import_flat(wh, str(FIX / "flat_crm.csv"), "customerID", "Contract", positive="Month-to-month", today=TODAY)
    with wh.reader() as con:
        assert con.execute("SELECT sum(label) FROM account_labels").fetchall()[0][0] == 3


def test_flat_import_errors_leave_data(tmp_path, wh):
    before = snapshot(wh)
    with pytest.raises(UserError, match="pass --positive"):
        import_flat(wh, str(FIX / "flat_crm.csv"), "customerID", "Contract", today=TODAY)
    with pytest.raises(UserError, match="is not a column"):
        import_flat(wh, str(FIX / "flat_crm.csv"), "nope", "Churn", today=TODAY)
    dup = write(tmp_path, "dup.csv", "id,churn\n1,yes\n1,no\n")
    with pytest.raises(ImportValidationError) as err:
        import_flat(wh, str(dup), "id", "churn", today=TODAY)
    assert "duplicate_key" in err.value.report.codes()
    assert_same(before, snapshot(wh))


# --------------------------------------------------------------------------- bad input leaves data intact
BAD_INPUTS = [
    # (name, table, file name, content, mapping, expected code or message)
    ("missing required column", "events", "e.csv", "account_id,event_type\nA1,login\n", None, "missing_column"),
    ("unparsable timestamp", "events", "e.csv", "account_id,event_time,event_type\nA1,not-a-date,login\n", None,
     "parse_failed"),
    ("empty required value", "events", "e.csv", "account_id,event_time,event_type\nA1,2026-01-01,\n", None,
     "missing_value"),
    ("duplicate keys", "accounts", "a.csv", "account_id,name\nA1,x\nA1,y\n", None, "duplicate_key"),
    ("unknown accounts", "events", "e.csv", "account_id,event_time,event_type\nZZ,2026-01-01,login\n", None,
     "unknown_account"),
    ("end before start", "subscriptions", "s.csv",
     "account_id,start_date,end_date,mrr\nA1,2025-02-01,2025-01-01,10\n", None, "date_order"),
    ("closed before opened", "tickets", "t.csv",
     "ticket_id,account_id,opened_at,closed_at\nT1,A1,2025-02-01,2025-01-01\n", None, "date_order"),
    ("event in the future", "events", "e.csv", "account_id,event_time,event_type\nA1,2031-01-01,login\n", None,
     "future_date"),
    ("invoice in the future", "invoices", "i.csv", "invoice_id,account_id,issued_at,amount\nI1,A1,2031-01-01,5\n",
     None, "future_date"),
    ("negative money", "invoices", "i.csv", "invoice_id,account_id,issued_at,amount\nI1,A1,2025-01-01,-5\n", None,
     "out_of_range"),
    ("negative mrr", "subscriptions", "s.csv", "account_id,start_date,mrr\nA1,2025-01-01,-1\n", None,
     "out_of_range"),
    ("nps out of range", "nps", "n.csv", "account_id,responded_at,score\nA1,2025-01-01,11\n", None, "out_of_range"),
    ("csat out of range", "tickets", "t.csv", "ticket_id,account_id,opened_at,csat\nT1,A1,2025-01-01,7\n", None,
     "out_of_range"),
    ("header only", "events", "e.csv", "account_id,event_time,event_type\n", None, "empty_table"),
    ("mapping names a missing column", "events", "e.csv", "account_id,event_time,event_type\nA1,2026-01-01,x\n",
     {"nope": "user_id"}, "unknown_column"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_reported_and_nothing_written(tmp_path, wh, case):
    _, table, fname, content, overrides, code = case
    before, version = snapshot(wh), wh.version()
    path = write(tmp_path, fname, content)
    with pytest.raises(ImportValidationError) as err:
        import_table(wh, table, str(path), overrides=overrides, today=TODAY)
    report = err.value.report
    assert not report.ok and code in {p.code for p in report.errors}
    assert "nothing was written" in str(err.value).lower()
    problem = next(p for p in report.errors if p.code == code)
    assert problem.message and problem.count >= 0
    if code not in {"missing_column", "empty_table", "unknown_column"}:
        assert problem.examples and problem.examples[0]["row"] == 1
    assert report.to_dict()["ok"] is False and code in report.to_text()
    assert wh.version() == version
    assert_same(before, snapshot(wh))


@pytest.mark.parametrize(
    "fname, content, message",
    [
        ("a.csv", b"", "is empty"),
        ("a.json", b'{"a": 1}', "unsupported file type"),
        ("a.xls", b"\xd0\xcf\x11\xe0", ".xls files are not supported"),
        ("a.parquet", b"not parquet at all", "not a readable Parquet file"),
        ("a.xlsx", b"PK\x03\x04 broken zip", "not a readable .xlsx workbook"),
        ("missing.csv", None, "does not exist"),
    ],
)
def test_bad_files_give_clear_messages(tmp_path, wh, fname, content, message):
    before, version = snapshot(wh), wh.version()
    path = tmp_path / fname
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        import_table(wh, "accounts", str(path), today=TODAY)
    assert wh.version() == version
    assert_same(before, snapshot(wh))


def test_oversize_file_is_refused(tmp_path, wh, monkeypatch):
    before = snapshot(wh)
    path = write(tmp_path, "big.csv", "account_id\n" + "A9\n" * 400_000)  # ~1.2 MB
    with pytest.raises(UserError, match="above the 1 MB upload limit"):
        import_table(wh, "accounts", str(path), max_mb=1, today=TODAY)
    monkeypatch.setenv("CSAI_MAX_UPLOAD_MB", "1")  # the setting is the default limit
    with pytest.raises(UserError, match="raise CSAI_MAX_UPLOAD_MB"):
        import_table(wh, "accounts", str(path), today=TODAY)
    assert_same(before, snapshot(wh))


def test_warnings_let_the_import_proceed(tmp_path, wh):
    path = write(tmp_path, "e.csv", "account_id,event_time,event_type,extra\n"
                 + "".join(f"A1,2026-01-0{i},login,x\n" for i in range(1, 10)) + "ZZ,2026-01-01,login,x\n"
                 + "".join(f"A2,2026-02-0{i},login,x\n" for i in range(1, 10)) * 2)
    res = import_table(wh, "events", str(path), mode="append", today=TODAY)
    assert res.report.ok and {"unknown_account", "dropped_columns"} <= res.report.codes()
    with wh.reader() as con:
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 3 + 28


def test_append_mode_and_duplicate_keys_against_warehouse(tmp_path, wh):
    before = snapshot(wh)
    with pytest.raises(ImportValidationError) as err:
        import_table(wh, "accounts", str(write(tmp_path, "a.csv", "account_id,name\nA1,again\n")), mode="append",
                     today=TODAY)
    assert "duplicate_existing" in err.value.report.codes()
    assert_same(before, snapshot(wh))
    res = import_table(wh, "accounts", str(write(tmp_path, "b.csv", "account_id,name,tier_score\nA4,Delta,3\n")),
                       mode="append", today=TODAY)
    assert res.tables == {"accounts": 1}
    with wh.reader() as con:
        rows = con.execute("SELECT account_id, employees, tier_score FROM accounts ORDER BY 1").fetchall()
    assert rows == [("A1", 10, None), ("A2", 500, None), ("A3", 50, None), ("A4", None, 3)]


# --------------------------------------------------------------------------- property test
JUNK = st.one_of(
    st.binary(max_size=300),
    st.lists(st.text(alphabet=st.sampled_from(list('ab1,;"\t\n\r -:Z09\x00é')), max_size=40), max_size=8).map(
        lambda rows: ("account_id,event_time,event_type\n" + "\n".join(rows)).encode("utf-8")
    ),
)


_HYPO: dict = {}


def _hypo_baseline(base: Path) -> None:
    """A fresh warehouse with three accounts and no events, and its content."""
    import uuid

    w = Warehouse(base / f"wh-{uuid.uuid4().hex[:8]}")
    import_table(w, "accounts", str(write(base, "a.csv", ACCOUNTS_CSV)), today=TODAY)
    _HYPO.update(base=base, wh=w, before=snapshot(w), version=w.version())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=JUNK)
def test_malformed_csv_never_crashes_and_never_writes(tmp_path_factory, payload):
    base = tmp_path_factory.getbasetemp() / "hypo"
    base.mkdir(exist_ok=True)
    if _HYPO.get("base") != base:  # first example of this pytest session (mutmut runs several in one process)
        _hypo_baseline(base)
    path = base / "junk.csv"
    path.write_bytes(payload)
    for table in ("events", "accounts"):
        w = _HYPO["wh"]
        try:
            import_table(w, table, str(path), today=TODAY)
        except UserError:
            assert w.version() == _HYPO["version"]
            assert_same(_HYPO["before"], snapshot(w))
        else:  # a payload that happens to be valid is written; start the next example from scratch
            _hypo_baseline(base)


# --------------------------------------------------------------------------- killed mid-import
KILL_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from data.importer import import_table
from data.warehouse import Warehouse
import_table(Warehouse(sys.argv[2]), "events", sys.argv[3], mode="append", max_mb=10_000)
"""


def test_import_killed_mid_write_leaves_old_data(tmp_path, wh):
    import duckdb

    events = tmp_path / "events.csv"
    duckdb.sql(
        "COPY (SELECT 'A' || (1 + i % 3) AS account_id, TIMESTAMP '2025-01-01' + to_seconds(i) AS event_time,"
        " 'evt_' || (i % 7) AS event_type, 1 + i % 5 AS quantity FROM range(5000) t(i)) "
        f"TO '{events}' (HEADER)"
    )
    before, version, cur = snapshot(wh), wh.version(), wh.current()
    root = Path(wh.root)
    # the test hook stops the import right after it wrote the rows into its new snapshot, before it commits
    env = {**os.environ, "CSAI_TEST_PAUSE_AT": "import-write", "CSAI_TEST_PAUSE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(ROOT), str(root), str(events)], env=env)
    reached = tmp_path / "import-write.reached"
    try:
        deadline = time.monotonic() + 120
        while not reached.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reached.exists() and proc.poll() is None, "the import never reached its write"
        assert reached.read_text() == str(proc.pid)
        assert [p for p in root.glob("raw-*.duckdb") if p.name != cur["raw"]], "no new snapshot being written"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert wh.current() == cur and wh.version() == version
    assert_same(before, snapshot(wh))
    # The lock died with the process: the next import works.
    import_table(wh, "events", str(write(tmp_path, "e2.csv", EVENTS_CSV)), today=TODAY)
    with wh.reader() as con:
        assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 3


# --------------------------------------------------------------------------- round trip
def _hand_made_tables() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    return {
        "accounts": pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Acme", "Beta"], "segment": ["SMB", "ENT"],
                                  "created_at": [ts("2024-01-01"), ts("2024-02-01")], "employees": [10, 500]}),
        "subscriptions": pd.DataFrame({"account_id": ["A1", "A2"], "product": ["core", "core"],
                                       "start_date": [ts("2024-01-01"), ts("2024-02-01")],
                                       "end_date": [ts("2025-01-01"), None], "mrr": [99.5, 1234.25], "seats": [3, 40]}),
        "events": pd.DataFrame({"account_id": ["A1", "A2"], "event_time": [ts("2025-01-01 10:00:01")] * 2,
                                "event_type": ["login", "report_run"], "quantity": [1.0, 2.5], "user_id": ["u1", None]}),
        "tickets": pd.DataFrame({"ticket_id": ["T1"], "account_id": ["A1"], "opened_at": [ts("2025-01-01 09:00")],
                                 "closed_at": [ts("2025-01-02 09:00")], "priority": ["high"], "csat": [4.0]}),
        "nps": pd.DataFrame({"account_id": ["A1"], "responded_at": [ts("2025-03-01")], "score": [9],
                             "comment": ['great, "really"']}),
        "invoices": pd.DataFrame({"invoice_id": ["I1"], "account_id": ["A2"], "issued_at": [ts("2025-01-01")],
                                  "due_at": [ts("2025-01-31")], "paid_at": [None], "amount": [100.1],
                                  "status": ["open"]}),
        "contacts": pd.DataFrame({"contact_id": ["C1"], "account_id": ["A1"], "email": ["a@x.io"], "role": ["admin"],
                                  "active_from": [ts("2024-01-01")], "active_to": [None]}),
    }


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory):
    """The sample company (60 accounts) when the data/sample package exists, else small hand-made tables."""
    end = date(2026, 6, 30)
    w = Warehouse(tmp_path_factory.mktemp("rt") / "wh")
    try:
        from data.sample import generate_sample, write_sample
    except ModuleNotFoundError:
        with w.writer("raw") as con:
            for table, df in _hand_made_tables().items():
                con.register("df", df)
                con.execute(f'DELETE FROM raw."{table}"')
                extra = [c for c in df.columns if c not in {n for n, _, _ in CANONICAL_TABLES[table]}]
                for c in extra:
                    con.execute(f'ALTER TABLE raw."{table}" ADD COLUMN "{c}" BIGINT')
                con.execute(f'INSERT INTO raw."{table}" BY NAME SELECT * FROM df')
                con.unregister("df")
    else:
        write_sample(w, generate_sample(n_accounts=60, seed=1, end=end), seed=1, end=end)
    return w


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_round_trip_export_import(tmp_path, sample_warehouse, ext):
    from data.export import export_table

    specs = []
    for table in CANONICAL_TABLES:
        f = tmp_path / f"{table}.{ext}"
        export_table(sample_warehouse, table, f)
        specs.append(ImportSpec(table, Source(path=str(f))))
    target = Warehouse(tmp_path / "new")
    res = import_tables(target, specs, "replace", today=TODAY)
    assert res.report.ok
    original, copy = snapshot(sample_warehouse), snapshot(target)
    for table in CANONICAL_TABLES:
        assert len(original[table]) > 0
        pd.testing.assert_frame_equal(original[table], copy[table], check_dtype=False, obj=table)


# --------------------------------------------------------------------------- CLI
def test_cli_import_success_errors_and_json(tmp_path):
    ws = str(tmp_path / "ws")
    acc = write(tmp_path, "a.csv", ACCOUNTS_CSV.replace("account_id", "customerID"))
    r = cli("--workspace", ws, "import", "accounts", str(acc), "--save-mapping", str(tmp_path / "m.yaml"))
    assert r.returncode == 0, r.stderr
    assert "wrote 3 rows to accounts" in r.stdout
    assert "customerID: account_id" in (tmp_path / "m.yaml").read_text()
    ev = write(tmp_path, "e.csv", "cust,when,what\nA1,2026-01-01,login\nA2,2026-01-02,login\n")
    r = cli("--workspace", ws, "import", "events", str(ev), "--map", "cust=account_id", "--map", "when=event_time",
            "--map", "what=event_type", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tables"] == {"events": 2}
    w = Warehouse(Path(ws) / "warehouse")
    before = snapshot(w)
    bad = write(tmp_path, "bad.csv", "account_id,responded_at,score\nA1,2026-01-01,12\n")
    r = cli("--workspace", ws, "import", "nps", str(bad))
    assert r.returncode == 2 and "NPS score outside 0-10" in r.stderr and "Nothing was written" in r.stderr
    r = cli("--workspace", ws, "import", "nps", str(bad), "--json")
    assert r.returncode == 2 and json.loads(r.stderr)["report"]["problems"][0]["code"] == "out_of_range"
    r = cli("--workspace", ws, "import", "events", str(FIX / "events_by_type_id.csv"),
            "--mapping", str(FIX / "events_mapping.yaml"))
    assert r.returncode == 2 and "unknown_account" in r.stderr
    assert_same(before, snapshot(w))
    r = cli("--workspace", ws, "import", "flat", str(FIX / "flat_crm.csv"), "--id", "customerID", "--label", "Churn")
    assert r.returncode == 0, r.stderr
    assert "wrote 5 rows to account_labels" in r.stdout and "too few for a stable model" in r.stdout
    r = cli("--workspace", ws, "import", "accounts", str(tmp_path / "nope.csv"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- query checks, masking, health
def test_select_only_queries():
    assert check_select_query("SELECT * FROM t;") == "SELECT * FROM t"
    assert check_select_query("with x as (select 1) select * from x -- note") .startswith("with")
    assert check_select_query("SELECT 'drop table x' AS note FROM t")
    for bad, message in (
        ("DELETE FROM t", "must start with SELECT or WITH"),
        ("SELECT 1; DROP TABLE t", "more than one statement"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "uses 'DELETE'"),
        ("UPDATE t SET a=1", "must start with SELECT or WITH"),
        ("", "The query is empty"),
        ("SELECT * INTO new FROM t", "uses 'INTO'"),
        ("PRAGMA x", "must start with SELECT or WITH"),
    ):
        with pytest.raises(UserError, match=message):
            check_select_query(bad)


def test_url_password_is_masked():
    url = "postgresql+psycopg2://bob:s3cr3t-pw@db.example:5432/crm"
    assert "s3cr3t-pw" not in mask_url(url) and "***" in mask_url(url)
    assert "s3cr3t-pw" not in Source(url=url, table="x").label
    assert "s3cr3t-pw" not in repr(Source(url=url, table="x"))


def test_data_health(wh, tmp_path):
    h = data_health(wh, today=date(2026, 3, 1))
    assert h["accounts"].rows == 3 and h["events"].accounts_covered == 3
    assert h["events"].freshness_days == (date(2026, 3, 1) - date(2026, 1, 3)).days
    assert any("stale data" in w for w in h["events"].warnings)
    assert len(h["events"].per_day) == 3 and h["events"].per_day["rows"].sum() == 3
    assert h["accounts"].null_rates["industry"] == 1.0 and h["accounts"].null_rates["name"] == 0.0
    assert any("empty" in w for w in h["tickets"].warnings)
    assert any("no churn information" in w for w in h["accounts"].warnings)
    import_flat(wh, str(FIX / "flat_crm.csv"), "customerID", "Churn", today=TODAY)
    h = data_health(wh)
    assert any("only 2 churned account(s): too few for a stable model" in w for w in h["account_labels"].warnings)
    empty = data_health(Warehouse(tmp_path / "none"))
    assert any("no accounts" in w for w in empty["accounts"].warnings)
