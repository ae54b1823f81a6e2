"""The benchmark's printed table, on made-up results (no benchmark is run)."""

from __future__ import annotations

from bench.report import STAGE_ROWS, print_table, stage_part


def test_the_table_has_a_row_per_stage_and_a_dash_for_what_did_not_run(capsys):
    done = {"accounts": 2_000, "score": {"parts": {"score": {"wall_s": 1.25, "cpu_s": 2.5, "peak_mb": 300.0}}}}
    failed = {"accounts": 20_000, "score": {"error": "exit 1", "wall_s": 0.1}}
    text = print_table([done, failed])
    assert text == capsys.readouterr().out.rstrip("\n")
    lines = text.splitlines()
    assert "2,000 accts" in lines[0] and "20,000 accts" in lines[0]
    score = next(line for line in lines if line.startswith("score "))
    assert "1.2 /    2.5 /    300" in score and score.rstrip().endswith("-")
    assert all(any(line.startswith(label) for line in lines) for label, _, _ in STAGE_ROWS)
    assert stage_part(done, "score", "score")["wall_s"] == 1.25 and stage_part(failed, "score", "score") is None


def test_the_derived_rows_read_the_stage_timings(capsys):
    result = {"accounts": 2_000,
              "features": {"parts": {"metrics": {"wall_s": 2.0, "cpu_s": 2.0, "peak_mb": 500.0}},
                           "pandas": {"seconds": 40.0, "extrapolated": False, "identical": True}},
              "explain": {"parts": {"explain": {"wall_s": 1.0, "cpu_s": 1.0, "peak_mb": 400.0}},
                          "shap_reference": {"explain_s": 5.0, "auc": 0.8}, "product_auc": 0.81}}
    lines = print_table([result]).splitlines()
    capsys.readouterr()
    speedup = next(line for line in lines if line.startswith("metric speedup vs pandas"))
    assert speedup.rstrip().endswith("20.0x same")
    explain = next(line for line in lines if line.startswith("explain / shap-HGB s"))
    assert explain.rstrip().endswith("1.0 / 5.0")
