"""``make bench``'s store benchmark runs end to end (it broke once when webhooks stopped reaching loopback)."""

from __future__ import annotations

from pathlib import Path

from bench.opstore import measure


def test_the_store_benchmark_delivers_every_webhook_once(tmp_path: Path):
    result = measure(None, 6, tmp_path)
    assert result["store"] == "sqlite"
    assert result["bulk_runs"] == 3 and result["manual_runs"] == 3
    assert result["steps_dispatched"] == 6  # one webhook per account, each exactly once
