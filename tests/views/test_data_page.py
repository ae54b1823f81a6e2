"""AppTest: the Data page: who may open it, imports from files and databases, the double-click guard, data health."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from data.opstore import read_audit
from tests.support.admin_pages import DATA, ROLE_LABELS, accounts, audit_actions, refused, table_with
from tests.support.apptest import button, run_app, texts, upload

GOOD_ACCOUNTS = (b"customerID,Company,Plan,Owner,Tier,Employees\n"
                 b"C1,Foo Inc,Starter,Avery Chen,gold,12\nC2,Bar Ltd,Growth,Jordan Patel,silver,340\n")


@pytest.mark.parametrize("username", list(ROLE_LABELS))
def test_only_admins_and_data_scientists_open_the_data_page(tiny_ws, username):
    at = run_app(username, page=DATA)
    assert not at.exception
    if username in {"admin", "datasci"}:
        assert "cannot open" not in texts(at) and at.title
    else:
        assert refused(at, username, "Data")


@pytest.mark.stores
def test_data_page_imports_a_good_csv_end_to_end(tiny_ws):
    at = upload(run_app("datasci", page=DATA), "crm_accounts.csv", GOOD_ACCOUNTS)
    assert at.selectbox(key="data_target").value == "accounts"
    assert list(table_with(at, "customerID").columns) == ["customerID", "Company", "Plan", "Owner", "Tier", "Employees"]
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_accounts_")}
    assert mapped["account_id *"] == "customerID" and mapped["name"] == "Company" and mapped["csm"] == "Owner"
    assert mapped["segment"] == "Tier"
    assert at.button(key="data_import").disabled  # nothing validated yet

    at.checkbox(key="data_allow_orphans_0").check()  # the tiny company's events refer to accounts not in the file
    button(at, "Validate").click()
    at.run()
    assert "Validation passed with 1 warning(s): 2 rows" in texts(at)
    assert at.get("download_button")  # the mapping can be saved as YAML
    assert not at.button(key="data_import").disabled
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    assert "Imported 2 rows into accounts" in texts(at)
    got = accounts(tiny_ws)
    assert list(got["account_id"]) == ["C1", "C2"]
    assert list(got["name"]) == ["Foo Inc", "Bar Ltd"]
    assert list(got["segment"]) == ["gold", "silver"]
    assert list(got["employees"]) == [12, 340]  # kept as a custom attribute
    assert audit_actions(tiny_ws) == ["data.import"]
    assert read_audit(tiny_ws.engine)[0]["actor"] == "datasci"

    # A second click (or a rerun) does not import again: the button is disabled for this upload.
    assert at.button(key="data_import").disabled
    assert "already imported" in texts(at)
    at.run()
    assert audit_actions(tiny_ws) == ["data.import"]


def test_append_twice_is_refused_by_the_double_click_guard(tiny_ws):
    at = upload(run_app("admin", page=DATA), "accounts.csv", b"account_id,name\nA9,Newco\n")
    at.radio(key="data_mode_0").set_value("append")
    button(at, "Validate").click()
    at.run()
    assert at.button(key="data_import").label == "Append 1 rows"
    at.button(key="data_import").click()
    at.run()
    at.run()
    assert list(accounts(tiny_ws)["account_id"]) == ["A1", "A2", "A3", "A9"]
    assert audit_actions(tiny_ws).count("data.import") == 1
    assert at.button(key="data_import").disabled


def test_bad_file_shows_errors_and_writes_nothing(tiny_ws):
    before = accounts(tiny_ws)
    version = tiny_ws.warehouse.version()
    bad = b"account_id,name,created_at\nX1,One,2025-01-01\nX1,Two,not a date\n,Three,2025-02-01\n"
    at = upload(run_app("admin", page=DATA), "accounts.csv", bad)
    button(at, "Validate").click()
    at.run()
    assert not at.exception
    body = texts(at)
    assert "stop this import. Nothing has been written" in body
    assert "row(s)" in body
    assert at.button(key="data_import").disabled
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)
    assert tiny_ws.warehouse.version() == version
    assert "data.import" not in audit_actions(tiny_ws)


def test_unreadable_file_shows_the_message(tiny_ws):
    before = accounts(tiny_ws)
    at = run_app("admin", page=DATA)
    at.file_uploader(key="data_upload").set_value(("accounts.csv", b"", "text/csv"))
    at.run()
    assert not at.exception
    assert "is empty (0 bytes)" in at.error[0].value
    assert all(b.key != "data_import" for b in at.get("button"))
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)
    assert audit_actions(tiny_ws) == ["data.import_failed"]


def test_saved_mapping_is_loaded_into_the_form(tiny_ws):
    at = upload(run_app("admin", page=DATA), "export.csv", b"Kunde,Firma,Paket\nK1,Eins,Basic\n")
    mapping = b"table: accounts\ncolumns:\n  Kunde: account_id\n  Firma: name\n  Paket: plan\n"
    at.file_uploader(key="data_mapping_file").set_value(("accounts_mapping.yaml", mapping, "application/x-yaml"))
    at.run()
    assert not at.exception
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("map_accounts_")}
    assert (mapped["account_id *"], mapped["name"], mapped["plan"]) == ("Kunde", "Firma", "Paket")
    at.checkbox(key="data_allow_orphans_1").check()  # K1 replaces the tiny company's accounts
    button(at, "Validate").click()
    at.run()
    assert "Validation passed" in texts(at)


def test_flat_table_with_churn_label(tiny_ws):
    flat = b"id,company,churned\n1,Alpha,Yes\n2,Beta,No\n3,Gamma,No\n"
    at = upload(run_app("admin", page=DATA), "crm.csv", flat)
    at.selectbox(key="data_target").select("flat")
    at.run()
    assert at.selectbox(key="flat_label_0").value == "churned"
    button(at, "Validate").click()
    at.run()
    assert "yes → churned" in texts(at)
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    with tiny_ws.warehouse.reader() as con:
        labels = dict(con.execute("SELECT account_id, label FROM account_labels").fetchall())
    assert labels == {"1": 1, "2": 0, "3": 0}


def test_database_source_reads_a_table(tiny_ws, postgres_url):  # noqa: F811 - the imported fixture
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS page_customers"))
        conn.execute(sa.text("CREATE TABLE page_customers (account_id TEXT, name TEXT)"))
        conn.execute(sa.text("INSERT INTO page_customers VALUES ('D1', 'Delta'), ('D2', 'Echo')"))
    engine.dispose()
    at = run_app("admin", page=DATA)
    at.segmented_control(key="data_source_kind").set_value("Connect to a database")
    at.run()
    at.text_input(key="data_db_url").input(postgres_url)
    at.text_input(key="data_db_table").input("page_customers")
    button(at, "Connect and preview").click()
    at.run()
    assert not at.exception
    assert list(table_with(at, "name")["name"]) == ["Delta", "Echo"]
    assert "data.connect" in audit_actions(tiny_ws)


def test_database_password_is_never_shown(tiny_ws):
    secret = "s3cret-Pa55"
    at = run_app("admin", page=DATA)
    at.segmented_control(key="data_source_kind").set_value("Connect to a database")
    at.run()
    at.text_input(key="data_db_url").input(f"postgresql://bob:{secret}@127.0.0.1:1/crm")
    at.text_input(key="data_db_table").input("customers")
    button(at, "Connect and preview").click()
    at.run()
    assert not at.exception
    assert at.error and "***" in at.error[0].value
    assert secret not in texts(at)
    assert all(secret not in str(r) for r in read_audit(tiny_ws.engine))


def test_data_health_panel(tiny_ws):
    at = run_app("admin", page=DATA)
    assert not at.exception
    health = table_with(at, "coverage")
    assert health.set_index("table").at["events", "rows"] == 5
    assert len(at.get("plotly_chart")) == 2
    assert "too few for a stable model" in texts(at)  # one churned account in the tiny company


def test_upload_limit_is_respected(tiny_ws, monkeypatch):
    monkeypatch.setenv("CSAI_MAX_UPLOAD_MB", "1")
    before = accounts(tiny_ws)
    big = b"account_id,name\n" + b"".join(b"B%07d,Big company %07d\n" % (i, i) for i in range(40_000))
    assert len(big) > 1024 * 1024
    at = run_app("admin", page=DATA)
    assert at.file_uploader(key="data_upload").proto.max_upload_size_mb == 1
    at.file_uploader(key="data_upload").set_value(("accounts.csv", big, "text/csv"))
    at.run()
    assert not at.exception
    assert "above the 1 MB upload limit" in at.error[0].value
    pd.testing.assert_frame_equal(accounts(tiny_ws), before)
