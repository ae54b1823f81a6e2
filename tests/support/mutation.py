"""``make mutation``: mutation scores of the modules where a silent bug costs most.

Python modules are mutated by mutmut 3 (``[tool.mutmut]`` in pyproject.toml holds the shared settings);
each module runs in its own scratch copy of the repository with only that module mutated and only the
tests that cover it selected, so a run stays affordable and the score is per module. mutmut cannot
mutate SQL, so ``data/sql/labels.sql`` gets a small mutation check of its own here: each comparison,
boolean operator, NULL test and aggregate is flipped one at a time and the label tests must fail.

Modules whose tests load DuckDB (``SUBPROCESS_MODULES``) run without mutmut's fork: mutmut forks its
test process for every mutant, and a child forked from a process with DuckDB loaded can crash
(SIGSEGV) whatever the mutant. For those, mutmut only generates its ``mutants/`` copy (every mutated
function behind a trampoline that picks the active mutant from ``MUTANT_UNDER_TEST``); one pytest run
there with ``MUTANT_UNDER_TEST=stats`` records which tests call which function, and then every mutant
runs in a fresh ``pytest`` process (``-x``: it stops at the first failure) with only the tests that call
its function, fastest first. pytest failing kills the mutant, passing lets it survive; a run that
exceeds its time limit counts as killed (a timeout, as mutmut counts it). ``MUTATION_NO_FORK=1`` uses
this mode for any module.

Usage: ``python -m tests.support.mutation [module ...]`` (default: every module below). Prints one line
per module (killed / tested, score) and writes ``mutation-results.json`` in the repository root.
``MUTATION_MUTANTS="data.importer.x_prepare__mutmut_3 ..."`` re-runs only the named mutants (the
non-forking mode), e.g. the survivors of an earlier run after adding tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = 80.0

# module -> the tests that cover it (run for every mutant of that module)
MODULES: dict[str, list[str]] = {
    "data/access.py": ["tests/data/test_access.py", "tests/data/test_queries.py"],
    "playbooks/holdout.py": ["tests/playbooks/test_holdout.py"],
    "playbooks/triggers.py": ["tests/playbooks/test_rule_mask.py", "tests/playbooks/test_trigger_actions.py",
                              "tests/playbooks/test_triggers.py", "tests/playbooks/test_rule_filters.py",
                              "tests/playbooks/test_preview_steps.py"],
    "playbooks/outbox.py": ["tests/playbooks/test_outbox.py", "tests/playbooks/test_dispatch_processes.py",
                            "tests/playbooks/test_outbox_outcomes.py", "tests/playbooks/test_outbox_task_alert_retry.py",
                            "tests/playbooks/test_outbox_dispatch_pass.py"],
    "data/validation.py": ["tests/data/test_validation_report.py", "tests/data/test_import.py",
                           "tests/data/test_import_orphans.py", "tests/data/test_csv_integrity.py"],
    "data/importer.py": ["tests/data/test_import.py", "tests/data/test_import_orphans.py",
                         "tests/data/test_import_all_or_nothing.py"],
    "data/sql/labels.sql": ["tests/data/test_labels.py", "tests/data/test_metrics.py::test_labels_churn_within_horizon"],
}

# Modules whose tests load DuckDB: mutmut's forked test processes crash there, so they run one fresh
# pytest process per mutant (``subprocess_module``).
SUBPROCESS_MODULES = {"data/importer.py"}

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


def scratch_copy(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the tracked files of the repository ``root`` (plus uncommitted edits) at ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        src = root / name
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


# mutmut's own steps that build ``mutants/`` (copies, then one mutated file per module), without its test run
GENERATE_MUTANTS = """
import os
from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants
os.makedirs("mutants", exist_ok=True)
copy_src_dir()
copy_also_copy_files()
create_mutants(1)
"""

KILLED, SURVIVED, TIMEOUT, NO_TESTS, CRASHED = "killed", "survived", "timeout", "no tests", "crashed"


def mutant_prefix(module: str, function: str) -> str:
    """The name prefix of ``function``'s mutants (``Class.method`` for a method), as mutmut 3 names them:
    ``data.importer.x_prepare__mutmut_1``, ``data.importer.xǁ_Stagerǁstage__mutmut_2``."""
    dotted = module.removesuffix(".py").replace("/", ".")
    cls, _, name = function.rpartition(".")
    return f"{dotted}.{'xǁ' + cls + 'ǁ' if cls else 'x_'}{name}__mutmut_"


def function_key(mutant: str) -> str:
    """The key mutmut's trampolines record a call under: the mutant's name up to ``__mutmut_``."""
    return mutant.partition("__mutmut_")[0]


def select_mutants(names: list[str], module: str, functions: list[str] | None = None,
                   only: list[str] | None = None) -> list[str]:
    """The mutants to run, in order: the named ``functions``' (in the order given, each by number) or all
    of them; ``only`` narrows that to those names."""
    def number(name: str) -> int:
        return int(name.rpartition("__mutmut_")[2])

    if functions:
        chosen = [n for f in functions
                  for n in sorted((n for n in names if n.startswith(mutant_prefix(module, f))), key=number)]
    else:
        chosen = sorted(names, key=lambda n: (function_key(n), number(n)))
    return [n for n in chosen if n in only] if only else chosen


def mutant_tests(mutant: str, tests_by_function: dict[str, list[str]], seconds_by_test: dict[str, float]) -> list[str]:
    """The tests that call the mutated function, fastest first (with ``-x`` a kill ends at its first failure)."""
    return sorted(tests_by_function.get(function_key(mutant), []), key=lambda t: (seconds_by_test.get(t, 0.0), t))


def verdict(returncode: int | None) -> str:
    """A mutant's status from its pytest exit code (``None``: the run exceeded its time limit)."""
    if returncode is None:
        return TIMEOUT
    if returncode in (1, 3):  # tests failed; an internal error in pytest counts as a kill, as in mutmut
        return KILLED
    if returncode == 0:
        return SURVIVED
    if returncode == 5:
        return NO_TESTS
    if returncode < 0:
        return CRASHED
    raise RuntimeError(f"pytest could not run the mutant's tests (exit code {returncode})")


