"""``make mutation``: mutation scores of the modules where a silent bug costs most.

Python modules are mutated by mutmut 3 (``[tool.mutmut]`` in pyproject.toml holds the shared settings);
each module runs in its own scratch copy of the repository with only that module mutated and only the
tests that cover it selected, so a run stays affordable and the score is per module. mutmut cannot
mutate SQL, so ``data/sql/labels.sql`` gets a small mutation check of its own here: each comparison,
boolean operator, NULL test and aggregate is flipped one at a time and the label tests must fail.

Usage: ``python -m tests.support.mutation [module ...]`` (default: every module below). Prints one line
per module (killed / tested, score) and writes ``mutation-results.json`` in the repository root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 80.0

# module -> the tests that cover it (run for every mutant of that module)
MODULES: dict[str, list[str]] = {
    "data/access.py": ["tests/data/test_access.py", "tests/data/test_queries.py"],
    "playbooks/holdout.py": ["tests/playbooks/test_holdout.py"],
    "playbooks/triggers.py": ["tests/playbooks/test_rule_mask.py", "tests/playbooks/test_trigger_actions.py",
                              "tests/playbooks/test_triggers.py", "tests/playbooks/test_rule_filters.py"],
    "playbooks/outbox.py": ["tests/playbooks/test_outbox.py", "tests/playbooks/test_dispatch_processes.py",
                            "tests/playbooks/test_outbox_outcomes.py", "tests/playbooks/test_outbox_task_alert_retry.py",
                            "tests/playbooks/test_outbox_dispatch_pass.py"],
    "data/validation.py": ["tests/data/test_validation_report.py", "tests/data/test_import.py",
                           "tests/data/test_import_orphans.py", "tests/data/test_csv_integrity.py"],
    "data/importer.py": ["tests/data/test_import.py", "tests/data/test_import_orphans.py"],
    "data/sql/labels.sql": ["tests/data/test_labels.py", "tests/data/test_metrics.py::test_labels_churn_within_horizon"],
}

# ``MUTATION_FUNCTIONS="rule_mask can_act"`` mutates only those functions of the chosen module (a module's
# full run on a 2-core machine can take hours: playbooks/triggers.py has 771 mutants), and
# ``MUTATION_MUTANTS="playbooks.triggers.x_run_rules__mutmut_12 ..."`` only those mutants (to re-run an
# earlier run's survivors against new tests, or a sample).

# SQL mutation operators: (pattern, replacement), applied to one occurrence at a time outside comments
SQL_OPERATORS = [
    (r" < ", " <= "), (r" <= ", " < "), (r" > ", " >= "), (r" >= ", " > "),
    (r" AND ", " OR "), (r"IS NULL", "IS NOT NULL"), (r"IS NOT NULL", "IS NULL"),
    (r"\bmax\(", "min("), (r"\bsum\(", "max("), (r"\+ 1\b", "+ 0"), (r"THEN 1 ELSE 0", "THEN 0 ELSE 1"),
    (r"coalesce\(m\.mrr, 0\)", "m.mrr"), (r"\+ \$lead_days", "+ 0"),
]


def scratch_copy(dest: Path) -> Path:
    """A copy of the tracked files of the repository (plus uncommitted edits) at ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


# Under mutation the operational-store tests run on SQLite only: a PostgreSQL server per mutant
# costs minutes each (the PostgreSQL half runs in `make test`), and the long ones are left out.
PYTEST_ARGS = ["-p", "no:randomly", "-q", "-k", "not postgresql", "-m", "not slow"]


