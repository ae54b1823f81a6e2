"""The benchmark's targets table, checked on small made-up results (no benchmark is run)."""

from __future__ import annotations

import copy

import pytest

from bench.targets import AT_LEAST, BENCH_TARGETS, Measured, Target, evaluate


def _size(n: int, *, load_test: bool = False, concurrency: bool = False) -> dict:
    """One size's results as ``bench/run.py`` records them, every target met."""
    pages = {p: {"ratio": 1.2, "problems": [], "cold_s": 1.5} for p in ("portfolio", "accounts", "account")}
    r = {
        "accounts": n,
        "features": {"parts": {"metrics": {"wall_s": 2.0}},
                     "pandas": {"seconds": 40.0, "identical": True, "extrapolated": False, "mismatches": 0,
                                "dates_measured": 6, "dates_total": 6},
                     "scaling": {"subset": {"events": 1_000}, "full": {"events": 3_000}, "event_ratio": 3.0,
                                 "time_ratio": 3.1, "time_ratio_per_3x_rows": 3.1}},
        "explain": {"parts": {"explain": {"wall_s": 1.0}}, "product_auc": 0.80,
                    "shap_reference": {"explain_s": 5.0, "auc": 0.801}},
        "pages": {"pages": pages, "peak_mb_after_load": 900.0},
        **{s: {"peak_mb": 1000.0} for s in ("generate", "import", "train", "score", "run_due")},
    }
    r["features"]["peak_mb"] = 1500.0
    r["explain"]["peak_mb"] = 800.0
    if load_test:
        r["pages"]["load_test"] = {"sessions": 20, "error_count": 0, "p50_s": 0.4, "p95_s": 0.9,
                                   "server_peak_mb": 1100.0}
    if concurrency:
        r["concurrency"] = {"problem_count": 0, "ok": True, "renders": 30, "lock_errors": 0,
                            "new_scores_shown_without_restart": True}
    return r


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_every_target_is_met_by_good_results_and_rows_keep_the_json_shape():
    rows = evaluate([_size(2_000, concurrency=True), _size(20_000, load_test=True)])
    for row in rows:
        assert set(row) <= {"name", "value", "limit", "ok", "note"} and {"name", "value", "limit", "ok"} <= set(row)
        assert row["ok"] is True, row
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names))
    # per size: 2 speedups and 3 page ratios; largest only: 4; where they ran: the load test and concurrency
    assert len(rows) == 2 * 5 + 4 + 2
    by = _by_name(rows)
    assert by["feature build speedup vs pandas (2,000 accounts)"]["value"] == 20.0
    assert by["feature build speedup vs pandas (2,000 accounts)"]["limit"] == ">= 10"
    assert by["explain speedup vs shap on HGB (20,000 accounts)"]["limit"] == ">= 2 at equal or better AUC"
    assert by["cold first render, slowest page (20,000 accounts)"]["limit"] == "< 3 s"
    assert by["peak pipeline memory MB (20,000 accounts)"]["value"] == 1500.0
    assert by["app process peak MB while serving (20,000 accounts)"]["value"] == 1100.0
    assert "load test errors (20,000 accounts)" in by and "load test errors (2,000 accounts)" not in by
    assert "metric time ratio for 3x event rows (2,000 accounts)" not in by


def test_a_value_past_its_limit_fails_and_the_limit_is_the_one_shown():
    slow = _size(2_000)
    slow["pages"]["pages"]["account"]["ratio"] = 1.51
    slow["pages"]["pages"]["portfolio"]["ratio"] = 1.5  # exactly at "<= 1.5": met
    slow["features"]["pandas"]["seconds"] = 19.8  # 9.9x < 10
    by = _by_name(evaluate([slow]))
    assert by["warm account render / floor (2,000 accounts)"] == {
        "name": "warm account render / floor (2,000 accounts)", "value": 1.51, "limit": "<= 1.5", "ok": False}
    assert by["warm portfolio render / floor (2,000 accounts)"]["ok"]
    assert by["feature build speedup vs pandas (2,000 accounts)"]["value"] == 9.9
    assert not by["feature build speedup vs pandas (2,000 accounts)"]["ok"]


def test_a_further_condition_fails_a_target_whose_number_is_fine():
    r = _size(2_000)
    r["features"]["pandas"].update(identical=False, mismatches=3)
    r["explain"]["product_auc"] = 0.79  # worse than HGB by more than the tolerance
    r["pages"]["pages"]["accounts"]["problems"] = ["exception: boom"]
    by = _by_name(evaluate([r]))
    speed = by["feature build speedup vs pandas (2,000 accounts)"]
    assert speed["value"] == 20.0 and not speed["ok"] and "mismatches 3" in speed["note"]
    assert not by["explain speedup vs shap on HGB (2,000 accounts)"]["ok"]
    page = by["warm accounts render / floor (2,000 accounts)"]
    assert not page["ok"] and page["note"] == "exception: boom"


def test_the_scaling_ratio_is_judged_per_3x_rows():
    r = _size(100_000)
    r["features"]["scaling"].update(event_ratio=3.3, time_ratio=3.5)  # 3.5 / 1.1 = 3.18 per 3x rows: met
    row = _by_name(evaluate([r]))["metric time ratio for 3x event rows (100,000 accounts)"]
    assert row["value"] == 3.5 and row["limit"] == "<= 3.3" and row["ok"]
    assert "1,000 -> 3,000 event rows" in row["note"]
    r["features"]["scaling"].update(event_ratio=3.0, time_ratio=3.5)
    assert not _by_name(evaluate([r]))["metric time ratio for 3x event rows (100,000 accounts)"]["ok"]


