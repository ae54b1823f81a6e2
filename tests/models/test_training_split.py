"""Time-ordered model choice: rolling validation blocks never train on labels that see their block."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.calibration import choose_calibrator
from models.splits import rolling_folds as _rolling_folds
from models.splits import time_split as _time_split
from models.training import TrainConfig


def _months(n: int, start: date = date(2024, 1, 1)) -> list[date]:
    out, d = [], start
    for _ in range(n):
        out.append(d)
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def test_rolling_blocks_purge_a_full_horizon_before_each_block():
    dates = _months(20)
    config = TrainConfig(horizon_days=90, test_months=3, calib_months=2, validation_blocks=3)
    split = _time_split(dates, config)
    gap = timedelta(days=90)
    assert split.test == dates[-3:]
    assert all(d + gap <= split.test[0] for d in split.fit)
    assert len(split.folds) == 3
    for train_dates, val_dates in split.folds:
        assert len(val_dates) == 2
        assert all(d + gap <= val_dates[0] for d in train_dates)  # no training label sees the block
        assert set(val_dates) <= set(split.fit)
    blocks = [v for _, v in split.folds]
    assert blocks == sorted(blocks) and blocks[-1][-1] == split.fit[-1]  # oldest first, the last ends the window


def test_backtest_cutoffs_shift_the_test_slice_back():
    dates = _months(20)
    config = TrainConfig(test_months=3, calib_months=2)
    later, earlier = _time_split(dates, config), _time_split(dates, config, shift=2)
    assert earlier.test == dates[-5:-2] and earlier.fit[-1] < later.fit[-1]


def test_too_little_history_gives_no_split():
    assert _time_split(_months(6), TrainConfig(test_months=3, calib_months=2)) is None
    assert _rolling_folds(_months(3), timedelta(days=90), 3, 2) == []


@pytest.mark.parametrize("isotonic_wins", [False, True])
def test_platt_is_kept_unless_isotonic_is_clearly_better(isotonic_wins):
    import numpy as np

    rng = np.random.default_rng(0)
    scores = rng.normal(size=4000)
    if isotonic_wins:  # a step-shaped truth a logistic curve cannot follow
        p = np.where(scores > 1.0, 0.6, 0.02)
    else:  # a logistic truth: Platt is right, isotonic only adds noise
        p = 1 / (1 + np.exp(-(scores * 1.2 - 3)))
    y = (rng.random(len(scores)) < p).astype(int)
    cal, report = choose_calibrator(scores, y)
    assert set(report) == {"platt", "isotonic"}
    assert cal.method == ("isotonic" if isotonic_wins else "platt")
