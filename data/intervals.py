"""Confidence intervals of proportions, defined once: the Model lab's cohort rates and playbook outcomes use them.

Written out rather than imported: the formulas are a few lines, their published examples are
tests (``tests/playbooks/test_outcomes.py``, ``tests/models/test_lab.py``), and the libraries
that have them (statsmodels) would be a large dependency for this alone.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 %


def wilson_interval(events: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of the proportion ``events / n`` (95 % by default); (nan, nan) when n = 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = events / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval always holds p; min/max keep rounding (e.g. at p = 1) from pushing it out
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))
