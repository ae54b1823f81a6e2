"""The users file: a random cookie key, the user lifecycle, and bad input rejected with nothing written."""

from __future__ import annotations

import os

import pytest

from data import users as user_store
from data.errors import UserError


def test_auth_file_gets_a_random_cookie_key(tmp_path):
    a = user_store.load_auth(tmp_path / "a.yaml")
    b = user_store.load_auth(tmp_path / "b.yaml")
    assert len(bytes.fromhex(a["cookie"]["key"])) == 32
    assert a["cookie"]["key"] != b["cookie"]["key"]
    assert oct(os.stat(tmp_path / "a.yaml").st_mode & 0o777) == "0o600"


def test_user_lifecycle(tmp_path):
    f = tmp_path / "auth.yaml"
    user_store.add_user(f, "pat", role="csm", password="s3cret-pass", csm="Avery Chen")
    u = user_store.get_user(f, "pat")
    assert u.roles == ("csm",) and u.csm == "Avery Chen"
    rec = user_store.load_auth(f)["credentials"]["usernames"]["pat"]
    assert rec["password"].startswith("$2") and "s3cret" not in rec["password"]
    assert user_store.check_password("s3cret-pass", rec["password"])
    user_store.set_password(f, "pat", "another-pass")
    rec = user_store.load_auth(f)["credentials"]["usernames"]["pat"]
    assert user_store.check_password("another-pass", rec["password"])
    user_store.set_disabled(f, "pat", True)
    assert "pat" not in user_store.active_credentials(f)["usernames"]
    user_store.remove_user(f, "pat")
    assert user_store.get_user(f, "pat") is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(username="Bad Name", role="admin", password="longenough"), "not allowed"),
    (dict(username="ok", role="boss", password="longenough"), "Unknown role"),
    (dict(username="ok", role="csm", password="longenough"), "needs --csm"),
    (dict(username="ok", role="admin", password="short"), "at least 8"),
    (dict(username="ok", role="admin", password="longenough", email="nope"), "not an email"),
])
def test_bad_user_input_is_rejected_and_nothing_written(tmp_path, kwargs, message):
    f = tmp_path / "auth.yaml"
    before = user_store.load_auth(f)
    raw = f.read_bytes() if f.exists() else None
    kwargs = dict(kwargs)  # the parameter set is shared by reruns (random order, mutation runs): never change it
    username = kwargs.pop("username")
    with pytest.raises(UserError, match=message):
        user_store.add_user(f, username, **kwargs)
    assert user_store.load_auth(f) == before and (f.read_bytes() if f.exists() else None) == raw


def test_duplicate_user_is_rejected(tmp_path):
    f = tmp_path / "auth.yaml"
    user_store.add_user(f, "pat", role="admin", password="longenough")
    with pytest.raises(UserError, match="already exists"):
        user_store.add_user(f, "pat", role="manager", password="longenough")
    assert user_store.get_user(f, "pat").roles == ("admin",)
