"""Settings, the snapshot warehouse, users, scoping and export on a hand-made company."""

from __future__ import annotations

import json
import multiprocessing
import os

import pandas as pd
import pytest

from data import queries
from data import users as user_store
from data.access import NotInBook, Viewer
from data.errors import UserError
from data.export import export_table
from data.schema import CANONICAL_TABLES
from data.settings import SettingsError, load_settings
from data.warehouse import Warehouse
from tests.support.workspaces import write_tiny

MANAGER = Viewer("manager", ("manager",))
AVERY = Viewer("csm1", ("csm",), csm="Avery Chen")
JORDAN = Viewer("csm2", ("csm",), csm="Jordan Patel")


@pytest.fixture()
def tiny(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "warehouse")
    write_tiny(wh)
    return wh


# ------------------------------------------------------------------ settings
def test_settings_defaults_live_in_the_workspace(tmp_path):
    s = load_settings(tmp_path / "ws", environ={})
    assert s.workspace == (tmp_path / "ws").resolve()
    assert s.database_url == f"sqlite:///{s.workspace / 'operational.sqlite'}"
    assert s.auth_file.parent == s.workspace


def test_settings_env_overrides(tmp_path):
    s = load_settings(environ={"CSAI_WORKSPACE": str(tmp_path / "w2"), "CSAI_DATABASE_URL": "sqlite:///x.db",
                               "CSAI_SMTP_HOST": "mail", "CSAI_SMTP_PORT": "2525"})
    assert s.workspace.name == "w2" and s.database_url == "sqlite:///x.db"
    assert s.smtp.host == "mail" and s.smtp.port == 2525


@pytest.mark.parametrize("env, fragment", [
    ({"CSAI_DATABASE_URL": "not a url"}, "CSAI_DATABASE_URL"),
    ({"CSAI_SMTP_PORT": "eighty"}, "CSAI_SMTP_PORT"),
    ({"CSAI_SMTP_PORT": "700000"}, "out of range"),
    ({"CSAI_SMTP_TLS": "maybe"}, "CSAI_SMTP_TLS"),
])
def test_bad_settings_say_what_to_fix(tmp_path, env, fragment):
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path / "ws", environ=env)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_workspace_that_is_a_file_is_rejected(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SettingsError, match="is a file"):
        load_settings(f, environ={})


# ------------------------------------------------------------------ warehouse
def test_empty_warehouse_exposes_empty_canonical_tables(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    assert not wh.has_data()
    with wh.reader() as con:
        for table in CANONICAL_TABLES:
            assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0


def test_schema_is_created_idempotently(tiny):
    with tiny.writer("raw") as con:  # copy + ensure schema again must keep the rows
        pass
    with tiny.reader() as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
        cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'accounts' "
                                          "AND database_name = 'raw' ORDER BY column_index").fetchall()]
    assert cols == [c for c, _, _ in CANONICAL_TABLES["accounts"]]


def test_failed_write_leaves_previous_snapshot(tiny):
    before = tiny.version()
    with pytest.raises(RuntimeError, match="boom"):
        with tiny.writer("raw") as con:
            con.execute("DELETE FROM accounts")
            raise RuntimeError("boom")
    assert tiny.version() == before
    with tiny.reader() as con:
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
    assert len(list(tiny.root.glob("raw-*.duckdb"))) == 1


def test_reader_keeps_its_snapshot_while_a_writer_publishes(tiny):
    con = tiny.connect()
    with tiny.writer("raw") as w:
        w.execute("DELETE FROM accounts WHERE account_id = 'A3'")
    assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3  # old snapshot, still readable
    con.close()
    with tiny.reader() as fresh:
        assert fresh.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2


def _write_results_in_child(root: str) -> None:
    wh = Warehouse(root)
    with wh.writer("results") as con:
        con.execute("CREATE OR REPLACE TABLE scores AS SELECT account_id, 0.25 AS p FROM accounts")


def test_another_process_can_write_while_this_one_reads(tiny):
    con = tiny.connect()  # like the app: a long-lived read connection
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_write_results_in_child, args=(str(tiny.root),))
    proc.start()
    proc.join(300)  # a spawned interpreter on a busy 2-core machine can take a while to start
    assert proc.exitcode == 0
    con.close()
    with tiny.reader() as fresh:
        assert fresh.execute("SELECT count(*) FROM scores").fetchone()[0] == 3
    assert "results=" in tiny.version()


def test_old_snapshots_are_collected(tiny):
    for _ in range(6):
        with tiny.writer("raw"):
            pass
    assert len(list(tiny.root.glob("raw-*.duckdb"))) <= 3
    assert json.loads((tiny.root / "CURRENT.json").read_text())["raw"].startswith("raw-")


# ------------------------------------------------------------------ scoping
def test_manager_sees_every_account(tiny):
    with tiny.reader() as con:
        df = queries.account_overview(con, MANAGER)
    assert sorted(df["account_id"]) == ["A1", "A2", "A3"]


def test_csm_sees_only_their_book(tiny):
    with tiny.reader() as con:
        assert sorted(queries.account_overview(con, AVERY)["account_id"]) == ["A1", "A3"]
        assert list(queries.account_overview(con, JORDAN)["account_id"]) == ["A2"]
        with pytest.raises(NotInBook, match="not in your book"):
            queries.timeline(con, AVERY, "A2")
        with pytest.raises(NotInBook, match="'A1' is not in your book"):
            queries.usage_by_week(con, JORDAN, "A1")


def test_csm_without_book_sees_nothing(tiny):
    with tiny.reader() as con:
        assert queries.account_overview(con, Viewer("x", ("csm",), csm=None)).empty