def summarise(statuses: dict[str, str]) -> dict:
    """The per-module result: counts by status, killed / tested per function, the survivors by name (and the
    mutants no test reached or whose run crashed: neither counts as killed)."""
    counts = {s: [n for n, v in statuses.items() if v == s] for s in (KILLED, SURVIVED, TIMEOUT, NO_TESTS, CRASHED)}
    per_function: dict[str, dict[str, int]] = {}
    for name, status in statuses.items():
        mangled = function_key(name).rpartition(".")[2]  # x_prepare, or xǁClassǁmethod
        key = mangled.removeprefix("x_") if mangled.startswith("x_") else mangled[2:].replace("ǁ", ".")
        entry = per_function.setdefault(key, {"killed": 0, "tested": 0})
        entry["tested"] += 1
        entry["killed"] += status in (KILLED, TIMEOUT)
    return {"mode": "subprocess (no fork)", **{k.replace(" ", "_"): len(v) for k, v in counts.items()},
            "total": len(statuses), "skipped": 0, "per_function": per_function,
            "survivors": counts[SURVIVED], "no_test_mutants": counts[NO_TESTS], "crashed_mutants": counts[CRASHED]}


def pytest_command(tests: list[str], *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider", "--rootdir=.", *extra, *PYTEST_ARGS,
            *tests]


