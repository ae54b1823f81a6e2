"""The CLI as cron and admins use it: users, demo determinism guard, export errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from data import users as user_store
from tests.support.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_users_add_list_set_password_remove(tmp_path):
    ws = tmp_path / "ws"
    r = cli("--workspace", ws, "users", "add", "pat", "--role", "csm", "--csm", "Avery Chen", "--email", "pat@example.com",
            "--password-stdin", stdin="pat-secret-1\n")
    assert r.returncode == 0, r.stderr
    assert "pat-secret-1" not in r.stdout + r.stderr
    listing = cli("--workspace", ws, "users", "list").stdout
    assert "pat" in listing and "Avery Chen" in listing and "csm" in listing
    auth = ws / "auth.yaml"
    rec = user_store.load_auth(auth)["credentials"]["usernames"]["pat"]
    assert user_store.check_password("pat-secret-1", rec["password"])
    assert cli("--workspace", ws, "users", "set-password", "pat", "--password-stdin", stdin="pat-secret-2\n").returncode == 0
    rec = user_store.load_auth(auth)["credentials"]["usernames"]["pat"]
    assert user_store.check_password("pat-secret-2", rec["password"])
    assert cli("--workspace", ws, "users", "remove", "pat").returncode == 0
    assert user_store.get_user(auth, "pat") is None


def test_users_bad_input_exits_2_and_writes_nothing(tmp_path):
    ws = tmp_path / "ws"
    r = cli("--workspace", ws, "users", "add", "pat", "--role", "csm", "--password-stdin", stdin="long-enough\n")
    assert r.returncode == 2 and "needs --csm" in r.stderr
    r = cli("--workspace", ws, "users", "add", "pat", "--role", "admin", "--password-stdin", stdin="short\n")
    assert r.returncode == 2 and "at least 8" in r.stderr
    assert user_store.list_users(ws / "auth.yaml") == []


def test_password_is_never_an_argument(tmp_path):
    r = cli("--workspace", tmp_path / "ws", "users", "add", "pat", "--role", "admin", "--password", "x")
    assert r.returncode != 0


def test_export_unknown_table_lists_known_ones(tmp_path):
    r = cli("--workspace", tmp_path / "ws", "export", "nope", str(tmp_path / "x.csv"))
    assert r.returncode == 2
    assert "Known tables:" in r.stderr and "accounts" in r.stderr


def test_demo_refuses_to_overwrite_without_force(sample_workspace_path):
    r = cli("--workspace", sample_workspace_path, "demo", "--accounts", "50")
    assert r.returncode == 2 and "--force" in r.stderr
    r = cli("--workspace", sample_workspace_path, "demo", "--accounts", "50", "--if-empty")
    assert r.returncode == 0 and "leaving it" in r.stdout


def test_bad_setting_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(tmp_path / "ws"), "users", "list"],
                       capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin",
                                                                     "CSAI_DATABASE_URL": "::bad::"})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "CSAI_DATABASE_URL" in r.stderr
