"""Exporting a warehouse table to CSV or Parquet, and the messages for an unknown table or format."""

from __future__ import annotations

import pandas as pd
import pytest

from data.errors import UserError
from data.export import export_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trips(tiny_warehouse, tmp_path, suffix):
    out = tmp_path / f"accounts{suffix}"
    assert export_table(tiny_warehouse, "accounts", out) == 3
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert sorted(df["account_id"]) == ["A1", "A2", "A3"]


def test_export_unknown_table_lists_known_ones(tiny_warehouse, tmp_path):
    with pytest.raises(UserError) as err:
        export_table(tiny_warehouse, "nope", tmp_path / "x.csv")
    assert "Known tables:" in str(err.value) and "accounts" in str(err.value)
    assert not (tmp_path / "x.csv").exists()


def test_export_rejects_unknown_format(tiny_warehouse, tmp_path):
    with pytest.raises(UserError, match=r"\.csv or \.parquet"):
        export_table(tiny_warehouse, "accounts", tmp_path / "x.xlsx")