def test_hostile_account_id_is_just_not_found(tiny):
    with tiny.reader() as con:
        with pytest.raises(NotInBook, match="is not in your book"):
            queries.require_account(con, MANAGER, "A1' OR '1'='1")
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3


def test_overview_figures(tiny):
    with tiny.reader() as con:
        df = queries.account_overview(con, MANAGER).set_index("account_id")
    assert df.at["A1", "arr"] == 3000 and df.at["A1", "status"] == "active"
    assert df.at["A1", "renewal_date"] == pd.Timestamp("2026-07-10")  # next monthly anniversary
    assert df.at["A2", "arr"] == 216000 and df.at["A2", "renewal_date"] == pd.Timestamp("2026-09-01")
    assert df.at["A3", "status"] == "churned" and df.at["A3", "arr"] == 0
    assert df.at["A3", "churned_on"] == pd.Timestamp("2026-02-15")


def test_active_users_from_user_ids_or_daily_logins(tiny):
    with tiny.reader() as con:
        a1 = queries.active_users_by_week(con, MANAGER, "A1")
        a2 = queries.active_users_by_week(con, MANAGER, "A2")
    assert a1["active_users"].max() == 6
    assert a2["active_users"].max() == 2


def test_timeline_flags_warning_signs(tiny):
    with tiny.reader() as con:
        tl = queries.timeline(con, MANAGER, "A1")
    bad = set(tl.loc[tl["tone"] == "bad", "kind"])
    assert bad == {"Ticket", "NPS", "Invoice", "Contact"}
    assert any("resolved in 2.0 days" in d for d in tl["detail"])


# ------------------------------------------------------------------ export
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trips(tiny, tmp_path, suffix):
    out = tmp_path / f"accounts{suffix}"
    assert export_table(tiny, "accounts", out) == 3
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert sorted(df["account_id"]) == ["A1", "A2", "A3"]


def test_export_unknown_table_lists_known_ones(tiny, tmp_path):
    with pytest.raises(UserError) as err:
        export_table(tiny, "nope", tmp_path / "x.csv")
    assert "Known tables:" in str(err.value) and "accounts" in str(err.value)
    assert not (tmp_path / "x.csv").exists()


def test_export_rejects_unknown_format(tiny, tmp_path):
    with pytest.raises(UserError, match=r"\.csv or \.parquet"):
        export_table(tiny, "accounts", tmp_path / "x.xlsx")


# ------------------------------------------------------------------ users
def test_auth_file_gets_a_random_cookie_key(tmp_path):
    a = user_store.load_auth(tmp_path / "a.yaml")
    b = user_store.load_auth(tmp_path / "b.yaml")
    assert len(bytes.fromhex(a["cookie"]["key"])) == 32
    assert a["cookie"]["key"] != b["cookie"]["key"]
    assert oct(os.stat(tmp_path / "a.yaml").st_mode & 0o777) == "0o600"


def test_user_lifecycle(tmp_path):
    f = tmp_path / "auth.yaml"
    user_store.add_user(f, "pat", role="csm", password="s3cret-pass", csm="Avery Chen")
    u = user_store.get_user(f, "pat")
    assert u.roles == ("csm",) and u.csm == "Avery Chen"
    rec = user_store.load_auth(f)["credentials"]["usernames"]["pat"]
    assert rec["password"].startswith("$2") and "s3cret" not in rec["password"]
    assert user_store.check_password("s3cret-pass", rec["password"])
    user_store.set_password(f, "pat", "another-pass")
    rec = user_store.load_auth(f)["credentials"]["usernames"]["pat"]
    assert user_store.check_password("another-pass", rec["password"])
    user_store.set_disabled(f, "pat", True)
    assert "pat" not in user_store.active_credentials(f)["usernames"]
    user_store.remove_user(f, "pat")
    assert user_store.get_user(f, "pat") is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(username="Bad Name", role="admin", password="longenough"), "not allowed"),
    (dict(username="ok", role="boss", password="longenough"), "Unknown role"),
    (dict(username="ok", role="csm", password="longenough"), "needs --csm"),
    (dict(username="ok", role="admin", password="short"), "at least 8"),
    (dict(username="ok", role="admin", password="longenough", email="nope"), "not an email"),
])
def test_bad_user_input_is_rejected_and_nothing_written(tmp_path, kwargs, message):
    f = tmp_path / "auth.yaml"
    before = user_store.load_auth(f)
    raw = f.read_bytes() if f.exists() else None
    kwargs = dict(kwargs)  # the parameter set is shared by reruns (random order, mutation runs): never change it
    username = kwargs.pop("username")
    with pytest.raises(UserError, match=message):
        user_store.add_user(f, username, **kwargs)
    assert user_store.load_auth(f) == before and (f.read_bytes() if f.exists() else None) == raw


def test_duplicate_user_is_rejected(tmp_path):
    f = tmp_path / "auth.yaml"
    user_store.add_user(f, "pat", role="admin", password="longenough")
    with pytest.raises(UserError, match="already exists"):
        user_store.add_user(f, "pat", role="manager", password="longenough")
    assert user_store.get_user(f, "pat").roles == ("admin",)


def test_concurrent_sessions_all_see_a_writable_workspace(tmp_path):
    """Many sessions load settings at once (the app's threads): none is told the folder is not writable."""
    import threading

    from data.settings import load_settings

    errors: list[str] = []

    def load_many():
        for _ in range(100):
            try:
                load_settings(environ={"CSAI_WORKSPACE": str(tmp_path)})
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(str(exc))

    threads = [threading.Thread(target=load_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not list(tmp_path.glob(".write-test*"))  # probes are cleaned up
