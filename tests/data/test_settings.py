"""Settings: defaults in the workspace, environment overrides, messages that say what to fix, concurrent loads."""

from __future__ import annotations

import threading

import pytest

from data.settings import SettingsError, load_settings


def test_settings_defaults_live_in_the_workspace(tmp_path):
    s = load_settings(tmp_path / "ws", environ={})
    assert s.workspace == (tmp_path / "ws").resolve()
    assert s.database_url == f"sqlite:///{s.workspace / 'operational.sqlite'}"
    assert s.auth_file.parent == s.workspace


def test_settings_env_overrides(tmp_path):
    s = load_settings(environ={"CSAI_WORKSPACE": str(tmp_path / "w2"), "CSAI_DATABASE_URL": "sqlite:///x.db",
                               "CSAI_SMTP_HOST": "mail", "CSAI_SMTP_PORT": "2525"})
    assert s.workspace.name == "w2" and s.database_url == "sqlite:///x.db"
    assert s.smtp.host == "mail" and s.smtp.port == 2525


@pytest.mark.parametrize("env, fragment", [
    ({"CSAI_DATABASE_URL": "not a url"}, "CSAI_DATABASE_URL"),
    ({"CSAI_SMTP_PORT": "eighty"}, "CSAI_SMTP_PORT"),
    ({"CSAI_SMTP_PORT": "700000"}, "out of range"),
    ({"CSAI_SMTP_TLS": "maybe"}, "CSAI_SMTP_TLS"),
])
def test_bad_settings_say_what_to_fix(tmp_path, env, fragment):
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path / "ws", environ=env)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_workspace_that_is_a_file_is_rejected(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(SettingsError, match="is a file"):
        load_settings(f, environ={})


def test_concurrent_sessions_all_see_a_writable_workspace(tmp_path):
    """Many sessions load settings at once (the app's threads): none is told the folder is not writable."""
    errors: list[str] = []

    def load_many():
        for _ in range(100):
            try:
                load_settings(environ={"CSAI_WORKSPACE": str(tmp_path)})
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(str(exc))

    threads = [threading.Thread(target=load_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not list(tmp_path.glob(".write-test*"))  # probes are cleaned up