def run_pytest(cmd: list[str], cwd: Path, env: dict[str, str], limit: float) -> tuple[int | None, str]:
    """Run ``cmd`` in its own process group; past ``limit`` seconds the whole group is killed (``None``)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        return None, out


def mutant_env(mutants: Path, mutant: str) -> dict[str, str]:
    """The environment of a mutant's test run: the active mutant, and the ``mutants/`` copy on the path of
    any Python process a test starts."""
    return {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": str(mutants), "PY_IGNORE_IMPORTMISMATCH": "1"}


def subprocess_module(module: str, tests: list[str], work: Path, functions: list[str] | None = None,
                      only: list[str] | None = None, log: Callable[[str], None] = print,
                      root: Path = ROOT) -> dict:
    """The non-forking mode: mutmut generates the mutants; each one runs in a fresh pytest process."""
    repo = scratch_copy(work / "repo", root)
    pyproject = repo / "pyproject.toml"
    text = re.sub(r"(?ms)^only_mutate = .*?$", f"only_mutate = {_toml_list([module])}", pyproject.read_text())
    pyproject.write_text(text)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run([sys.executable, "-c", GENERATE_MUTANTS], cwd=repo, env=env, check=True, capture_output=True)
    mutants = repo / "mutants"
    shutil.copy2(Path(__file__).with_name("mutation_stats.py"), mutants / "_csai_mutation_stats.py")
    meta = json.loads((mutants / (module + ".meta")).read_text())
    chosen = select_mutants(list(meta["exit_code_by_key"]), module, functions, only)
    if not chosen:
        raise SystemExit(f"{module}: no mutants match {functions or ''} {only or ''}")

    # which tests call which function (a clean run: it must pass), then check a forced failure is seen
    stats_file = work / "stats.json"
    code, out = run_pytest(pytest_command(tests, "-p", "_csai_mutation_stats"), mutants,
                           {**mutant_env(mutants, "stats"), "CSAI_MUTATION_STATS": str(stats_file)}, 3600)
    if code != 0:
        raise SystemExit(f"{module}: the tests fail without a mutant (exit code {code}):\n{out[-3000:]}")
    stats = json.loads(stats_file.read_text())
    by_function, seconds = stats["tests_by_function"], stats["seconds_by_test"]
    probe = next((mutant_tests(m, by_function, seconds)[:1] for m in chosen if mutant_tests(m, by_function, seconds)), [])
    if probe and run_pytest(pytest_command(probe), mutants, mutant_env(mutants, "fail"), 600)[0] == 0:
        raise SystemExit(f"{module}: a forced failure (MUTANT_UNDER_TEST=fail) was not seen by {probe[0]}")

    def one(mutant: str) -> tuple[str, str, float]:
        selected = mutant_tests(mutant, by_function, seconds)
        if not selected:
            return mutant, NO_TESTS, 0.0
        estimate = sum(seconds.get(t, 0.0) for t in selected)
        start = time.monotonic()
        code, _ = run_pytest(pytest_command(selected), mutants, mutant_env(mutants, mutant), 120 + 5 * estimate)
        return mutant, verdict(code), time.monotonic() - start

    statuses: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=int(os.environ.get("MUTATION_JOBS", "1"))) as pool:
        for i, (mutant, status, took) in enumerate(pool.map(one, chosen), 1):
            statuses[mutant] = status
            log(f"    [{i}/{len(chosen)}] {mutant}: {status} ({took:.0f} s)")
    result = summarise(statuses)
    result["survivor_diffs"] = {name: subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=repo,
                                                     env=env, capture_output=True, text=True).stdout
                                for name in result["survivors"]}
    return result


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
            functions = os.environ.get("MUTATION_FUNCTIONS", "").split() or None
            if module.endswith(".sql"):
                stats = sql_module(module, MODULES[module], Path(tmp))
            elif module in SUBPROCESS_MODULES or os.environ.get("MUTATION_NO_FORK") == "1":
                stats = subprocess_module(module, MODULES[module], Path(tmp), functions,
                                          os.environ.get("MUTATION_MUTANTS", "").split() or None,
                                          lambda line: print(line, flush=True))
            else:
                stats = mutmut_module(module, MODULES[module], Path(tmp), functions,
                                      os.environ.get("MUTATION_MUTANTS", "").split() or None)
        tested = int(stats.get("total", 0)) - int(stats.get("skipped", 0))
        caught = int(stats.get("killed", 0)) + int(stats.get("timeout", 0))
        stats["score"] = round(100.0 * caught / tested, 1) if tested else 0.0
        results[module] = stats
        print(f"{module}: {caught}/{tested} mutants killed, score {stats['score']} %"
              f"{'' if stats['score'] >= TARGET else f' (below the {TARGET:.0f} % target)'}", flush=True)
        for survivor in stats.get("survivors", [])[:20]:
            print(f"    survived: {survivor}")
        for label, key in (("no tests", "no_test_mutants"), ("crashed", "crashed_mutants")):
            for name in stats.get(key, [])[:20]:
                print(f"    {label}: {name}")
    (ROOT / "mutation-results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["score"] >= TARGET for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
