"""Smoke test of the benchmark harness: a tiny company end to end, and the JSON it writes."""

from __future__ import annotations

import json

from bench import run


def test_bench_writes_results_with_targets(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run, "SCALING_REPEATS", 2)  # still alternating sides; two fresh processes fewer than 3
    assert run.main(["--sizes", "300", "--quick", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "latest.json").read_text())
    assert doc["sizes"] == [300]
    assert doc["settings"]["app_duckdb_memory_limit"] == run.APP_DUCKDB_MEMORY_LIMIT  # the pages ran with it
    result = doc["results"][0]
    for stage in ("generate", "import", "features", "train", "score", "explain", "run_due", "pages"):
        assert "error" not in result[stage], stage
        assert {"wall_s", "cpu_s", "peak_mb"} <= set(result[stage])
    assert result["features"]["pandas"]["identical"]
    scaling = result["features"]["scaling"]  # each side in fresh processes, alternating
    assert 0 < scaling["subset"]["events"] < scaling["full"]["events"]
    assert len(scaling["subset"]["runs_s"]) == len(scaling["full"]["runs_s"]) == run.SCALING_REPEATS
    assert scaling["time_ratio"] > 0
    assert set(result["pages"]["pages"]) == {"portfolio", "accounts", "account"}
    names = [t["name"] for t in doc["targets"]]
    assert any(n.startswith("feature build speedup") for n in names)
    assert any(n.startswith("metric time ratio") for n in names)
    assert any(n.startswith("peak pipeline memory") for n in names)
    for t in doc["targets"]:
        assert set(t) >= {"name", "value", "limit", "ok"} and isinstance(t["ok"], bool)
    assert "Targets" in capsys.readouterr().out
