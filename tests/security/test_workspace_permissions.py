"""Attack: another account on the server reads the workspace (customer data, password hashes, models).

A workspace built by the CLI must be owner-only (folders 0700, files 0600) even when the
shell's umask is the usual 022, and opening an older, world-readable workspace tightens it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(workspace: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``cli.py`` in a fresh process started with the common umask 022 (not this test process's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
    return subprocess.run([sys.executable, "cli.py", "--workspace", str(workspace), *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=600, preexec_fn=lambda: os.umask(0o022))


def _open_to_others(root: Path) -> list[str]:
    """Every path under ``root`` (itself included) that group or others may read, write or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
            found.append(f"{oct(stat.S_IMODE(info.st_mode))} {path.relative_to(root)}")
    return found


def test_a_demo_workspace_built_by_the_cli_is_owner_only(tmp_path):
    ws = tmp_path / "ws"
    r = _cli(ws, "demo", "--accounts", "150", "--end", "2026-06-30")
    assert r.returncode == 0, r.stderr
    stores = [ws / "operational.sqlite", ws / "auth.yaml", ws / "warehouse" / "CURRENT.json"]
    stores += list((ws / "warehouse").glob("*.duckdb")) + list((ws / "models").glob("*.joblib"))
    assert all(p.exists() for p in stores) and len(stores) >= 6
    assert _open_to_others(ws) == []
    for folder in (ws, ws / "warehouse", ws / "models"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for store in stores:
        assert stat.S_IMODE(store.stat().st_mode) == 0o600

    # later writes keep it so: a new warehouse snapshot and pointer, new users, audit rows
    r = _cli(ws, "users", "add", "newcsm", "--role", "csm", "--csm", "Nina Novak", "--password-stdin",
             stdin="a-long-password-1\n")
    assert r.returncode == 0, r.stderr
    r = _cli(ws, "export", "accounts", str(ws / "exports" / "accounts.csv"))
    assert r.returncode == 0, r.stderr
    assert _open_to_others(ws) == []


def test_opening_an_old_world_readable_workspace_tightens_it(tmp_path):
    ws = tmp_path / "old"
    stores = ["warehouse/raw-0123456789ab.duckdb", "warehouse/CURRENT.json", "models/churn.joblib",
              "operational.sqlite", "operational.sqlite-wal"]
    (ws / "warehouse").mkdir(parents=True)
    (ws / "models").mkdir()
    for name in [*stores, "notes.txt"]:
        (ws / name).write_text("{}")
        os.chmod(ws / name, 0o644)
    for path in (ws, ws / "warehouse", ws / "models"):
        os.chmod(path, 0o755)
    r = _cli(ws, "users", "list")
    assert r.returncode == 0, r.stderr
    assert _open_to_others(ws) == ["0o644 notes.txt"]  # somebody's own file in the folder is left alone
    assert stat.S_IMODE(ws.stat().st_mode) == 0o700
    for name in stores:
        assert stat.S_IMODE((ws / name).stat().st_mode) == 0o600, name
