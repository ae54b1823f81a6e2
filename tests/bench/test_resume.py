"""A long benchmark run resumes: with a work folder, the stages that finished are kept and reused."""

from __future__ import annotations

import io

from bench import run as bench_run


def test_a_second_run_in_the_same_folder_reuses_finished_stages_and_reruns_failed_ones(tmp_path, monkeypatch):
    calls: list[str] = []
    outcome = {"generate": {"wall_s": 1.0}, "train": {"error": "exit -9", "wall_s": 5.0}}

    def fake_child(stage, log, env, **params):
        calls.append(stage)
        return dict(outcome[stage], params=params)

    monkeypatch.setattr(bench_run, "run_child", fake_child)
    first = bench_run.StageRunner(io.StringIO(), {}, tmp_path)
    assert first("generate", "generate", n=5)["wall_s"] == 1.0
    assert "error" in first("train", "train")
    assert (tmp_path / "stages.json").exists()

    outcome["train"] = {"wall_s": 7.0}
    second = bench_run.StageRunner(io.StringIO(), {}, tmp_path)
    assert second("generate", "generate", n=5) == {"wall_s": 1.0, "params": {"n": 5}}  # kept, not run again
    assert second("train", "train")["wall_s"] == 7.0  # the failed stage runs again
    assert calls == ["generate", "train", "train"]

    no_folder = bench_run.StageRunner(io.StringIO(), {}, None)
    no_folder("generate", "generate", n=5)
    assert calls[-1] == "generate" and not list(tmp_path.glob("*.tmp"))
