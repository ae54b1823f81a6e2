"""Holdout draws: independent Bernoulli flags with the configured share, and the share's tolerance band."""

from __future__ import annotations

import numpy as np
import pytest

from playbooks.holdout import draw_holdout, holdout_share_interval


def test_the_share_of_holdouts_matches_the_percentage():
    flags = draw_holdout(20_000, 20, np.random.default_rng(5))
    assert flags.dtype == bool and flags.shape == (20_000,)
    low, high = holdout_share_interval(20_000, 20)
    assert low <= flags.mean() <= high and abs(flags.mean() - 0.2) < 0.02


def test_zero_and_hundred_percent_are_none_and_all():
    assert not draw_holdout(500, 0, np.random.default_rng(1)).any()
    assert draw_holdout(500, 100, np.random.default_rng(1)).all()
    assert draw_holdout(0, 50).shape == (0,)


def test_the_same_seed_draws_the_same_and_no_rng_still_draws():
    assert (draw_holdout(100, 30, np.random.default_rng(9)) == draw_holdout(100, 30, np.random.default_rng(9))).all()
    assert draw_holdout(1000, 50).shape == (1000,)
    assert 300 < draw_holdout(1000, 50).sum() < 700


@pytest.mark.parametrize("pct", [-0.1, 100.1, 150])
def test_a_percentage_outside_0_to_100_is_refused(pct):
    with pytest.raises(ValueError, match=r"^holdout_pct must be between 0 and 100$"):
        draw_holdout(10, pct)


def test_the_tolerance_band_is_z_standard_errors_clipped_to_0_1():
    assert holdout_share_interval(100, 20) == pytest.approx((0.08, 0.32))  # 3 × sqrt(0.2 × 0.8 / 100) = 0.12
    assert holdout_share_interval(10_000, 50, z=2.0) == pytest.approx((0.49, 0.51))
    assert holdout_share_interval(0, 20) == (0.0, 1.0)  # no accounts: anything goes, never a division by zero
    assert holdout_share_interval(4, 90) == pytest.approx((0.45, 1.0))
    assert holdout_share_interval(1, 50, z=1.0) == pytest.approx((0.0, 1.0))  # one account: ± one whole standard error