@pytest.mark.parametrize("broken", ["features", "explain", "pages"])
def test_a_failed_stage_is_listed_as_not_met_not_left_out(broken):
    good, bad = _size(2_000), _size(20_000)
    bad[broken] = {"error": "exit 1", "wall_s": 3.0}
    rows = evaluate([good, bad])
    assert len(rows) == len(evaluate([_size(2_000), _size(20_000)]))
    failed = {row["name"]: row for row in rows if not row["ok"]}
    memory = failed.pop("peak pipeline memory MB (20,000 accounts)", None)  # a stage without a peak
    assert (memory is not None) == (broken != "pages")
    assert failed and all(row["value"] is None and row["note"] == "stage failed" for row in failed.values())
    assert all(row["ok"] for row in rows if "(2,000 accounts)" in row["name"])


def test_peak_memory_needs_every_pipeline_stage():
    r = _size(2_000)
    del r["score"]
    row = _by_name(evaluate([r]))["peak pipeline memory MB (2,000 accounts)"]
    assert row["value"] == 1500.0 and not row["ok"] and "score None" in row["note"]


def test_a_target_row_names_its_limit_once():
    target = Target("made-up speed ({n:,} accounts)", 4, AT_LEAST, lambda r: Measured(r["speed"]))
    assert target.row({"accounts": 10, "speed": 4}) == {"name": "made-up speed (10 accounts)", "value": 4,
                                                        "limit": ">= 4", "ok": True}
    assert not target.row({"accounts": 10, "speed": 3.99})["ok"]
    assert target.row({"accounts": 10}) == {"name": "made-up speed (10 accounts)", "value": None, "limit": ">= 4",
                                            "ok": False, "note": "stage failed"}
    assert all(isinstance(t.limit, int | float) for t in BENCH_TARGETS)
    assert copy.deepcopy(BENCH_TARGETS) == BENCH_TARGETS


def _ceiling(n: int = 1_000_000, *, peak: float = 7_000.0, minutes: float = 40.0) -> dict:
    """A ceiling size's results: no references, no scaling check; the pipeline's stages with wall times."""
    r = _size(n, load_test=True)
    r["ceiling"] = True
    del r["features"]["pandas"], r["features"]["scaling"], r["explain"]["shap_reference"]
    for p in r["pages"]["pages"].values():
        p["warm"] = {"median_s": 0.5, "n": 2}
    stages = ("generate", "import", "features", "train", "score", "explain", "run_due")
    render_s = sum(p["cold_s"] + 1.0 for p in r["pages"]["pages"].values())
    for s in stages:
        r[s]["wall_s"] = (minutes * 60 - render_s) / len(stages)
    r["train"]["peak_mb"] = peak
    return r


def test_a_ceiling_size_is_held_to_its_own_targets_and_not_to_the_references():
    rows = evaluate([_size(100_000, load_test=True), _ceiling()])
    by = _by_name(rows)
    ceiling = {name for name in by if "1,000,000" in name}
    assert ceiling == {
        "warm portfolio render / floor (1,000,000 accounts)", "warm accounts render / floor (1,000,000 accounts)",
        "warm account render / floor (1,000,000 accounts)", "load test errors (1,000,000 accounts)",
        "pipeline peak memory MB (1,000,000 accounts, one-machine ceiling)",
        "pipeline minutes (1,000,000 accounts, one-machine ceiling)",
        "app server peak MB under the load test (1,000,000 accounts, one-machine ceiling)"}
    assert all(by[name]["ok"] for name in ceiling), [by[n] for n in ceiling if not by[n]["ok"]]
    # "largest" targets (the 100,000-account limits) stay on the largest size below the ceiling
    assert "peak pipeline memory MB (100,000 accounts)" in by and "metric time ratio for 3x event rows (100,000 accounts)" in by
    assert by["pipeline minutes (1,000,000 accounts, one-machine ceiling)"]["value"] == 40.0
    assert by["pipeline peak memory MB (1,000,000 accounts, one-machine ceiling)"]["limit"] == "< 8192"


def test_the_app_server_target_holds_the_served_app_not_the_bench_harness():
    harness_heavy = _ceiling()
    harness_heavy["pages"]["peak_mb_after_load"] = 2_500.0  # the AppTest process with its floor replicas
    harness_heavy["pages"]["load_test"]["server_peak_mb"] = 1_900.0
    row = _by_name(evaluate([harness_heavy]))["app server peak MB under the load test (1,000,000 accounts, one-machine ceiling)"]
    assert (row["value"], row["ok"]) == (1_900.0, True) and "AppTest process" in row["note"]
    harness_heavy["pages"]["load_test"]["server_peak_mb"] = 2_100.0
    row = _by_name(evaluate([harness_heavy]))["app server peak MB under the load test (1,000,000 accounts, one-machine ceiling)"]
    assert (row["value"], row["ok"]) == (2_100.0, False)


@pytest.mark.parametrize("change, target", [
    ({"peak": 9_000.0}, "pipeline peak memory MB (1,000,000 accounts, one-machine ceiling)"),
    ({"minutes": 50.0}, "pipeline minutes (1,000,000 accounts, one-machine ceiling)"),
])
def test_a_ceiling_over_its_limits_fails_that_target(change, target):
    by = _by_name(evaluate([_ceiling(**change)]))
    assert by[target]["ok"] is False
    assert all(row["ok"] for name, row in by.items() if name != target)


def test_a_ceiling_without_a_stage_result_is_not_met():
    r = _ceiling()
    del r["score"]["wall_s"]
    by = _by_name(evaluate([r]))
    assert by["pipeline minutes (1,000,000 accounts, one-machine ceiling)"]["ok"] is False
