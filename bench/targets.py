"""The benchmark's targets: one :class:`Target` row per goal, its limit written once.

:func:`evaluate` turns the per-size results of ``bench/run.py`` into the ``targets`` list
of the results JSON: ``{name, value, limit, ok}`` (plus a ``note`` when there is one).
``limit`` is the text a person reads (``">= 10"``); the check compares against the same
number. A target whose stage failed or did not report is listed as not met
(``value`` ``None``, note "stage failed"), never left out.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import stage_part


@dataclass(frozen=True)
class Check:
    """How a value meets its limit: the comparison and the symbol shown in front of the limit."""

    symbol: str
    passes: Callable[[float, float], bool]


AT_LEAST = Check(">=", operator.ge)
AT_MOST = Check("<=", operator.le)
BELOW = Check("<", operator.lt)
EXACTLY = Check("=", operator.eq)


@dataclass(frozen=True)
class Measured:
    """What one target read from one size's results.

    ``compared`` is the number checked against the limit when it is not ``value`` itself
    (e.g. a ratio normalised to exactly 3x the rows); ``also`` is a further condition
    that must hold (values identical to the reference, AUC not worse, no page problems).
    """

    value: float | int | None
    note: str = ""
    also: bool = True
    compared: float | None = None


@dataclass(frozen=True)
class Target:
    """One goal: ``name`` (``{n:,}`` is the size in accounts), ``limit`` and ``check``, and how to read the value.

    ``scope`` is ``"each"`` (every size), ``"largest"`` (the largest size only),
    ``"present"`` (every size whose results hold the stage ``stage``, e.g. the load test
    that runs only at some sizes) or ``"ceiling"`` (the one-machine ceiling sizes only). A
    ceiling size (``"ceiling": true`` in its results, ``bench/run.py``'s ``CEILING``) runs
    without the references and checks, so only targets with ``at_ceiling`` apply to it, and
    "largest" means the largest size below the ceiling.
    """

    name: str
    limit: float
    check: Check
    measure: Callable[[dict], Measured]
    unit: str = ""
    condition: str = ""
    scope: str = "each"
    stage: tuple[str, ...] = ()
    at_ceiling: bool = False

    @property
    def limit_text(self) -> str:
        text = f"{self.check.symbol} {self.limit:g}{self.unit}"
        return f"{text} {self.condition}" if self.condition else text

    def applies_to(self, result: dict) -> bool:
        if result.get("ceiling"):
            if not (self.at_ceiling or self.scope == "ceiling"):
                return False
        elif self.scope == "ceiling":
            return False
        if self.scope != "present":
            return True
        node = result
        for key in self.stage:
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True

    def row(self, result: dict) -> dict:
        """This target's ``{name, value, limit, ok[, note]}`` for one size's results."""
        name = self.name.format(n=result["accounts"])
        try:
            m = self.measure(result)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            m = Measured(None, "stage failed")
        compared = m.value if m.compared is None else m.compared
        ok = compared is not None and bool(self.check.passes(compared, self.limit)) and bool(m.also)
        return {"name": name, "value": m.value, "limit": self.limit_text, "ok": ok, **({"note": m.note} if m.note else {})}


# ------------------------------------------------------------------ how each value is read
def _feature_speedup(r: dict) -> Measured:
    ref = r["features"]["pandas"]
    speed = ref["seconds"] / stage_part(r, "features", "metrics")["wall_s"]
    extrapolated = (f"pandas extrapolated from {ref['dates_measured']} of {ref['dates_total']} dates; "
                    if ref["extrapolated"] else "")
    same = "identical values" if ref["identical"] else f"mismatches {ref['mismatches']}"
    return Measured(round(speed, 2), extrapolated + same, also=ref["identical"])


AUC_TOLERANCE = 0.005


def _explain_speedup(r: dict) -> Measured:
    e = r["explain"]
    speed = e["shap_reference"]["explain_s"] / stage_part(r, "explain", "explain")["wall_s"]
    auc_ok = (e["product_auc"] or 0) >= e["shap_reference"]["auc"] - AUC_TOLERANCE
    return Measured(round(speed, 2), f"AUC {e['product_auc']:.3f} vs HGB {e['shap_reference']['auc']:.3f} "
                                     f"({AUC_TOLERANCE} tolerance)", also=auc_ok)


def _page_ratio(page: str) -> Callable[[dict], Measured]:
    def measure(r: dict) -> Measured:
        p = r["pages"]["pages"][page]
        return Measured(p["ratio"], "; ".join(p["problems"][:2]), also=not p["problems"])
    return measure


def _scaling(r: dict) -> Measured:
    s = r["features"]["scaling"]
    per_3x = s["time_ratio"] / max(1.0, s["event_ratio"] / 3)  # more than 3x the rows may take proportionally longer
    return Measured(s["time_ratio"], f"{s['subset']['events']:,} -> {s['full']['events']:,} event rows; event ratio "
                                     f"{s['event_ratio']}, normalised to exactly 3x: {s['time_ratio_per_3x_rows']}",
                    compared=per_3x)


def _cold_render(r: dict) -> Measured:
    return Measured(max(p["cold_s"] for p in r["pages"]["pages"].values()))


PIPELINE_STAGES = ("generate", "import", "features", "train", "score", "explain", "run_due")


def _pipeline_peak(r: dict) -> Measured:
    peaks = {s: (r.get(s) or {}).get("product_peak_mb") or (r.get(s) or {}).get("peak_mb") for s in PIPELINE_STAGES}
    known = [v for v in peaks.values() if v]
    return Measured(max(known) if known else None,
                    "per stage (product part): " + ", ".join(f"{k} {v}" for k, v in peaks.items()),
                    also=len(known) == len(PIPELINE_STAGES))


def _pipeline_minutes(r: dict) -> Measured:
    walls = {s: (r.get(s) or {}).get("wall_s") for s in PIPELINE_STAGES}
    known = [v for v in walls.values() if v is not None]
    renders = sum(p["cold_s"] + p["warm"]["median_s"] * p["warm"]["n"] for p in r["pages"]["pages"].values())
    return Measured(round((sum(known) + renders) / 60, 1),
                    "per stage (wall s): " + ", ".join(f"{k} {v}" for k, v in walls.items())
                    + f", page renders {renders:.1f}", also=len(known) == len(PIPELINE_STAGES))


def _app_peak(r: dict) -> Measured:
    """The ``streamlit run`` server's peak while the load test's sessions use it (the target's "app server").

    The bench's own AppTest process is reported beside it, not held to the limit: it also keeps the three
    pages' floor replicas and drives the load test's browsers. Without a load test, that process is all there is.
    """
    apptest = r["pages"]["peak_mb_after_load"]
    server = (r["pages"].get("load_test") or {}).get("server_peak_mb")
    return Measured(server if server is not None else apptest,
                    f"streamlit server under the load test {server}; bench AppTest process (3 pages, their floor "
                    f"replicas and the load test's browser driver; not the app server) {apptest}")


def _load_test_errors(r: dict) -> Measured:
    lt = r["pages"]["load_test"]
    first = lt.get("first_accounts") or {}
    return Measured(lt["error_count"], f"{lt['sessions']} sessions; p50 {lt.get('p50_s')} s, p95 {lt.get('p95_s')} s; "
                                       f"first visits (code not cached yet, not counted): "
                                       f"{lt.get('first_visit_error_count', 0)} errors, p50 {first.get('p50_s')} s")


def _concurrency(r: dict) -> Measured:
    c = r["concurrency"]
    return Measured(c.get("problem_count"), f"{c.get('renders')} renders, lock errors {c.get('lock_errors')}, "
                                            f"new scores shown {c.get('new_scores_shown_without_restart')}",
                    also=c.get("ok", False))


BENCH_TARGETS: tuple[Target, ...] = (
    Target("feature build speedup vs pandas ({n:,} accounts)", 10, AT_LEAST, _feature_speedup),
    Target("explain speedup vs shap on HGB ({n:,} accounts)", 2, AT_LEAST, _explain_speedup,
           condition="at equal or better AUC"),
    *(Target(f"warm {page} render / floor ({{n:,}} accounts)", 1.5, AT_MOST, _page_ratio(page), at_ceiling=True)
      for page in ("portfolio", "accounts", "account")),
    Target("metric time ratio for 3x event rows ({n:,} accounts)", 3.3, AT_MOST, _scaling, scope="largest"),
    Target("cold first render, slowest page ({n:,} accounts)", 3, BELOW, _cold_render, unit=" s", scope="largest"),
    Target("peak pipeline memory MB ({n:,} accounts)", 4096, BELOW, _pipeline_peak, scope="largest"),
    Target("app process peak MB while serving ({n:,} accounts)", 1536, BELOW, _app_peak, scope="largest"),
    Target("load test errors ({n:,} accounts)", 0, EXACTLY, _load_test_errors, scope="present",
           stage=("pages", "load_test"), at_ceiling=True),
    Target("pipeline peak memory MB ({n:,} accounts, one-machine ceiling)", 8192, BELOW, _pipeline_peak,
           scope="ceiling"),
    Target("pipeline minutes ({n:,} accounts, one-machine ceiling)", 45, BELOW, _pipeline_minutes, unit=" min",
           scope="ceiling"),
    Target("app server peak MB under the load test ({n:,} accounts, one-machine ceiling)", 2048, BELOW, _app_peak,
           scope="ceiling"),
    Target("pages serve during import/train/score, problems ({n:,} accounts)", 0, EXACTLY, _concurrency,
           condition="and new scores shown", scope="present", stage=("concurrency",)),
)


def evaluate(results: list[dict], table: tuple[Target, ...] = BENCH_TARGETS) -> list[dict]:
    """Every target of ``table`` for the sizes it applies to, in table order (sizes ascending)."""
    below = [r for r in results if not r.get("ceiling")] or results
    largest = max(below, key=lambda r: r["accounts"])
    rows = []
    for target in table:
        sizes = [largest] if target.scope == "largest" else sorted(results, key=lambda r: r["accounts"])
        rows += [target.row(r) for r in sizes if target.applies_to(r)]
    return rows
