"""A contact without ``active_from`` has an unknown start (first seen at import), not "since 1900"."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from data.metrics import compute_metrics, contacts_first_seen
from data.readmodel import data_end
from data.workspace import open_workspace
from models.observations import check_leakage
from tests.support.workspaces import write_tiny

ROOT = Path(__file__).resolve().parents[2]


def test_missing_active_from_is_unknown_not_always(tmp_path):
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    csv = tmp_path / "contacts.csv"
    csv.write_text("contact_id,account_id,email,role,active_from,active_to\n"
                   "C1,A1,pat@acme.test,champion,2025-01-10,2026-05-20\n"
                   "C2,A2,kim@globex.test,champion,,\n"          # no start date in the export
                   "C3,A2,lee@globex.test,user,,\n"
                   "C4,A3,max@initech.test,champion,2025-11-01,\n")
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws.path), "import", "contacts",
                           str(csv)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    obs = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A2"],
                        "obs_date": [date(2026, 7, 1), date(2026, 7, 1), date(2026, 1, 1), date(2026, 1, 1)]})
    with ws.warehouse.reader() as con:
        seen = contacts_first_seen(con)
        end = data_end(con)
        m = compute_metrics(con, obs).frame.set_index(["account_id", "obs_date"])
        report = check_leakage(con, obs, n_dates=2, n_accounts=10)
    assert seen == end and end <= date(2026, 6, 30)  # the data's end (the import happened later)
    tenure = m["champion_tenure_days"]
    assert tenure.max() < 1000  # was 45,746 days: "active since 1900"
    assert pd.isna(tenure[("A2", date(2026, 7, 1))])  # unknown, not a number of days
    assert tenure[("A3", date(2026, 1, 1))] == 61
    # first seen at the data's end: counted as a current contact then, not in January
    assert m.loc[("A2", date(2026, 7, 1)), "active_contacts"] == 2
    assert m.loc[("A2", date(2026, 1, 1)), "active_contacts"] == 0
    assert report.ok, report.leaking_features
