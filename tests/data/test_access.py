"""The Viewer's scoping, run as SQL the way every query uses it: who sees which accounts."""

from __future__ import annotations

import duckdb
import pytest

from data.access import ALL_ACCOUNT_ROLES, SYSTEM, NotInBook, Viewer
from data.errors import UserError

BOOKS = {"A1": "Avery Chen", "A2": "Jordan Patel", "A3": "Avery Chen", "A4": None}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE accounts (account_id VARCHAR, csm VARCHAR)")
    c.executemany("INSERT INTO accounts VALUES (?, ?)", list(BOOKS.items()))
    yield c
    c.close()


def visible(con, viewer: Viewer, alias: str | None = None) -> set[str]:
    scope, params = viewer.scope_sql() if alias is None else viewer.scope_sql(alias)
    name = alias or "a"
    return {r[0] for r in con.execute(f"SELECT {name}.account_id FROM accounts {name} WHERE {scope}",
                                      params).fetchall()}


@pytest.mark.parametrize("role", ["admin", "manager", "data_scientist"])
def test_these_roles_see_every_account(con, role):
    assert role in ALL_ACCOUNT_ROLES
    viewer = Viewer(role, (role,))
    assert viewer.sees_all_accounts
    assert visible(con, viewer) == set(BOOKS)


def test_a_csm_sees_exactly_their_book(con):
    avery = Viewer("csm1", ("csm",), csm="Avery Chen")
    assert not avery.sees_all_accounts
    assert visible(con, avery) == {"A1", "A3"}
    assert visible(con, Viewer("csm2", ("csm",), csm="Jordan Patel")) == {"A2"}


def test_a_csm_without_a_book_and_an_unknown_role_see_nothing(con):
    assert visible(con, Viewer("new", ("csm",), csm=None)) == set()
    assert visible(con, Viewer("new", ("csm",), csm="")) == set()
    assert visible(con, Viewer("guest", ("viewer",))) == set()
    assert visible(con, Viewer("nobody", ())) == set()


def test_one_all_accounts_role_among_several_is_enough(con):
    both = Viewer("lead", ("csm", "manager"), csm="Avery Chen")
    assert both.sees_all_accounts and visible(con, both) == set(BOOKS)


def test_the_book_filter_is_a_bound_parameter_on_the_given_alias(con):
    hostile = Viewer("csm9", ("csm",), csm="x' OR '1'='1")
    scope, params = hostile.scope_sql("acc")
    assert scope == "acc.csm = ?" and params == ["x' OR '1'='1"]
    assert visible(con, hostile, alias="acc") == set()
    assert visible(con, Viewer("csm1", ("csm",), csm="Avery Chen"), alias="acc") == {"A1", "A3"}
    assert Viewer("m", ("manager",)).scope_sql("acc") == ("TRUE", [])
    assert Viewer("n", ("csm",)).scope_sql("acc") == ("FALSE", [])


def test_cache_keys_differ_whenever_what_a_viewer_sees_may_differ():
    base = Viewer("pat", ("csm",), csm="Avery Chen")
    others = [Viewer("sam", ("csm",), csm="Avery Chen"), Viewer("pat", ("manager",), csm="Avery Chen"),
              Viewer("pat", ("csm",), csm="Jordan Patel"), Viewer("pat", ("csm",)),
              Viewer("pat", ("csm", "manager"), csm="Avery Chen")]
    assert base.cache_key == Viewer("pat", ("csm",), csm="Avery Chen").cache_key
    assert len({base.cache_key, *(o.cache_key for o in others)}) == 1 + len(others)
    assert base.cache_key == "pat|csm|Avery Chen" and Viewer("pat", ("csm", "manager")).cache_key == "pat|csm,manager|"


def test_the_system_viewer_sees_everything_and_not_in_book_is_a_user_error(con):
    assert SYSTEM.username == "system" and SYSTEM.sees_all_accounts and visible(con, SYSTEM) == set(BOOKS)
    assert issubclass(NotInBook, UserError)
