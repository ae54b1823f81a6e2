"""Playbooks on real data: an email finds someone to go to, or becomes a task; rules skip the rest.

Recipients fall back: the wanted role, then the executive, then the champion, then any active
contact with an email; with none, the step is a task for the CSM to add a contact. An account with
neither a contact nor a CSM cannot be acted on: rules skip it and ``run-due --json`` counts it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from data.access import Viewer
from playbooks import create_playbook, list_outbox, my_tasks
from tests.support.workspaces import build_workspace, open_ws

ROOT = Path(__file__).resolve().parents[2]
EMAIL_EXEC = [{"type": "email", "to": "executive", "subject": "About {{ account.name }}",
               "body": "Hello {{ contact.name }}"}]


def _run_due(path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAI_")}
    out = subprocess.run([sys.executable, "cli.py", "--workspace", str(path), "playbooks", "run-due", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout)


def test_recipients_fall_back_then_become_a_task_then_are_skipped(tmp_path):
    ws = build_workspace(tmp_path / "ws", n=8)  # every account: a champion, a CSM, high risk
    with ws.warehouse.writer("raw") as con:
        con.execute("DELETE FROM contacts WHERE account_id IN ('A0001', 'A0002', 'A0003', 'A0004', 'A0005')")
        con.execute("UPDATE accounts SET csm = NULL WHERE account_id IN ('A0001', 'A0002')")
        con.execute("INSERT INTO contacts VALUES ('C9', 'A0005', 'ops@five.example', NULL, DATE '2026-01-01', NULL)")
        con.execute("INSERT INTO contacts VALUES ('C8', 'A0006', 'ceo@six.example', 'executive', "
                    "DATE '2026-01-01', NULL)")
    pb = create_playbook(ws.engine, "test", name="Write to the executive", steps=EMAIL_EXEC,
                         rule={"risk_bands": ["high"]}, holdout_pct=0)
    summary = _run_due(ws.path)
    mine = summary["per_playbook"][pb.name]
    assert mine["eligible"] == 8 and mine["skipped_no_recipient"] == 2 and mine["runs_created"] == 6
    assert summary["skipped_no_recipient"] >= 2 and summary["steps_failed"] == 0

    ws = open_ws(ws.path)
    out = list_outbox(ws.engine)
    mine = out[out["playbook"] == pb.name].set_index("account_id")
    assert not {"A0001", "A0002"} & set(mine.index)  # no contact, no CSM: not enrolled
    assert mine.loc["A0006", "payload"]["to"] == "ceo@six.example"  # the wanted role
    assert mine.loc["A0007", "payload"]["to"] == "anna.smith6@company6.example"  # champion instead
    assert mine.loc["A0007", "payload"]["fallback_from"] == "executive"
    assert mine.loc["A0005", "payload"]["to"] == "ops@five.example"  # any active contact with an email
    for account in ("A0003", "A0004"):  # nobody to write to: a task for the CSM to add a contact
        assert mine.loc[account, "kind"] == "task" and mine.loc[account, "status"] == "delivered"
    csm = mine.loc["A0003", "csm"]
    titles = set(my_tasks(ws.engine, Viewer("someone", ("csm",), csm), warehouse=ws.warehouse)["title"])
    assert "Add a contact with an email address for Company 3" in titles


def test_sample_company_run_due_fails_no_step(sample_workspace_path, tmp_path):
    path = tmp_path / "sample"
    shutil.copytree(sample_workspace_path, path)
    summary = _run_due(path)
    assert summary["runs_created"] > 0
    assert summary["steps_failed"] == 0, summary["messages"][:5]
