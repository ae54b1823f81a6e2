"""AppTest: the Account page without an id lists a small book, and searches a large one (a list of every account
of a book of a million would be megabytes in the browser); a CSM's search never finds another CSM's account."""

from __future__ import annotations

import pytest

from data import readmodel
from data.users import get_user
from tests.support.apptest import run_app, texts
from views import _account

ACCOUNT = "views/account.py"


@pytest.fixture()
def large_book(sample_workspace, monkeypatch):
    """The sample workspace served, with the page treating any book over 5 accounts as large."""
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    monkeypatch.setattr(_account, "PICKER_LIMIT", 5)
    monkeypatch.setattr(_account, "PICKER_MATCHES", 3)
    with sample_workspace.warehouse.reader() as con:
        state = readmodel.account_state(con)
    return sample_workspace, state


def test_a_large_book_asks_for_a_search_before_listing(large_book):
    _, state = large_book
    at = run_app("manager", page=ACCOUNT)
    assert not at.selectbox and [t.label for t in at.text_input] == ["Find an account"]
    assert f"Your book has {len(state):,} accounts: type part of a name or ID" in texts(at)


def test_a_search_lists_the_matches_by_arr_and_opens_one(large_book):
    _, state = large_book
    word = state["name"].iloc[0].split()[0]  # the largest account's first word: shared by a few accounts
    hits = state[state["name"].str.lower().str.contains(word.lower(), regex=False)]
    at = run_app("manager", page=ACCOUNT)
    at.text_input[0].input(word.upper()).run()  # case does not matter
    options = at.selectbox[0].options
    expected = [f"{n} ({a})" for a, n in zip(hits["account_id"].head(3), hits["name"].head(3), strict=True)]
    assert options == expected
    assert f"{len(hits):,} accounts match" in texts(at)
    at.selectbox[0].select(options[0]).run()
    assert at.query_params["id"] == hits["account_id"].iloc[0] and not at.exception


@pytest.mark.parametrize("needle", ["no such company", "'; DROP TABLE accounts; --", "[*](javascript:alert(1))"])
def test_a_search_without_matches_says_so_without_echoing_markup(large_book, needle):
    at = run_app("manager", page=ACCOUNT)
    at.text_input[0].input(needle).run()
    assert not at.selectbox and "No account in your book matches this search." in texts(at)
    assert "javascript" not in texts(at)


def test_a_csms_search_never_finds_another_csms_account(large_book):
    ws, state = large_book
    csm = get_user(ws.settings.auth_file, "csm1").csm
    other = state[state["csm"] != csm].iloc[0]
    at = run_app("csm1", page=ACCOUNT)
    at.text_input[0].input(other["account_id"]).run()
    assert "No account in your book matches this search." in texts(at)
    own = state[state["csm"] == csm].iloc[0]
    at.text_input[0].input(own["account_id"]).run()
    assert at.selectbox[0].options == [f"{own['name']} ({own['account_id']})"]


def test_a_small_book_lists_every_account_by_arr(sample_workspace, monkeypatch):
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    with sample_workspace.warehouse.reader() as con:
        state = readmodel.account_state(con)  # largest ARR first, then by id
    assert len(state) <= _account.PICKER_LIMIT and state["arr"].nunique() > 1
    at = run_app("manager", page=ACCOUNT)
    assert not at.text_input
    assert at.selectbox[0].options == [f"{n} ({a})" for a, n in zip(state["account_id"], state["name"], strict=True)]

