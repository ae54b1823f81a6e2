"""``cli.py playbooks run-due --json``: one JSON object; a second run creates nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.workspaces import build_workspace

ROOT = Path(__file__).resolve().parents[2]


def _run_due(path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_") or k == "CSAI_DATABASE_URL"}
    out = subprocess.run([sys.executable, "cli.py", "--workspace", str(path), "playbooks", "run-due", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_run_due_json_twice(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=12)  # high risk, Usage top driver: the usage-drop starter matches
    first = _run_due(ws.path)
    assert {"runs_created", "holdout", "steps_delivered", "steps_failed"} <= set(first)
    assert first["per_playbook"]["Usage drop: re-engage"]["eligible"] == 12
    assert first["runs_created"] >= 12 and first["steps_delivered"] > 0
    second = _run_due(ws.path)
    assert second["runs_created"] == 0 and second["holdout"] == 0
