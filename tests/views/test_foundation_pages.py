"""AppTest: the login gate, Accounts and Account pages for every role, deep links, scoping."""

from __future__ import annotations

import pytest

from data import users as user_store
from tests.support.apptest import run_app, texts

ACCOUNTS = "views/accounts.py"
ACCOUNT = "views/account.py"


def login(at, username: str, password: str):
    """Submit the sign-in form; in a browser the cookie component then reruns the app, here we rerun."""
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    if at.session_state["authentication_status"]:
        assert "Signed in" in at.success[0].value
        at.run()
    return at


@pytest.mark.parametrize("page, params", [(None, None), (ACCOUNTS, None), (ACCOUNT, {"id": "A1"})])
def test_every_page_requires_login(tiny_ws, page, params):
    at = run_app(None, page=page, params=params)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.dataframe and not at.metric
    assert "Acme" not in texts(at)


@pytest.mark.stores
def test_wrong_password_is_refused(tiny_ws):
    at = login(run_app(None), "csm1", "wrong-password")
    assert "incorrect" in texts(at)
    assert not at.dataframe


@pytest.mark.stores
def test_login_form_lands_on_the_roles_first_page(tiny_ws):
    at = login(run_app(None), "manager", "manager-password")
    assert not at.exception
    assert at.title[0].value == "Portfolio"


@pytest.mark.stores
def test_deep_link_survives_login(tiny_ws):
    at = run_app(None, page=ACCOUNT, params={"id": "A2"})
    at = login(at, "manager", "manager-password")
    assert not at.exception
    assert at.title[0].value == "Globex"
    assert at.query_params["id"] in ("A2", ["A2"])


def test_demo_logins_only_in_demo_mode(tiny_ws):
    assert "only in the demo" not in texts(run_app(None))
    user_store.create_demo_users(tiny_ws.settings.auth_file, ["Jordan Patel", "Avery Chen"])
    at = run_app(None)
    assert "only in the demo" in texts(at)
    shown = at.dataframe[0].value
    assert set(shown["Username"]) == {"admin", "manager", "datasci", "csm1", "csm2"}
    assert "admin-demo-pass" in set(shown["Password"])


@pytest.mark.parametrize("username, expected", [
    ("admin", {"Acme Corp", "Globex"}), ("manager", {"Acme Corp", "Globex"}), ("datasci", {"Acme Corp", "Globex"}),
    ("csm1", {"Acme Corp"}), ("csm2", {"Globex"}),
])
def test_accounts_page_per_role(tiny_ws, username, expected):
    at = run_app(username, page=ACCOUNTS)
    assert not at.exception
    assert set(at.dataframe[0].value["name"]) == expected
    assert at.get("download_button")


def test_accounts_filters_from_url(tiny_ws):
    at = run_app("manager", page=ACCOUNTS, params={"segment": "Enterprise"})
    assert set(at.dataframe[0].value["name"]) == {"Globex"}
    at = run_app("manager", page=ACCOUNTS, params={"status": "Churned"})
    assert set(at.dataframe[0].value["name"]) == {"Initech"}
    at = run_app("manager", page=ACCOUNTS, params={"renewal": "Next 30 days"})
    assert set(at.dataframe[0].value["name"]) == {"Acme Corp"}


@pytest.mark.parametrize("needle", ["'; DROP TABLE accounts; --", ".*", "<script>alert(1)</script>", "%", "\\"])
def test_hostile_search_is_harmless(tiny_ws, needle):
    at = run_app("manager", page=ACCOUNTS)
    at.text_input(key="q").input(needle)
    at.run()
    assert not at.exception
    assert "No account matches" in texts(at)
    assert len(run_app("manager", page=ACCOUNTS).dataframe[0].value) == 2  # nothing was harmed


def test_search_finds_by_name(tiny_ws):
    at = run_app("manager", page=ACCOUNTS)
    at.text_input(key="q").input("glob")
    at.run()
    assert list(at.dataframe[0].value["name"]) == ["Globex"]


@pytest.mark.parametrize("username", ["admin", "manager", "datasci", "csm1"])
def test_account_page_per_role(tiny_ws, username):
    at = run_app(username, page=ACCOUNT, params={"id": "A1", "tab": "Usage"})
    assert not at.exception
    assert at.title[0].value == "Acme Corp"
    body = texts(at)
    assert "$3,000" in body and "Avery Chen" in body
    assert "no score yet" in body  # the tiny company is not scored
    assert len(at.get("plotly_chart")) == 2  # usage by type, active users vs seats
    at = run_app(username, page=ACCOUNT, params={"id": "A1", "tab": "Timeline"})
    assert len(at.get("plotly_chart")) == 1


def test_other_csms_account_is_not_in_book(tiny_ws):
    at = run_app("csm2", page=ACCOUNT, params={"id": "A1"})
    assert not at.exception
    assert "not in your book" in texts(at)
    assert "Acme" not in texts(at) and not at.get("plotly_chart") and not at.metric


def test_account_page_without_id_offers_a_picker(tiny_ws):
    at = run_app("csm1", page=ACCOUNT)
    assert not at.exception
    assert at.selectbox[0].label == "Open an account"
    assert set(at.selectbox[0].options) == {"Acme Corp (A1)", "Initech (A3)"}


@pytest.mark.stores
def test_disabled_user_is_logged_out(tiny_ws):
    user_store.set_disabled(tiny_ws.settings.auth_file, "csm1", True)
    at = run_app("csm1", page=ACCOUNTS)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.dataframe


def test_empty_workspace_says_what_to_do(tmp_path, monkeypatch):
    from data.workspace import open_workspace

    ws = open_workspace(str(tmp_path / "empty"))
    user_store.add_user(ws.settings.auth_file, "manager", role="manager", password="manager-password")
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    at = run_app("manager", page=ACCOUNTS)
    assert not at.exception
    assert "no data yet" in texts(at)


def test_bad_setting_stops_with_one_line(tiny_ws, monkeypatch):
    monkeypatch.setenv("CSAI_DATABASE_URL", "::nonsense::")
    monkeypatch.setenv("CSAI_WORKSPACE", str(tiny_ws.path / "other"))
    at = run_app(None)
    assert "CSAI_DATABASE_URL" in at.error[0].value
    assert not at.text_input
