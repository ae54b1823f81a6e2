"""Operational-store throughput on SQLite and PostgreSQL (``python -m bench.opstore``, part of ``make bench``).

Per store: a workspace of N scored accounts and a playbook of a webhook (to a local HTTP
server) and a task. Measured: runs started per second by one bulk start of N/2 accounts
and by four threads starting the other N/2 one by one (manual starts), then webhook steps
delivered per second by two concurrent dispatchers. PostgreSQL is a throwaway server
started in a temp dir (skipped, and said so, without a PostgreSQL installation).
Results print as a table and go to ``bench/results/opstore-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from playbooks import create_playbook, dispatch_due, trigger_bulk, trigger_manual
from tests.support.postgres import new_database, run_server
from tests.support.servers import RecordingServer
from tests.support.workspaces import build_workspace

ROOT = Path(__file__).resolve().parent.parent


def measure(url: str | None, accounts: int, folder: Path) -> dict:
    server = RecordingServer()
    try:
        # the receiver is on loopback, which webhooks may reach only when an admin lists it
        ws = build_workspace(folder / "ws", n=accounts, csai_webhook_allow_hosts=server.url.split("//")[1].split("/")[0],
                             **({"csai_database_url": url} if url else {}))
        pb = create_playbook(ws.engine, "manager", allow_hosts=ws.settings.webhook_allow_hosts, name="Bench", steps=[
            {"type": "webhook", "url": server.url, "body": {"a": "{{ account.id }}"}},
            {"type": "task", "title": "Call {{ account.name }}", "due_days": 2}])
        ids = [f"A{i:04d}" for i in range(1, accounts + 1)]
        half = accounts // 2
        t = time.perf_counter()
        created = len(trigger_bulk(ws.engine, ws.warehouse, pb.id, ids[:half], actor="bench").created)
        bulk_s = time.perf_counter() - t

        rest = ids[half:]
        def start(part: list[str]) -> None:
            for account in part:
                trigger_manual(ws.engine, ws.warehouse, pb.id, account, actor="bench")
        threads = [threading.Thread(target=start, args=(rest[i::4],)) for i in range(4)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        manual_s = time.perf_counter() - t

        delivered = []
        def dispatch() -> None:
            while (n := dispatch_due(ws.engine, ws.settings, limit=100).delivered):
                delivered.append(n)
        threads = [threading.Thread(target=dispatch) for _ in range(2)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        dispatch_s = time.perf_counter() - t
        assert len(server.requests) == accounts == sum(delivered), "every webhook step exactly once"
        return {"store": ws.engine.dialect.name, "accounts": accounts, "bulk_runs": created,
                "bulk_runs_per_s": round(created / bulk_s, 1), "manual_runs": len(rest),
                "manual_runs_per_s": round(len(rest) / manual_s, 1),
                "steps_dispatched": sum(delivered), "steps_dispatched_per_s": round(sum(delivered) / dispatch_s, 1)}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.opstore")
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="csai-bench-ops-") as tmp:
        results.append(measure(None, args.accounts, Path(tmp) / "sqlite"))
        try:
            server = run_server()
            url = next(server)
        except BaseException as exc:  # noqa: BLE001 - pytest.skip/fail outside pytest: no PostgreSQL here
            print(f"PostgreSQL not measured: {exc}")
        else:
            try:
                results.append(measure(new_database(url), args.accounts, Path(tmp) / "pg"))
            finally:
                server.close()
    print(f"{'store':<12}{'bulk runs/s':>14}{'manual runs/s':>16}{'steps sent/s':>15}")
    for r in results:
        print(f"{r['store']:<12}{r['bulk_runs_per_s']:>14}{r['manual_runs_per_s']:>16}{r['steps_dispatched_per_s']:>15}")
    out = ROOT / "bench" / "results" / "opstore-latest.json"
    out.write_text(json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
