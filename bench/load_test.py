"""Load test: concurrent AppTest sessions through the Accounts and Account pages.

Each session is its own AppTest (own session state, shared process caches, like browser
tabs on one server); sessions run in threads and all start together.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from bench.apptest import new_session, problems


def run(account_ids: list[str], *, sessions: int = 20, username: str = "manager") -> dict:
    """Every session renders Accounts, then Account for one id; latency per render and errors."""
    latencies: dict[str, list[float]] = {"accounts": [], "account": []}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions)

    def session(i: int) -> None:
        try:
            start.wait(timeout=120)
            for page, params in (("accounts", None), ("account", {"id": account_ids[i % len(account_ids)]})):
                at = new_session(page, params, username=username)
                t = time.perf_counter()
                at.run()
                dt = time.perf_counter() - t
                bad = problems(at)
                with lock:
                    latencies[page].append(dt)
                    errors.extend(f"session {i} {page}: {b}" for b in bad)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            with lock:
                errors.append(f"session {i}: {type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out = {"sessions": sessions, "wall_s": round(wall, 3), "errors": errors[:20], "error_count": len(errors)}
    for page, vals in latencies.items():
        if vals:
            out[page] = {"n": len(vals), "p50_s": round(float(np.percentile(vals, 50)), 3),
                         "p95_s": round(float(np.percentile(vals, 95)), 3), "max_s": round(max(vals), 3)}
    all_vals = latencies["accounts"] + latencies["account"]
    if all_vals:
        out["p50_s"] = round(float(np.percentile(all_vals, 50)), 3)
        out["p95_s"] = round(float(np.percentile(all_vals, 95)), 3)
    return out
