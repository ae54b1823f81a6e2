"""The non-forking mutation runner of ``make mutation`` (tests/support/mutation.py): on a toy repository, a
mutant that changes behaviour is killed and an equivalent one survives; and its pure helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import mutation
from tests.support.mutation import (
    CRASHED,
    KILLED,
    NO_TESTS,
    SURVIVED,
    TIMEOUT,
    function_key,
    mutant_prefix,
    mutant_tests,
    select_mutants,
    summarise,
    verdict,
)

TOY = '''
def double(x, unused=1):
    return x * 2
'''

TOY_TEST = '''
from toy.calc import double


def test_double():
    assert double(3) == 6
'''


@pytest.mark.slow  # five pytest processes and mutmut's generation: about 10 s of CPU (40 s on a loaded machine)
def test_a_breaking_mutant_is_killed_and_an_equivalent_one_survives(tmp_path):
    repo = tmp_path / "toy"
    (repo / "toy").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "toy" / "__init__.py").write_text("")
    (repo / "toy" / "calc.py").write_text(TOY)
    (repo / "tests" / "test_calc.py").write_text(TOY_TEST)
    (repo / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["toy/"]\nonly_mutate = ["toy/calc.py"]\n')
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    lines: list[str] = []

    result = mutation.subprocess_module("toy/calc.py", ["tests/test_calc.py"], tmp_path / "work", ["double"],
                                        log=lines.append, root=repo)

    # mutmut's mutants of double: `x / 2` and `x * 3` break it; `unused=2` is a default nobody reads
    assert result["survivors"] == ["toy.calc.x_double__mutmut_1"]
    assert "unused=2" in result["survivor_diffs"]["toy.calc.x_double__mutmut_1"]
    assert result["killed"] == result["total"] - 1 >= 2
    assert result["per_function"] == {"double": {"killed": result["killed"], "tested": result["total"]}}
    assert result["mode"] == "subprocess (no fork)"
    assert len(lines) == result["total"] and all(": " in line for line in lines)


def test_mutant_names_follow_mutmut():
    assert mutant_prefix("data/importer.py", "prepare") == "data.importer.x_prepare__mutmut_"
    assert mutant_prefix("data/importer.py", "_Stager.stage") == "data.importer.xǁ_Stagerǁstage__mutmut_"
    assert function_key("data.importer.x_prepare__mutmut_12") == "data.importer.x_prepare"


def test_select_mutants_orders_by_function_then_number_and_narrows_to_names():
    names = [f"data.importer.x_{f}__mutmut_{i}" for f in ("prepare", "_write_table", "prepare_more")
             for i in (10, 2, 1)]
    chosen = select_mutants(names, "data/importer.py", ["_write_table", "prepare"])
    assert chosen == [f"data.importer.x__write_table__mutmut_{i}" for i in (1, 2, 10)] + \
        [f"data.importer.x_prepare__mutmut_{i}" for i in (1, 2, 10)]
    assert select_mutants(names, "data/importer.py", ["prepare"], only=["data.importer.x_prepare__mutmut_2"]) == \
        ["data.importer.x_prepare__mutmut_2"]
    assert len(select_mutants(names, "data/importer.py")) == 9


def test_tests_run_fastest_first_and_only_those_that_call_the_function():
    by_function = {"m.x_f": ["t::slow", "t::fast", "t::mid"], "m.x_g": ["t::other"]}
    seconds = {"t::slow": 9.0, "t::fast": 0.1, "t::mid": 1.0}
    assert mutant_tests("m.x_f__mutmut_3", by_function, seconds) == ["t::fast", "t::mid", "t::slow"]
    assert mutant_tests("m.x_h__mutmut_1", by_function, seconds) == []


@pytest.mark.parametrize("code, status", [(0, SURVIVED), (1, KILLED), (3, KILLED), (None, TIMEOUT), (5, NO_TESTS),
                                          (-11, CRASHED)])
def test_verdict_from_the_pytest_exit_code(code, status):
    assert verdict(code) == status


def test_a_usage_error_is_not_a_verdict():
    with pytest.raises(RuntimeError, match="exit code 4"):
        verdict(4)


def test_summary_counts_timeouts_as_kills_and_lists_survivors_by_name():
    statuses = {"m.x_f__mutmut_1": KILLED, "m.x_f__mutmut_2": TIMEOUT, "m.x_f__mutmut_3": SURVIVED,
                "m.x_g__mutmut_1": NO_TESTS, "m.xǁCǁh__mutmut_1": CRASHED}
    result = summarise(statuses)
    assert (result["killed"], result["timeout"], result["survived"], result["total"]) == (1, 1, 1, 5)
    assert result["survivors"] == ["m.x_f__mutmut_3"]
    assert result["no_test_mutants"] == ["m.x_g__mutmut_1"] and result["crashed_mutants"] == ["m.xǁCǁh__mutmut_1"]
    assert result["per_function"] == {"f": {"killed": 2, "tested": 3}, "g": {"killed": 0, "tested": 1},
                                      "C.h": {"killed": 0, "tested": 1}}


def test_the_importer_runs_without_fork():
    assert "data/importer.py" in mutation.SUBPROCESS_MODULES
    assert Path(mutation.__file__).with_name("mutation_stats.py").is_file()
