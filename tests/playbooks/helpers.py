"""Small hand-made workspaces for playbook tests, and real local SMTP / HTTP servers."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

from data.settings import load_settings
from data.workspace import Workspace

AS_OF = date(2026, 6, 30)
CSMS = ["Maya Patel", "Jonas Weber"]
# The operational store of the workspaces built here: None is the workspace's own SQLite
# file; the ``opstore_backend`` fixture (tests/playbooks/conftest.py) sets a PostgreSQL URL.
DATABASE_URL: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_ws(path: str | Path, **env: str) -> Workspace:
    """Workspace at ``path`` with only the given CSAI_* environment (no SMTP unless given)."""
    environ = {k.upper(): v for k, v in env.items()}
    if DATABASE_URL:
        environ.setdefault("CSAI_DATABASE_URL", DATABASE_URL)
    return Workspace(load_settings(str(path), environ=environ))


def build_workspace(path: str | Path, n: int = 20, *, scores: bool = True, risk_band: str = "high",
                    driver_group: str = "Usage", **env: str) -> Workspace:
    """A workspace with ``n`` active accounts (A0001...), a champion each, and (optionally) scores."""
    ws = open_ws(path, **env)
    ids = [f"A{i:04d}" for i in range(1, n + 1)]
    accounts = pd.DataFrame({
        "account_id": ids, "name": [f"Company {i}" for i in range(1, n + 1)],
        "segment": ["SMB" if i % 2 else "Enterprise" for i in range(n)], "industry": "Software", "region": "NA",
        "plan": "Growth", "csm": [CSMS[i % 2] for i in range(n)],
        "created_at": pd.Timestamp(AS_OF - timedelta(days=400)),
    })
    subs = pd.DataFrame({
        "account_id": ids, "product": "Platform", "start_date": pd.Timestamp(AS_OF - timedelta(days=400)),
        "end_date": pd.NaT, "mrr": 1000.0, "seats": 10, "billing_period": "annual",
        "renewal_date": [pd.Timestamp(AS_OF + timedelta(days=30 + 10 * (i % 30))) for i in range(n)],
    })
    contacts = pd.DataFrame({
        "contact_id": [f"C{i:05d}" for i in range(n)], "account_id": ids,
        "email": [f"anna.smith{i}@company{i}.example" for i in range(n)], "role": "champion",
        "active_from": pd.Timestamp(AS_OF - timedelta(days=300)), "active_to": pd.NaT,
    })
    with ws.warehouse.writer("raw", fresh=True) as con:
        for name, df in (("accounts", accounts), ("subscriptions", subs), ("contacts", contacts)):
            con.register("df", df)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM df")
            con.unregister("df")
        con.execute("INSERT INTO workspace_meta VALUES ('end_date', ?)", [AS_OF.isoformat()])
    if scores:
        write_scores(ws, ids, risk_band=risk_band, driver_group=driver_group)
    return ws


def write_scores(ws: Workspace, ids: list[str], *, risk_band: str = "high", driver_group: str = "Usage") -> None:
    scored_at = pd.Timestamp(AS_OF)
    df = pd.DataFrame({
        "scored_at": scored_at, "account_id": ids, "model_id": "churn-test-1", "p_churn": 0.4,
        "risk_band": risk_band, "p_expansion": 0.1, "arr": 12000.0, "expected_arr_loss": 4800.0,
    })
    drivers = pd.DataFrame({
        "scored_at": scored_at, "account_id": ids, "target": "churn", "feature": "wau_change",
        "label": "Weekly active users", "group": driver_group, "value": -0.45, "shap": 0.8,
        "sentence": "Weekly active users fell 45% vs the previous 60 days", "rank": 1,
    })
    with ws.warehouse.writer("results") as con:
        for name, frame in (("scores", df), ("score_drivers", drivers)):
            con.register("df", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM df")
            con.unregister("df")


TASK_AND_EMAIL = [
    {"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
    {"type": "email", "to": "champion", "subject": "Hello {{ contact.name }}",
     "body": "Hi {{ contact.name }}, {{ drivers[0].sentence }}."},
]


class Recorder(BaseHTTPRequestHandler):
    """Records JSON POSTs; answers ``fail_first`` requests with ``fail_status`` first."""

    server: RecordingServer

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(json.loads(body or b"null"))
            failing = self.server.fail_first > 0
            if failing:
                self.server.fail_first -= 1
        self.send_response(self.server.fail_status if failing else 200)
        self.end_headers()
        self.wfile.write(b"nope" if failing else b"ok")

    def log_message(self, *args):
        pass


class RecordingServer(ThreadingHTTPServer):
    def __init__(self, fail_first: int = 0, fail_status: int = 500):
        super().__init__(("127.0.0.1", 0), Recorder)
        self.requests: list = []
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def trigger_in_process(ws_path: str, playbook_id: int, account_id: str, start, out) -> None:
    """Child-process body for the two-process idempotency test (spawn start method)."""
    from data.workspace import open_workspace
    from playbooks import trigger_manual

    ws = open_workspace(ws_path)
    start.wait(10)
    run = trigger_manual(ws.engine, ws.warehouse, playbook_id, account_id, actor="proc")
    out.put((run.id, run.created))


def run_due_in_process(ws_path: str, start, out) -> None:
    """Child-process body: one ``run_due`` pass."""
    from data.workspace import open_workspace
    from playbooks import run_due

    ws = open_workspace(ws_path)
    start.wait(10)
    out.put(run_due(ws.engine, ws.warehouse, ws.settings)["runs_created"])