def mutmut_module(module: str, tests: list[str], work: Path, functions: list[str] | None = None,
                  mutants: list[str] | None = None) -> dict:
    """Run mutmut on one module in a scratch copy; the counts of its ``export-cicd-stats``.

    ``functions`` or ``mutants`` (full mutmut names) narrow the run; the counts are then of those mutants only.
    """
    repo = scratch_copy(work / "repo")
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text()
    text = re.sub(r"(?ms)^only_mutate = .*?$", f"only_mutate = {_toml_list([module])}", text)
    text = re.sub(r"(?m)^pytest_add_cli_args = .*$", f"pytest_add_cli_args = {_toml_list(PYTEST_ARGS)}", text)
    text = re.sub(r"(?ms)^pytest_add_cli_args_test_selection = .*?$",
                  f"pytest_add_cli_args_test_selection = {_toml_list(tests)}", text)
    pyproject.write_text(text)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    dotted = module.removesuffix(".py").replace("/", ".")
    names = [f"{dotted}.x_{f}__mutmut_*" for f in functions or []] + list(mutants or [])  # only these mutants
    subprocess.run([*mutmut, "run", "--max-children", os.environ.get("MUTATION_JOBS", "1"), *names], cwd=repo,
                   env=env)
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=repo, env=env, check=True)
    stats = json.loads((repo / "mutants" / "mutmut-cicd-stats.json").read_text())
    if names:  # the stats count every mutant of the module; score only the ones that ran
        stats["total"] = sum(int(stats.get(k, 0)) for k in ("killed", "survived", "timeout", "suspicious", "segfault"))
    survivors = subprocess.run([*mutmut, "results"], cwd=repo, env=env, capture_output=True, text=True).stdout
    stats["survivors"] = [line.split(":")[0].strip() for line in survivors.splitlines()
                          if line.strip().endswith(": survived")]
    stats["survivor_diffs"] = {name: subprocess.run([*mutmut, "show", name], cwd=repo, env=env, capture_output=True,
                                                    text=True).stdout for name in stats["survivors"]}
    return stats


def sql_mutants(sql: str) -> list[tuple[str, str]]:
    """(description, mutated SQL) for every single operator flip outside ``--`` comments."""
    out = []
    lines = sql.split("\n")
    for i, line in enumerate(lines):
        code = line.split("--", 1)[0]
        for pattern, replacement in SQL_OPERATORS:
            for m in re.finditer(pattern, code):
                mutated = code[:m.start()] + re.sub(pattern, replacement, code[m.start():], count=1)
                rest = line[len(code):]
                out.append((f"line {i + 1}: {m.group(0).strip()} -> {replacement.strip()}",
                            "\n".join([*lines[:i], mutated + rest, *lines[i + 1:]])))
    return out


def sql_module(module: str, tests: list[str], work: Path) -> dict:
    """The SQL mutation check: how many single-operator mutants of ``module`` the tests kill."""
    repo = scratch_copy(work / "repo")
    target = repo / module
    original = target.read_text()
    killed, survivors = 0, []
    mutants = sql_mutants(original)
    for description, mutated in mutants:
        target.write_text(mutated)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               "-p", "no:randomly", *tests], cwd=repo, capture_output=True, text=True)
        if proc.returncode != 0:
            killed += 1
        else:
            survivors.append(description)
    target.write_text(original)
    return {"killed": killed, "survived": len(survivors), "total": len(mutants), "skipped": 0,
            "survivors": survivors}


def main(argv: list[str]) -> int:
    wanted = argv or list(MODULES)
    unknown = [m for m in wanted if m not in MODULES]
    if unknown:
        print(f"unknown module(s): {', '.join(unknown)}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    results = {}
    for module in wanted:
        with tempfile.TemporaryDirectory(prefix="csai-mutation-") as tmp:
            if module.endswith(".sql"):
                stats = sql_module(module, MODULES[module], Path(tmp))
            else:
                stats = mutmut_module(module, MODULES[module], Path(tmp),
                                      os.environ.get("MUTATION_FUNCTIONS", "").split() or None,
                                      os.environ.get("MUTATION_MUTANTS", "").split() or None)
        tested = int(stats.get("total", 0)) - int(stats.get("skipped", 0))
        caught = int(stats.get("killed", 0)) + int(stats.get("timeout", 0))
        stats["score"] = round(100.0 * caught / tested, 1) if tested else 0.0
        results[module] = stats
        print(f"{module}: {caught}/{tested} mutants killed, score {stats['score']} %"
              f"{'' if stats['score'] >= TARGET else f' (below the {TARGET:.0f} % target)'}", flush=True)
        for survivor in stats.get("survivors", [])[:20]:
            print(f"    survived: {survivor}")
    (ROOT / "mutation-results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["score"] >= TARGET for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
