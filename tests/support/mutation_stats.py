"""A pytest plugin for the non-forking mutation runner (``tests/support/mutation.py``): which tests call
which mutated function, and how long each test takes.

Copied into mutmut's generated ``mutants/`` copy as ``_csai_mutation_stats.py`` and loaded with
``-p _csai_mutation_stats`` while ``MUTANT_UNDER_TEST=stats``; in that mode every trampoline mutmut generated records the function it
wraps (``mutmut.stats.record_trampoline_hit``) and calls the original. After each test the recorded
functions are attributed to that test, as mutmut's own stats run does; at the end the map is written as
JSON to the file named by ``CSAI_MUTATION_STATS``. Calls made in a child process (a test that runs the
CLI with ``subprocess``) are not seen, as with mutmut.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import pytest
from mutmut.state import state

_tests_by_function: dict[str, set[str]] = defaultdict(set)
_seconds_by_test: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report) -> None:
    """Setup, call and teardown all count: a mutant's run pays for a test's fixtures too."""
    _seconds_by_test[report.nodeid] += report.duration


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the test's fixtures are torn down: every function called since the last test's end."""
    try:
        return (yield)
    finally:
        for function in state()._stats:
            _tests_by_function[function].add(item.nodeid)
        state()._stats.clear()


def pytest_sessionfinish(session, exitstatus) -> None:
    target = os.environ.get("CSAI_MUTATION_STATS")
    if target:
        with open(target, "w") as f:
            json.dump({"tests_by_function": {k: sorted(v) for k, v in _tests_by_function.items()},
                       "seconds_by_test": dict(_seconds_by_test), "exit_status": int(exitstatus)}, f, indent=1)
