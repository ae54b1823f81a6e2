"""The workspace's as-of date: stored at import from activity, capped at the import date, overridable."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, timedelta

import cli
from data import readmodel
from data.workspace import open_workspace


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue() + err.getvalue()


def _files(tmp_path):
    soon = (date.today() + timedelta(days=90)).isoformat()
    (tmp_path / "accounts.csv").write_text("id,company\n1,Acme\n2,Globex\n")
    (tmp_path / "subs.csv").write_text("id,start,end,fee\n1,2024-01-01,,100\n2,2024-01-01,2024-05-31,50\n"
                                       f"1,{soon},,300\n")
    (tmp_path / "events.csv").write_text("id,at,kind\n1,2024-06-10 10:00,login\n2,2024-05-30 09:00,login\n")


def _import_all(ws, tmp_path, *extra: str) -> dict:
    for argv in (["accounts", str(tmp_path / "accounts.csv"), "--map", "id=account_id", "--map", "company=name"],
                 ["subscriptions", str(tmp_path / "subs.csv"), "--map", "id=account_id", "--map", "start=start_date",
                  "--map", "end=end_date", "--map", "fee=mrr"],
                 ["events", str(tmp_path / "events.csv"), "--map", "id=account_id", "--map", "at=event_time",
                  "--map", "kind=event_type"]):
        code, text = _cli("--workspace", ws, "import", *argv, "--json", *extra)
        assert code == 0, text
    return json.loads(text)


def test_as_of_is_the_last_activity_and_a_future_subscription_never_moves_it(tmp_path):
    _files(tmp_path)
    ws = str(tmp_path / "ws")
    out = _import_all(ws, tmp_path)
    assert out["data_end"] == "2024-06-10"
    assert out["future_rows"] == {"subscriptions": 1}  # flagged at import
    assert out["supports"]["as_of"] == "2024-06-10" and out["supports"]["shape"] == "billing"
    with open_workspace(ws).warehouse.reader() as con:
        assert readmodel.as_of_date(con) == date(2024, 6, 10)
        state = readmodel.account_state(con).set_index("account_id")
    # as of the data's end, not today: account 1 pays 100 a month (the booked 300 has not started)
    assert state.at["1", "arr"] == 1200 and state.at["1", "status"] == "active"
    assert state.at["2", "status"] == "churned"


def test_as_of_can_be_set_at_import(tmp_path):
    _files(tmp_path)
    ws = str(tmp_path / "ws")
    out = _import_all(ws, tmp_path, "--as-of", "2024-03-31")
    assert out["supports"]["as_of"] == "2024-03-31" and out["supports"]["as_of_basis"] == "set with --as-of"
    with open_workspace(ws).warehouse.reader() as con:
        state = readmodel.account_state(con).set_index("account_id")
    assert state.at["2", "status"] == "active"  # still paying on 31 March


def test_a_bad_as_of_is_refused_and_nothing_is_written(tmp_path):
    _files(tmp_path)
    ws = str(tmp_path / "ws")
    code, text = _cli("--workspace", ws, "import", "accounts", str(tmp_path / "accounts.csv"), "--map",
                      "id=account_id", "--as-of", "31/03/2024")
    assert code == 2 and "--as-of '31/03/2024' is not a date; use YYYY-MM-DD." in text
    assert not open_workspace(ws).warehouse.has_data()
