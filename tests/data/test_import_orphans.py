"""A replace of accounts that would orphan other tables' rows is refused with counts unless confirmed;
flat imports can leave columns out (``--map COL=``).

Driven through ``cli.py import`` (``main()`` in process) and the Data page (AppTest).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data.workspace import open_workspace
from tests.support.apptest import DATA_PAGE as DATA
from tests.support.apptest import button, run_app, texts, upload
from tests.support.cli import run_import

ACCOUNTS = "account_id,name\n" + "".join(f"A{i},Company {i}\n" for i in range(1, 41))
EVENTS = "account_id,event_time,event_type\n" + "".join(
    f"A{i},2026-01-0{1 + i % 9} 10:00:00,login\nA{i},2026-01-0{1 + i % 9} 11:00:00,export\n" for i in range(1, 41))
SUBSCRIPTIONS = "account_id,start_date,mrr\n" + "".join(f"A{i},2025-01-01,100\n" for i in range(1, 41))


def content(ws: Path) -> dict[str, list[tuple]]:
    with open_workspace(str(ws)).warehouse.reader() as con:
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in ("accounts", "events", "subscriptions", "account_labels")}


@pytest.fixture()
def ws(tmp_path, capsys) -> Path:
    """40 accounts, 80 events and 40 subscriptions, imported through the CLI."""
    ws = tmp_path / "ws"
    for table, text in [("accounts", ACCOUNTS), ("events", EVENTS), ("subscriptions", SUBSCRIPTIONS)]:
        (tmp_path / f"{table}.csv").write_text(text)
        code, _, err = run_import(capsys, ws, table, str(tmp_path / f"{table}.csv"))
        assert code == 0, err
    return ws


def test_replace_that_orphans_rows_is_refused_with_counts(ws, tmp_path, capsys):
    """The issue's case: a file that lacks most accounts would leave their events and subscriptions orphaned."""
    (tmp_path / "two.csv").write_text("account_id,name\nA1,Company 1\nA2,Company 2\n")
    before = content(ws)
    code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / "two.csv"), "--mode", "replace")
    assert code == 2
    assert "Nothing was written" in err
    assert "[orphaned_rows]" in err
    assert "replacing accounts would orphan 114 row(s) in other tables: 76 events row(s), " \
           "38 subscriptions row(s) refer to 38 account(s) that are not in this file" in err
    assert "--allow-orphans" in err
    assert "\n           account_id='A10', events=2, subscriptions=1\n" in err  # examples with their counts
    assert content(ws) == before


def test_allow_orphans_confirms_and_still_reports_the_counts(ws, tmp_path, capsys):
    (tmp_path / "two.csv").write_text("account_id,name\nA1,Company 1\nA2,Company 2\n")
    code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / "two.csv"), "--mode", "replace",
                             "--allow-orphans")
    assert code == 0, err
    assert "wrote 2 rows to accounts (replace)" in out
    assert "38 account(s) that other tables refer to are not in this file; 76 events row(s), " \
           "38 subscriptions row(s) are kept without their account (confirmed)" in out
    after = content(ws)
    assert [r[0] for r in after["accounts"]] == ["A1", "A2"]
    assert len(after["events"]) == 80  # the rows themselves are kept, as confirmed


def test_replace_keeping_every_referenced_account_needs_no_confirmation(ws, tmp_path, capsys):
    (tmp_path / "more.csv").write_text(ACCOUNTS.replace("Company 1\n", "Renamed One\n") + "A41,New Co\n")
    code, out, err = run_import(capsys, ws, "accounts", str(tmp_path / "more.csv"), "--mode", "replace")
    assert code == 0, err
    assert "orphan" not in out + err
    assert len(content(ws)["accounts"]) == 41


def test_data_page_refuses_until_the_orphans_box_is_ticked(tiny_ws):  # noqa: F811 - the imported fixture
    wh = tiny_ws.warehouse
    version = wh.version()
    at = upload(run_app("admin", page=DATA), "accounts.csv", b"account_id,name\nA2,Globex\n")
    assert at.selectbox(key="data_target").value == "accounts"
    button(at, "Validate").click()
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "replacing accounts would orphan" in shown.lower()
    assert "3 events row(s)" in shown and "2 subscriptions row(s)" in shown
    assert at.button(key="data_import").disabled
    assert wh.version() == version
    at.checkbox(key="data_allow_orphans_0").check()
    button(at, "Validate").click()
    at.run()
    assert not at.exception
    assert "kept without their account (confirmed)" in texts(at)
    assert not at.button(key="data_import").disabled
    at.button(key="data_import").click()
    at.run()
    assert not at.exception
    with wh.reader() as con:
        assert con.execute("SELECT account_id FROM accounts").fetchall() == [("A2",)]


# ------------------------------------------------------------------ flat imports leave columns out
FLAT = ("customer,company,plan,months_active,churned\n"
        + "".join(f"{i},Co {i},Starter,{i % 24},{'Yes' if i % 3 == 0 else 'No'}\n" for i in range(1, 31)))


def test_flat_import_leaves_a_mapped_out_column_out(tmp_path, capsys):
    ws = tmp_path / "ws"
    (tmp_path / "crm.csv").write_text(FLAT)
    code, out, err = run_import(capsys, ws, "flat", str(tmp_path / "crm.csv"), "--id", "customer", "--label",
                             "churned", "--map", "months_active=")
    assert code == 0, err
    with open_workspace(str(ws)).warehouse.reader() as con:
        columns = [r[0] for r in con.execute("DESCRIBE accounts").fetchall()]
        assert con.execute("SELECT count(*), sum(label) FROM account_labels").fetchall() == [(30, 10)]
        names = dict(con.execute("SELECT account_id, name FROM accounts").fetchall())
    assert "months_active" not in columns and "company" not in columns
    assert names["1"] == "Co 1" and names["30"] == "Co 30"  # the company column became the account name


def test_flat_import_map_errors_write_nothing(tmp_path, capsys):
    ws = tmp_path / "ws"
    (tmp_path / "crm.csv").write_text(FLAT)
    assert run_import(capsys, ws, "flat", str(tmp_path / "crm.csv"), "--id", "customer", "--label", "churned")[0] == 0
    before = content(ws)
    for args, message in [
        (["--map", "tenure="], "--map names column(s) 'tenure' that crm.csv does not have"),
        (["--map", "customer="], "--map cannot change the --id or --label column"),
        (["--mapping", "x.yaml"], "import flat takes no --mapping or --mode"),
    ]:
        code, out, err = run_import(capsys, ws, "flat", str(tmp_path / "crm.csv"), "--id", "customer", "--label",
                                 "churned", *args)
        assert code == 2 and message in err, err
    assert content(ws) == before
