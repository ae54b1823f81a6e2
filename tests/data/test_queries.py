"""Page queries on the hand-made company: each viewer sees their book, and the overview's figures are right."""

from __future__ import annotations

import pandas as pd
import pytest

from data import queries
from data.access import NotInBook, Viewer

MANAGER = Viewer("manager", ("manager",))
AVERY = Viewer("csm1", ("csm",), csm="Avery Chen")
JORDAN = Viewer("csm2", ("csm",), csm="Jordan Patel")


def test_manager_sees_every_account(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        df = queries.account_overview(con, MANAGER)
    assert sorted(df["account_id"]) == ["A1", "A2", "A3"]


def test_csm_sees_only_their_book(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        assert sorted(queries.account_overview(con, AVERY)["account_id"]) == ["A1", "A3"]
        assert list(queries.account_overview(con, JORDAN)["account_id"]) == ["A2"]
        with pytest.raises(NotInBook, match="not in your book"):
            queries.timeline(con, AVERY, "A2")
        with pytest.raises(NotInBook, match="'A1' is not in your book"):
            queries.usage_by_week(con, JORDAN, "A1")


def test_csm_without_book_sees_nothing(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        assert queries.account_overview(con, Viewer("x", ("csm",), csm=None)).empty


def test_hostile_account_id_is_just_not_found(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        with pytest.raises(NotInBook, match="is not in your book"):
            queries.require_account(con, MANAGER, "A1' OR '1'='1")
        assert con.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3


def test_overview_figures(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        df = queries.account_overview(con, MANAGER).set_index("account_id")
    assert df.at["A1", "arr"] == 3000 and df.at["A1", "status"] == "active"
    assert df.at["A1", "renewal_date"] == pd.Timestamp("2026-07-10")  # next monthly anniversary
    assert df.at["A2", "arr"] == 216000 and df.at["A2", "renewal_date"] == pd.Timestamp("2026-09-01")
    assert df.at["A3", "status"] == "churned" and df.at["A3", "arr"] == 0
    assert df.at["A3", "churned_on"] == pd.Timestamp("2026-02-15")


def test_active_users_from_user_ids_or_daily_logins(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        a1 = queries.active_users_by_week(con, MANAGER, "A1")
        a2 = queries.active_users_by_week(con, MANAGER, "A2")
    assert a1["active_users"].max() == 6
    assert a2["active_users"].max() == 2


def test_timeline_flags_warning_signs(tiny_warehouse):
    with tiny_warehouse.reader() as con:
        tl = queries.timeline(con, MANAGER, "A1")
    bad = set(tl.loc[tl["tone"] == "bad", "kind"])
    assert bad == {"Ticket", "NPS", "Invoice", "Contact"}
    assert any("resolved in 2.0 days" in d for d in tl["detail"])
