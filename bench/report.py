"""The benchmark's printed table: wall, CPU and peak memory per stage and size, then derived rows."""

from __future__ import annotations

STAGE_ROWS = [
    ("generate + write", "generate", "generate_write"), ("export parquet", "generate", "export_parquet"),
    ("import parquet", "import", "import"), ("metrics (all dates)", "features", "metrics"),
    ("observations (train)", "train", "observations"), ("train logreg", "train", "train_logreg"),
    ("train gbm", "train", "train_gbm"), ("score", "score", "score"), ("features for scoring", "explain", "features_as_of"),
    ("explain all accounts", "explain", "explain"), ("driver sentences", "explain", "driver_sentences"),
    ("run-due", "run_due", "run_due"),
]


def stage_part(r: dict, stage: str, part: str) -> dict | None:
    """One named sub-timing (``parts``) of a stage's result, or ``None``."""
    return (r.get(stage) or {}).get("parts", {}).get(part)


def print_table(results: list[dict]) -> str:
    """Print the results table and return its text (kept in the results JSON)."""
    lines = []
    sizes = [r["accounts"] for r in results]
    head = f"{'stage':<26}" + "".join(f"{f'{n:,} accts':>30}" for n in sizes)
    lines += [head, f"{'':<26}" + "".join(f"{'wall s / CPU s / peak MB':>30}" for _ in sizes), "-" * len(head)]
    for label, stage, part in STAGE_ROWS:
        cells = []
        for r in results:
            p = stage_part(r, stage, part)
            cells.append(f"{p['wall_s']:>9.1f} /{p['cpu_s']:>7.1f} /{p['peak_mb']:>7.0f}" if p else f"{'-':>30}")
        lines.append(f"{label:<26}" + "".join(f"{c:>30}" for c in cells))
    lines.append("-" * len(head))

    def row(label, fn):
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"{label:<26}" + "".join(f"{c:>30}" for c in cells))

    row("event rows", lambda r: f"{r['features']['events']:,}")
    row("observation rows", lambda r: f"{r['features']['obs_rows']:,}")
    row("accounts observed (train)", lambda r: f"{r['features']['accounts_observed']:,} of "
        f"{r['features']['accounts_total']:,}")
    row("pandas metrics s", lambda r: f"{r['features']['pandas']['seconds']:.1f}"
        + (" (extrap.)" if r["features"]["pandas"]["extrapolated"] else ""))
    row("metric speedup vs pandas", lambda r: f"{r['features']['pandas']['seconds'] / stage_part(r, 'features', 'metrics')['wall_s']:.1f}x"
        + (" same" if r["features"]["pandas"]["identical"] else " DIFF"))
    row("explain / shap-HGB s", lambda r: f"{stage_part(r, 'explain', 'explain')['wall_s']:.1f} / "
        f"{r['explain']['shap_reference']['explain_s']:.1f}")
    row("AUC product / HGB", lambda r: f"{r['explain']['product_auc']:.3f} / {r['explain']['shap_reference']['auc']:.3f}")
    for page in ("portfolio", "accounts", "account"):
        row(f"{page} warm s (min-max)", lambda r, p=page: "{median_s:.2f} ({min_s:.2f}-{max_s:.2f})".format(
            **r["pages"]["pages"][p]["warm"]))
        row(f"{page} floor s", lambda r, p=page: "{median_s:.2f} ({min_s:.2f}-{max_s:.2f})".format(
            **r["pages"]["pages"][p]["floor"]))
        row(f"{page} warm/floor, cold s", lambda r, p=page: f"{r['pages']['pages'][p]['ratio']:.2f}x, "
            f"{r['pages']['pages'][p]['cold_s']:.2f}")
    row("AppTest process peak MB", lambda r: f"{r['pages']['peak_mb_after_load']:.0f}")
    row("server peak MB (load test)", lambda r: f"{r['pages']['load_test']['server_peak_mb']:.0f}")
    row("load test p50/p95 s", lambda r: f"{r['pages']['load_test']['p50_s']:.2f} / {r['pages']['load_test']['p95_s']:.2f}"
        f" ({r['pages']['load_test']['error_count']} err)")
    text = "\n".join(lines)
    print(text)
    return text
