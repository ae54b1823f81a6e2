"""AppTest: the Admin page: only admins open it; users, roles and passwords; the audit log; settings shown read-only."""

from __future__ import annotations

import pytest

from data import users as user_store
from data.opstore import read_audit
from tests.support.admin_pages import ADMIN, ROLE_LABELS, audit_actions, refused, table_with
from tests.support.apptest import button, run_app, texts


@pytest.mark.parametrize("username", list(ROLE_LABELS))
def test_only_admins_open_the_admin_page(tiny_ws, username):
    at = run_app(username, page=ADMIN)
    assert not at.exception
    if username == "admin":
        assert "cannot open" not in texts(at) and at.title
    else:
        assert refused(at, username, "Admin")


def fill_add_user(at, username="newcsm", password="good-password", repeat=None, role="csm", csm="Avery Chen"):
    at.text_input(key="add_username").input(username)
    at.text_input(key="add_name").input("New Person")
    at.selectbox(key="add_role").select(role)
    at.text_input(key="add_csm").input(csm)
    at.text_input(key="add_password").input(password)
    at.text_input(key="add_password2").input(password if repeat is None else repeat)
    button(at, "Add user").click()
    at.run()
    assert not at.exception
    return at


@pytest.mark.stores
def test_admin_adds_and_disables_a_user(tiny_ws):
    at = fill_add_user(run_app("admin", page=ADMIN))
    assert "Added newcsm" in texts(at)
    created = user_store.get_user(tiny_ws.settings.auth_file, "newcsm")
    assert created is not None and created.roles == ("csm",) and created.csm == "Avery Chen"
    row = read_audit(tiny_ws.engine)[0]
    assert (row["actor"], row["action"], row["target"]) == ("admin", "user.add", "newcsm")
    assert "good-password" not in str(row)
    assert "newcsm" in set(table_with(at, "username")["username"])

    at.selectbox(key="access_user").select("newcsm")
    button(at, "Disable").click()
    at.run()
    assert user_store.get_user(tiny_ws.settings.auth_file, "newcsm").disabled
    assert audit_actions(tiny_ws)[0] == "user.disable"


@pytest.mark.parametrize("kwargs, message", [
    ({"password": "short"}, "at least 8 characters"),
    ({"repeat": "other-password"}, "passwords differ"),
    ({"csm": ""}, "needs a CSM name"),
    ({"username": "Bad Name!"}, "is not allowed"),
])
def test_bad_user_input_writes_nothing(tiny_ws, kwargs, message):
    auth_before = tiny_ws.settings.auth_file.read_text()
    at = fill_add_user(run_app("admin", page=ADMIN), **kwargs)
    assert message in at.error[0].value
    assert tiny_ws.settings.auth_file.read_text() == auth_before
    assert audit_actions(tiny_ws) == []


@pytest.mark.stores
def test_admin_resets_a_password_and_changes_a_role(tiny_ws):
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="pw_user").select("csm2")
    at.text_input(key="pw_new").input("brand-new-pass")
    at.text_input(key="pw_new2").input("brand-new-pass")
    button(at, "Reset password").click()
    at.run()
    rec = user_store.load_auth(tiny_ws.settings.auth_file)["credentials"]["usernames"]["csm2"]
    assert user_store.check_password("brand-new-pass", rec["password"])
    at.selectbox(key="role_user").select("csm2")
    at.selectbox(key="role_new").select("manager")
    button(at, "Change role").click()
    at.run()
    assert user_store.get_user(tiny_ws.settings.auth_file, "csm2").roles == ("manager",)
    assert audit_actions(tiny_ws)[:2] == ["user.set_role", "user.set_password"]


def test_admin_cannot_lock_themselves_out(tiny_ws):
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="access_user").select("admin")
    button(at, "Disable").click()
    at.run()
    assert "cannot disable your own account" in at.error[0].value
    assert not user_store.get_user(tiny_ws.settings.auth_file, "admin").disabled


@pytest.mark.stores
def test_audit_log_filters_and_export(tiny_ws):
    fill_add_user(run_app("admin", page=ADMIN))
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="audit_action").select("user.add")
    at.run()
    log = table_with(at, "action")
    assert list(log["action"]) == ["user.add"] and list(log["actor"]) == ["admin"]
    assert any(d.label == "Export CSV" for d in at.get("download_button"))


@pytest.mark.stores
def test_settings_are_shown_read_only(tiny_ws):
    at = run_app("admin", page=ADMIN)
    shown = table_with(at, "setting").set_index("setting")["value"]
    assert shown["Workspace folder"] == str(tiny_ws.path)
    assert shown["Email (SMTP) server"].startswith("not set")
    assert "secrets.toml" in texts(at)


def test_role_change_to_csm_needs_a_book(tiny_ws):
    auth_before = tiny_ws.settings.auth_file.read_text()
    at = run_app("admin", page=ADMIN)
    at.selectbox(key="role_user").select("manager")
    at.selectbox(key="role_new").select("csm")
    button(at, "Change role").click()
    at.run()
    assert "needs a CSM name" in at.error[0].value
    assert tiny_ws.settings.auth_file.read_text() == auth_before
    assert audit_actions(tiny_ws) == []
