"""Time-ordered splits of observation dates: the test slice, the purge before it, rolling validation blocks.

Shared by :mod:`models.history` (does the history allow a monthly split?) and
:mod:`models.split_choice` (which split to train on). A label at observation date ``d`` is known
only ``lead + horizon + gap`` days later, so every date used to fit a model lies at least
that *purge* before the dates it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol


class SplitSettings(Protocol):
    """What a split reads from a training configuration (:class:`models.training.TrainConfig` has it)."""

    test_months: int
    calib_months: int
    validation_blocks: int
    horizon_days: int
    lead_days: int
    gap_days: int


@dataclass(frozen=True)
class _Sizes:
    test_months: int
    calib_months: int
    validation_blocks: int
    horizon_days: int
    lead_days: int = 0
    gap_days: int = 0


@dataclass
class TimeSplit:
    """Observation dates of one time-ordered evaluation.

    ``fit`` holds every date whose label window closes before the first test date; the
    rolling-origin ``folds`` are (training dates, validation dates) pairs inside it, each
    validation block later than its training dates by a full horizon. ``short``: the
    history left no room for that purge; the rows are then split by account as well
    (:func:`models.split_choice.short_split`) and ``purge_days`` is the purge that was possible."""

    fit: list[date]
    folds: list[tuple[list[date], list[date]]]
    test: list[date]
    short: bool = False
    purge_days: int | None = None


def purge_gap(config: SplitSettings) -> timedelta:
    """The purge: a training label needs its lead, horizon and renewal gap before the block it precedes."""
    return timedelta(days=config.horizon_days + config.lead_days + config.gap_days)


def rolling_folds(dates: list[date], gap: timedelta, blocks: int, block_months: int) -> list:
    """Up to ``blocks`` validation blocks of ``block_months`` dates at the end of ``dates``, oldest
    first, each with the dates whose label window closes before the block starts as its training set."""
    folds = []
    for b in range(blocks):
        stop = len(dates) - b * block_months
        val = dates[max(0, stop - block_months):stop]
        train_dates = [d for d in dates if d + gap <= val[0]] if val else []
        if len(train_dates) < 2:
            break
        folds.append((train_dates, val))
    return folds[::-1]


def time_split(dates: list[date], config: SplitSettings, shift: int = 0, blocks: int | None = None) -> TimeSplit | None:
    """The split ending ``shift`` dates before the last one, or ``None`` when the dates leave no room for it."""
    end_idx = len(dates) - shift
    test_dates = dates[max(0, end_idx - config.test_months):end_idx]
    if not test_dates:
        return None
    gap = purge_gap(config)
    # Rows whose label (and its renewal gap) would see the test months are purged, and so are training
    # rows whose labels would see a validation block: otherwise model choice rewards memorising accounts.
    eligible = [d for d in dates if d + gap <= test_dates[0]]
    folds = rolling_folds(eligible, gap, config.validation_blocks if blocks is None else blocks,
                          config.calib_months)
    if not folds:
        return None
    return TimeSplit(fit=eligible, folds=folds, test=test_dates, purge_days=gap.days)


def monthly_split_fits(label_days: int):
    """Whether monthly labelled dates allow the smallest time split with a full purge of ``label_days``
    (two test months, one validation block of two months, two months to fit on before it)."""
    smallest = _Sizes(test_months=2, calib_months=2, validation_blocks=1, horizon_days=label_days)
    return lambda dates: time_split(sorted(dates), smallest) is not None
