"""Concurrency: pages keep serving while ``cli.py import``, ``train`` and ``score`` run in another process.

Runs inside the "app" process: AppTest sessions poll Portfolio, Accounts and Account in a
loop (like users clicking around) while the CLI jobs run one after another as separate
processes on the same workspace. Every render is checked for exceptions, error boxes
(lock errors in particular) and blank pages; after ``score`` the Portfolio caption must
show the new scoring time without a restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.apptest import ROOT, caption_text, new_session, problems
from components import formatting as fmt


def run(workspace: str, parquet_dir: str, account_id: str, *, env: dict) -> dict:
    stop = threading.Event()
    renders: list[dict] = []
    lock = threading.Lock()

    def poll() -> None:
        sessions = {"portfolio": new_session("portfolio"), "accounts": new_session("accounts"),
                    "account": new_session("account", {"id": account_id})}
        while not stop.is_set():
            for page, at in sessions.items():
                t = time.perf_counter()
                try:
                    at.run()
                    bad = problems(at)
                    cap = caption_text(at) if page == "portfolio" else ""
                except Exception as exc:  # noqa: BLE001
                    bad, cap = [f"{type(exc).__name__}: {exc}"[:300]], ""
                with lock:
                    renders.append({"page": page, "t": time.time(), "s": time.perf_counter() - t,
                                    "problems": bad, "caption": cap})

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    jobs = [
        ("import", ["import", "events", str(Path(parquet_dir) / "events.parquet"), "--mode", "replace"]),
        ("train", ["train", "--algorithm", "gbm", "--promote"]),
        ("score", ["score", "--json"]),
    ]
    job_results = []
    score_at = None
    time.sleep(2)
    for name, args in jobs:
        t = time.perf_counter()
        p = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", workspace, *args], cwd=ROOT,
                           env=env, capture_output=True, text=True)
        job_results.append({"job": name, "rc": p.returncode, "seconds": round(time.perf_counter() - t, 2),
                            "stderr_tail": p.stderr[-400:] if p.returncode else ""})
        if name == "score" and p.returncode == 0:
            score_at = json.loads(p.stdout.strip().splitlines()[-1])["scored_at"]
    done_at = time.time()
    deadline = time.time() + 120
    seen_new = False
    want = fmt.moment(score_at) if score_at else None  # as the pages write it ("7 Dec 2026 16:03 UTC")
    while want and time.time() < deadline and not seen_new:
        time.sleep(1)
        with lock:
            seen_new = any(r["page"] == "portfolio" and r["t"] > done_at and want in r["caption"] for r in renders)
    stop.set()
    poller.join(timeout=300)
    bad = [f"{r['page']}: {p}" for r in renders for p in r["problems"]]
    return {
        "jobs": job_results, "renders": len(renders),
        "renders_during_jobs": sum(1 for r in renders if r["t"] <= done_at),
        "problems": bad[:20], "problem_count": len(bad),
        "lock_errors": sum(1 for b in bad if "lock" in b.lower()),
        "blank_pages": sum(1 for b in bad if "blank page" in b),
        "new_scores_shown_without_restart": seen_new,
        "max_render_s": round(max((r["s"] for r in renders), default=0.0), 3),
        "ok": bool(renders) and not bad and seen_new and all(j["rc"] == 0 for j in job_results),
    }
