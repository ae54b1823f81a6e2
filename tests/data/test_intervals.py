"""The Wilson interval is written once and serves the Model lab's cohorts and the playbook outcomes alike."""

from __future__ import annotations

import math

from data import intervals
from models.diagnostics import cohorts
from playbooks import outcomes


def test_one_wilson_interval_for_cohorts_and_outcomes():
    assert cohorts.wilson_interval is intervals.wilson_interval
    assert outcomes.wilson_interval is intervals.wilson_interval


def test_wilson_interval_published_values_and_edges():
    lo, hi = intervals.wilson_interval(81, 263)  # Newcombe (1998a): 0.2553 to 0.3662
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    lo, hi = intervals.wilson_interval(0, 10)
    assert lo == 0 and round(hi, 4) == 0.2775
    assert all(math.isnan(v) for v in intervals.wilson_interval(0, 0))
