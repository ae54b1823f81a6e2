"""Which time-ordered split training uses, and the rows of each of its parts.

:func:`choose_split` takes the configured split, else the smallest one with a full purge, else
for a short history :func:`short_split`, which holds out accounts as well as dates.
:func:`split_rows` draws each part's rows (sampling whole accounts beyond ``max_train_rows``)
and refuses with a plain message when a part lacks churned or retained accounts;
:func:`can_train_on` runs the same checks on labels alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data.errors import UserError
from models.history import MIN_LABELLED_WEEKS, RULE_SCORE_MEANWHILE, WEEKLY
from models.progress import progress
from models.splits import TimeSplit, purge_gap, time_split
from models.train_config import TrainConfig


def sized_config(config: TrainConfig, n_dates: int, cadence: str) -> TrainConfig:
    """``config`` with its test slice, validation blocks and backtest steps counted in the dates
    of ``cadence``: weekly dates size them to the history (a quarter of the dates at most for the
    test slice, an eighth per validation block), never longer than the monthly settings."""
    if cadence != WEEKLY:
        return config
    weeks = 4  # weekly dates per month
    return replace(config, test_months=max(1, min(weeks * config.test_months, n_dates // 4)),
                   calib_months=max(1, min(weeks * config.calib_months, n_dates // 8)),
                   backtest_step_months=max(1, min(weeks * config.backtest_step_months, n_dates // 8)))


def choose_split(dates: list[date], config: TrainConfig) -> TimeSplit | None:
    """The configured time split; else the smallest one with a full purge (two test dates, one
    validation block); else, for a short history, :func:`short_split`."""
    smallest = replace(config, test_months=min(config.test_months, 2), validation_blocks=1)
    return time_split(dates, config) or time_split(dates, smallest) or short_split(dates, config)


SHORT_TEST_SHARE = 0.3  # accounts held out for the test slice when the history is short
SHORT_VALIDATION_SHARE = 0.2  # accounts held out for the validation block


def short_split(dates: list[date], config: TrainConfig) -> TimeSplit | None:
    """A split for histories too short for a full purge (at least :data:`MIN_LABELLED_WEEKS` dates).

    The test slice is the latest dates (a quarter, at least one); the purge before it is the
    full ``horizon + lead + gap`` when the earlier dates allow it, else shrunk in 7-day steps
    until two dates remain to fit on. Training then also leaves out the test slice's accounts
    (and the validation block's accounts for model choice), so no account's outcome is both
    learned and tested on even where label windows overlap.
    """
    if len(dates) < MIN_LABELLED_WEEKS:
        return None
    k = max(1, len(dates) // 4)
    test, earlier = dates[-k:], dates[:-k]
    for days in range(purge_gap(config).days, -1, -7):
        eligible = [d for d in earlier if d + timedelta(days=days) <= test[0]]
        if len(eligible) >= 2:
            break
    else:
        return None
    # one validation block: the latest fit date(s); its training dates before it, the same purge
    n_val = max(1, len(eligible) // 3)
    val = eligible[-n_val:]
    train_dates = [d for d in eligible if d + timedelta(days=days) <= val[0]] or [d for d in eligible if d < val[0]]
    if not train_dates:
        return None
    return TimeSplit(fit=eligible, folds=[(train_dates, val)], test=test, short=True, purge_days=days)



def split_rows(labelled: pd.DataFrame, dates: list[date], split: TimeSplit, label: str, config: TrainConfig, say):
    """The rows of each part of ``split`` (short histories also hold accounts out), refusing with a plain message
    when a part lacks churned or retained accounts: (split, fit rows, test rows, validation folds, train_rows,
    rows). Needs only ``account_id``, ``obs_date`` and the label, so :func:`can_train_on` reads labels alone."""
    od = labelled["obs_date"]
    accounts = np.sort(labelled["account_id"].astype(str).unique())
    account_draw = pd.Series(np.random.default_rng(config.seed).random(len(accounts)), index=accounts)
    row_draw = account_draw.reindex(labelled["account_id"].astype(str)).to_numpy()
    # Short histories hold accounts out as well as dates (a separate draw: row sampling uses the first).
    holdout_draw = pd.Series(np.random.default_rng([config.seed, 1]).random(len(accounts)), index=accounts)
    row_group = np.digitize(holdout_draw.reindex(labelled["account_id"].astype(str)).to_numpy(),
                            [SHORT_TEST_SHARE, SHORT_TEST_SHARE + SHORT_VALIDATION_SHARE])  # 0 test, 1 val, 2 train

    def part_mask(part: str | None) -> np.ndarray | bool:
        if not split.short or part is None:
            return True
        return {"test": row_group == 0, "fit": row_group != 0, "val": row_group == 1, "train": row_group == 2}[part]

    def rows(ds: list[date], part: str | None = None) -> pd.DataFrame:
        return labelled[od.isin(ds).to_numpy() & part_mask(part)]

    def train_rows(ds: list[date], part: str | None = None) -> pd.DataFrame:
        """Rows of ``ds`` to fit on: beyond ``max_train_rows``, the rows of a random share of accounts."""
        mask = od.isin(ds).to_numpy() & part_mask(part)
        n = int(mask.sum())
        if config.max_train_rows and n > config.max_train_rows:
            mask = mask & (row_draw < config.max_train_rows / n)
        return labelled[mask]

    fit_rows, test = train_rows(split.fit, "fit"), rows(split.test, "test")
    for name, part in (("training", fit_rows), ("validation", rows(split.folds[-1][1], "val")), ("test", test)):
        if part[label].nunique() < 2:
            raise UserError(f"The {name} slice has no {'churned' if config.target == 'churn' else 'expanding'} "
                            "accounts; there is not enough history to train this target yet (no churn is known "
                            "early enough in the data). " + RULE_SCORE_MEANWHILE)
    # Choose: every candidate is fitted on each rolling block's earlier dates and scored on the block.
    folds = [(train_rows(t, "train"), rows(v, "val")) for t, v in split.folds]
    folds = [(t, v) for t, v in folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if not folds and not split.short:
        # Early dates of a young log may hold no churn yet, so no rolling block can choose a model:
        # hold accounts out as well as dates, as for a short history, rather than fit on nothing.
        fallback = short_split(dates, config)
        if fallback is not None:
            say(progress("split", "  no rolling validation block has churned and retained accounts on both "
                         f"sides; testing on {SHORT_TEST_SHARE:.0%} of accounts held out from training instead"))
            split = fallback
            fit_rows, test = train_rows(split.fit, "fit"), rows(split.test, "test")
            folds = [(train_rows(t, "train"), rows(v, "val")) for t, v in split.folds]
            folds = [(t, v) for t, v in folds if t[label].nunique() == 2 and v[label].nunique() == 2]
    if not folds or test[label].nunique() < 2:
        raise UserError("No validation block has both churned and retained accounts, so no model can be chosen "
                        "honestly yet: import more history (or more accounts). " + RULE_SCORE_MEANWHILE)
    return split, fit_rows, test, folds, train_rows, rows


def can_train_on(labelled: pd.DataFrame, config: TrainConfig, cadence: str) -> bool:
    """Whether :func:`train` finds a time-ordered split with churned and retained accounts in every part, on
    labelled rows (account_id, obs_date, label_churn) alone: the Data page's and ``cli.py import``'s verdict."""
    dates = sorted(labelled["obs_date"].unique())
    if cadence == WEEKLY and len(dates) < MIN_LABELLED_WEEKS:
        return False
    config = sized_config(config, len(dates), cadence)
    split = choose_split(dates, config)
    if split is None:
        return False
    try:
        split_rows(labelled, dates, split, "label_churn", config, lambda _m: None)
    except UserError:
        return False
    return True
