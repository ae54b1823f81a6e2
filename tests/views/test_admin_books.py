"""Admin: CSM books are chosen from the names in the data, a name that matches nothing is warned about,
and the book goes when the user stops being a CSM."""

from __future__ import annotations

import pytest

from data import users as user_store
from data.access import SYSTEM
from data.books import csm_books
from tests.support.apptest import run_app

ADMIN = "views/admin.py"


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def fill_add_user(at, username: str, csm: str, password: str = "good-password"):
    """Fill and submit the Add a user form for a CSM (``csm`` typed; empty = use the list)."""
    at.text_input(key="add_username").input(username)
    at.text_input(key="add_name").input("New Person")
    at.selectbox(key="add_role").select("csm")
    at.text_input(key="add_csm").input(csm)
    at.text_input(key="add_password").input(password)
    at.text_input(key="add_password2").input(password)
    button(at, "Add user").click()
    at.run()
    assert not at.exception
    return at


def test_books_are_the_csm_names_in_the_data_with_account_counts(tiny_ws):
    with tiny_ws.warehouse.reader() as con:
        books = csm_books(con, SYSTEM)
        expected = dict(con.execute("SELECT csm, count(*) FROM accounts WHERE csm IS NOT NULL GROUP BY 1").fetchall())
    assert dict(zip(books["csm"], books["accounts"], strict=True)) == expected
    at = run_app("admin", page=ADMIN)
    assert not at.exception
    pick = at.selectbox(key="add_csm_pick")
    assert list(pick.options) == [f"{name} · {n} account{'' if n == 1 else 's'}"
                                  for name, n in zip(books["csm"], books["accounts"], strict=True)]


@pytest.mark.stores
def test_admin_adds_a_csm_by_picking_the_book(tiny_ws):
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="add_csm_pick").set_value("Jordan Patel")
    at = fill_add_user(at, username="jordan2", csm="")
    assert not at.error and not at.warning
    assert user_store.get_user(tiny_ws.settings.auth_file, "jordan2").csm == "Jordan Patel"


def test_a_typed_name_that_matches_no_account_is_warned_about(tiny_ws):
    at = fill_add_user(run_app("admin", page=ADMIN), username="maya", csm="jordan  patel")
    assert not at.error
    assert user_store.get_user(tiny_ws.settings.auth_file, "maya").csm == "jordan  patel"
    (warning,) = at.warning
    assert "No account has the CSM name 'jordan  patel'" in warning.value
    assert "Did you mean 'Jordan Patel'?" in warning.value


def test_the_book_is_cleared_when_the_role_changes_away_from_csm(tiny_ws):
    auth_file = tiny_ws.settings.auth_file
    assert user_store.get_user(auth_file, "csm2").csm == "Jordan Patel"
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="role_user").select("csm2")
    at.selectbox(key="role_new").select("manager")
    button(at, "Change role").click()
    at.run()
    assert not at.exception and not at.error
    assert user_store.get_user(auth_file, "csm2").csm is None
    # made a CSM again, the user needs a book: the old one does not come back unnoticed
    user_store.set_role(auth_file, "csm2", "csm", "Avery Chen")
    assert user_store.get_user(auth_file, "csm2").csm == "Avery Chen"
    user_store.set_role(auth_file, "csm2", "admin")
    assert user_store.get_user(auth_file, "csm2").csm is None
