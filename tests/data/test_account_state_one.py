"""One account's state (the Account page and every per-account query's book check) reads only that account's
rows, and is exactly its row of the whole book's state, on every shape of data and for every viewer."""

from __future__ import annotations

import pandas as pd
import pytest

from data import queries, readmodel
from data.access import SYSTEM, NotInBook, Viewer
from data.workspace import open_workspace
from tests.support import shapes
from tests.support.cli import cli_in_process


@pytest.fixture(scope="module")
def shaped(tmp_path_factory) -> dict:
    """The non-sample shapes, imported through the CLI: billing with integer ids, a flat table, no billing data."""
    root = tmp_path_factory.mktemp("one_state")
    out = {}
    for build in (shapes.event_log, shapes.flat_table, shapes.activity_log):
        shape = build(root / build.__name__ / "files")
        path = str(root / build.__name__ / "ws")
        for argv in shape.imports:
            code, text = cli_in_process("--workspace", path, *argv)
            assert code == 0, text
        out[shape.name] = open_workspace(path)
    return out


def _picks(full: pd.DataFrame) -> list[str]:
    """Accounts of every status (and the first and last by ARR)."""
    ids = [full["account_id"].iloc[0], full["account_id"].iloc[-1]]
    ids += full.groupby("status")["account_id"].first().tolist()
    return list(dict.fromkeys(ids))


def _values(row: pd.Series) -> dict:
    """A row's values with every kind of missing value as None (a one-row frame infers other null dtypes)."""
    return {k: (None if not isinstance(v, (list, tuple)) and pd.isna(v) else v) for k, v in row.items()}


def _check(con, viewer: Viewer = SYSTEM) -> set[str]:
    full = readmodel.account_state(con, viewer).set_index("account_id")
    for account_id in _picks(full.reset_index()):
        one = readmodel.account_state(con, viewer, [account_id])
        assert len(one) == 1, account_id
        assert _values(one.set_index("account_id").iloc[0]) == _values(full.loc[account_id]), account_id
    return set(full["status"])


@pytest.mark.parametrize("shape_name, statuses", [("event_log", {"active", "churned"}),
                                                 ("flat_table", {"active", "churned"}),
                                                 ("activity_log", {"active", "churned"})])
def test_one_account_state_is_its_row_of_the_whole_state_on_every_shape(shaped, shape_name, statuses):
    with shaped[shape_name].warehouse.reader() as con:
        assert statuses <= _check(con)
        several = readmodel.account_state(con, SYSTEM, _picks(readmodel.account_state(con))[:3])
        assert len(several) == 3 and several["arr"].is_monotonic_decreasing | several["arr"].isna().all()


def test_one_account_state_on_the_sample_keeps_the_book_boundary(sample_workspace):
    maya = Viewer("csm1", ("csm",), csm="Maya Patel")
    with sample_workspace.warehouse.reader() as con:
        _check(con)
        _check(con, maya)
        full = readmodel.account_state(con)
        other = full.loc[full["csm"] != "Maya Patel", "account_id"].iloc[0]
        own = full.loc[full["csm"] == "Maya Patel", "account_id"].iloc[0]
        assert readmodel.account_state(con, maya, [other]).empty
        assert readmodel.account_state(con, maya, [own, other])["account_id"].tolist() == [own]
        with pytest.raises(NotInBook) as err:
            queries.require_account(con, maya, other)
        assert str(err.value) == f"Account {other!r} is not in your book."
        assert queries.require_account(con, maya, own)["csm"] == "Maya Patel"


def test_an_unknown_or_hostile_id_is_simply_not_in_the_book(sample_workspace):
    with sample_workspace.warehouse.reader() as con:
        for hostile in ("nope", "' OR 1=1 --", "A1'); DROP TABLE accounts; --"):
            assert readmodel.account_state(con, SYSTEM, [hostile]).empty
        assert con.execute("SELECT count(*) FROM accounts").fetchall()[0][0] > 0
