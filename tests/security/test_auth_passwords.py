"""Smaller sign-in points: padded passwords, username probing by timing, and who a CSM can assign tasks to."""

from __future__ import annotations

import bcrypt
import pytest
from streamlit.testing.v1 import AppTest

import playbooks as pb
from data import users as user_store
from tests.support.apptest import page_text, run_app, sign_in, signed_in
from tests.support.cli import cli


@pytest.mark.parametrize("password", [" leading-space", "trailing-space ", "tab-at-end\t"])
def test_cli_refuses_a_padded_password_and_writes_nothing(tiny_ws, password):
    auth = tiny_ws.settings.auth_file
    r = cli("users", "add", "pat", "--role", "manager", "--password-stdin", stdin=password + "\n", ws=tiny_ws.path)
    assert r.returncode == 2
    assert "cannot start or end with a space" in r.stderr
    assert user_store.get_user(auth, "pat") is None
    before = user_store.load_auth(auth)["credentials"]["usernames"]["csm1"]["password"]
    r = cli("users", "set-password", "csm1", "--password-stdin", stdin=password + "\n", ws=tiny_ws.path)
    assert r.returncode == 2 and "cannot start or end with a space" in r.stderr
    assert user_store.load_auth(auth)["credentials"]["usernames"]["csm1"]["password"] == before
    assert signed_in(sign_in(run_app(None), "csm1", "csm1-password"))


def test_admin_page_refuses_a_padded_password_and_writes_nothing(tiny_ws):
    auth = tiny_ws.settings.auth_file
    at = run_app("admin", "views/admin.py")
    at.text_input(key="add_username").input("pat")
    at.selectbox(key="add_role").set_value("manager")
    at.text_input(key="add_password").input("padded-password ")
    at.text_input(key="add_password2").input("padded-password ")
    next(b for b in at.button if b.label == "Add user").click()
    at.run()
    assert not at.exception
    assert "cannot start or end with a space" in page_text(at)
    assert user_store.get_user(auth, "pat") is None

    before = user_store.load_auth(auth)["credentials"]["usernames"]["csm2"]["password"]
    at.selectbox(key="pw_user").set_value("csm2")
    at.text_input(key="pw_new").input(" padded-password")
    at.text_input(key="pw_new2").input(" padded-password")
    next(b for b in at.button if b.label == "Reset password").click()
    at.run()
    assert not at.exception
    assert "cannot start or end with a space" in page_text(at)
    assert user_store.load_auth(auth)["credentials"]["usernames"]["csm2"]["password"] == before


def test_unknown_username_costs_the_same_bcrypt_check_as_a_wrong_password(tiny_ws, monkeypatch):
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password, hashed):
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    at = sign_in(run_app(None), "no-such-user", "some-password")
    assert not at.exception and not signed_in(at)
    unknown_message = page_text(at)
    assert len(calls) == 1
    cost = calls[0].split(b"$")[2]
    real_hash = user_store.load_auth(tiny_ws.settings.auth_file)["credentials"]["usernames"]["csm1"]["password"]
    assert cost == real_hash.encode().split(b"$")[2]  # the same work factor as a real user's hash

    at = sign_in(run_app(None), "csm1", "wrong-password")
    assert len(calls) == 2
    assert "Username or password is incorrect." in unknown_message
    assert "Username or password is incorrect." in page_text(at)


def _trigger_form_script():
    import streamlit as st

    from components import playbook_forms
    from components.session import settings
    from data.users import get_user

    playbook_forms.trigger_form(get_user(settings().auth_file, st.session_state["as_user"]), "A1")


def _assignees(username: str) -> str:
    """The assignee options of the Start-a-playbook form on account A1 (Avery Chen's), as ``username`` sees them."""
    at = AppTest.from_function(_trigger_form_script, default_timeout=30)
    at.session_state["as_user"] = username
    at.run()
    assert not at.exception
    box = at.selectbox(key="pbform_assignee:acct:A1")
    return " | ".join(box.options)  # the labels a person reads


def test_csm_assignee_list_shows_only_themselves_and_their_managers(tiny_ws):
    auth = tiny_ws.settings.auth_file
    user_store.add_user(auth, "csm3", role="csm", password="csm3-password", csm="Sam Rivera")
    user_store.add_user(auth, "gone", role="manager", password="gone-password")
    user_store.set_disabled(auth, "gone", True)
    pb.ensure_starter_playbooks(tiny_ws.engine)

    shown = _assignees("csm1")
    assert "Avery Chen (the account's CSM)" in shown
    for name in ("admin", "manager"):
        assert f"({name})" in shown
    for name in ("csm2", "csm3", "datasci", "gone"):
        assert f"({name})" not in shown

    shown = _assignees("manager")
    for name in ("admin", "csm2", "csm3", "datasci"):
        assert f"({name})" in shown
    assert "(gone)" not in shown
