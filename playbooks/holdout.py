"""Random holdouts: which eligible accounts a rule run records but does not action.

Each eligible account is held out independently with probability ``holdout_pct / 100``
(a Bernoulli draw, not a quota), so accounts enrolled one at a time, by several jobs,
or over many days all get the same chance and treated vs holdout stays a fair
randomised comparison.
"""

from __future__ import annotations

import numpy as np


def draw_holdout(n: int, holdout_pct: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` independent holdout flags, each true with probability ``holdout_pct`` / 100."""
    if not 0 <= holdout_pct <= 100:
        raise ValueError("holdout_pct must be between 0 and 100")
    rng = rng if rng is not None else np.random.default_rng()
    return rng.random(n) < holdout_pct / 100.0


def holdout_share_interval(n: int, holdout_pct: float, z: float = 3.0) -> tuple[float, float]:
    """Range the observed holdout share of ``n`` accounts falls in (± ``z`` standard errors)."""
    p = holdout_pct / 100.0
    half = z * (p * (1 - p) / max(n, 1)) ** 0.5
    return max(0.0, p - half), min(1.0, p + half)
