"""Uploaded files: saved once per content in the workspace, owner-only, pruned after a day."""

from __future__ import annotations

import os
import stat
import time

from data.uploads import KEEP_SECONDS, prune_uploads, safe_name, save_upload


def test_saved_once_per_content_owner_only(tmp_path):
    folder = tmp_path / "uploads"
    digest, path = save_upload(folder, "../../etc/accounts list.csv", b"account_id\nA1\n")
    again, same = save_upload(folder, "../../etc/accounts list.csv", b"account_id\nA1\n")
    assert (again, same) == (digest, path)
    assert path.parent.parent == folder and path.name == "accounts_list.csv"
    assert path.read_bytes() == b"account_id\nA1\n"
    other, other_path = save_upload(folder, "accounts list.csv", b"account_id\nA2\n")
    assert other != digest and other_path.read_bytes() == b"account_id\nA2\n"
    for p in (folder, path.parent):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700
    assert not list(folder.rglob("*.part"))


def test_old_uploads_are_pruned_and_used_ones_kept(tmp_path):
    folder = tmp_path / "uploads"
    _, old = save_upload(folder, "old.csv", b"old")
    _, used = save_upload(folder, "used.csv", b"used")
    day_ago = time.time() - KEEP_SECONDS - 60
    os.utime(old.parent, (day_ago, day_ago))
    os.utime(used.parent, (day_ago, day_ago))
    save_upload(folder, "used.csv", b"used")  # saved again: written anew and kept for another day
    assert not old.parent.exists()
    assert used.exists()
    assert prune_uploads(folder) == 0
    assert prune_uploads(tmp_path / "missing") == 0


def test_safe_name_strips_folders_and_odd_characters():
    assert safe_name("..") == "upload"
    assert safe_name("a/b/<script>.csv") == "script_.csv"
    assert len(safe_name("x" * 500 + ".csv")) == 120
