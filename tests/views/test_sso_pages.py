"""AppTest: single sign-on in the app — roles from claims, the no-access page, the Admin SSO tab, no secrets."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from data import sso as sso_store
from tests.support.apptest import APP, texts

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "cookie-secret-never-shown",
        "client_id": "csai-client", "client_secret": "client-secret-never-shown",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}


def sso_app(monkeypatch, claims: dict | None, page: str | None = None) -> AppTest:
    monkeypatch.setenv("CSAI_SSO_GROUP_ROLES", "cs-managers=manager, cs-admins=admin, cs-team=csm")
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, **claims} if claims else {"is_logged_in": False}
    if page:
        at.switch_page(page)
    at.run()
    return at


def test_logged_out_visitors_get_the_sso_button_and_no_page(tiny_ws, monkeypatch):
    at = sso_app(monkeypatch, None)
    assert any(b.label == "Sign in with your company account" for b in at.button)
    sso_store.set_password_login(tiny_ws.settings.auth_file, False)
    at = sso_app(monkeypatch, None)
    assert not at.text_input, "the password form is gone once an admin turns it off"


@pytest.mark.stores
def test_a_mapped_manager_sees_the_portfolio(tiny_ws, monkeypatch):
    at = sso_app(monkeypatch, {"iss": "https://idp.example", "sub": "u1", "email": "mm@corp.example",
                               "email_verified": True, "name": "Mo Manager", "groups": ["cs-managers"]},
                 page="views/portfolio.py")
    assert "Mo Manager" in texts(at) and "Manager" in texts(at)
    assert "No access yet" not in texts(at)


def test_an_unmapped_person_sees_only_the_refusal(tiny_ws, monkeypatch):
    at = sso_app(monkeypatch, {"iss": "https://idp.example", "sub": "u2", "email": "z@other.example",
                               "email_verified": True, "groups": ["marketing"]}, page="views/accounts.py")
    assert "No access yet" in texts(at)
    assert not at.dataframe and "Accounts" not in [t.value for t in at.title]


@pytest.mark.stores
def test_admin_sso_tab_shows_settings_and_people_but_never_secrets(tiny_ws, monkeypatch):
    claims = {"iss": "https://idp.example", "sub": "a1", "email": "root@corp.example", "email_verified": True,
              "name": "Ro Admin", "groups": ["cs-admins"]}
    at = sso_app(monkeypatch, claims, page="views/admin.py")
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe) + texts(at)
    assert "csai-client" in shown and "idp.example" in shown and "cs-admins → admin" in shown
    assert "root@corp.example" in shown  # seen through SSO, with the role it mapped to
    assert "never-shown" not in shown
