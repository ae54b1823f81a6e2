"""What to train and how to validate it: :class:`TrainConfig`, and the error its checks raise."""

from __future__ import annotations

from dataclasses import dataclass

from data.errors import UserError
from data.vocabulary import TARGETS
from models import uncertainty
from models.history import CADENCES

ALGORITHM_CHOICES = ("logreg", "gbm", "auto")


@dataclass
class TrainConfig:
    """What to train and how to validate it."""

    target: str = "churn"
    algorithm: str = "auto"
    horizon_days: int = 90
    lead_days: int = 0
    gap_days: int = 30  # renewal gap tolerance: a lapse this short is no churn (labels are censored by it too)
    cadence: str = "auto"  # observation dates: auto, monthly, weekly (models.history)
    test_months: int = 3
    calib_months: int = 2  # months per rolling validation block
    validation_blocks: int = 3  # rolling-origin blocks that choose the candidate and fit the calibrator
    max_train_rows: int | None = 200_000  # larger training sets are sampled by whole accounts (time mode)
    backtest_cutoffs: int = 3
    backtest_step_months: int = 2
    cv_folds: int = 5
    inner_folds: int = 3
    seed: int = 0
    num_threads: int = 1  # LightGBM threads; idle-spinning OpenMP threads slow busy 2-core machines
    leakage_check: bool = True
    allow_label_outliers: bool = False  # train although one date's positive rate is far from the others'
    keep_columns: tuple[str, ...] = ()  # account attributes to use although label-like or custom (opt-in)
    backtest_blocks: int = 2  # rolling validation blocks per backtest cut-off (its own model choice)
    bootstrap_draws: int = uncertainty.DEFAULT_DRAWS  # account-clustered resamples for the intervals

    def validate(self) -> None:
        """Raise :class:`TrainConfigError` (worded for people, naming the setting) for a value out of range."""
        if self.target not in TARGETS:
            raise TrainConfigError("target", f"The target must be one of {', '.join(TARGETS)}.")
        if self.algorithm not in ALGORITHM_CHOICES:
            raise TrainConfigError("algorithm", f"The algorithm must be one of {', '.join(ALGORITHM_CHOICES)}.")
        if not 7 <= self.horizon_days <= 730:
            raise TrainConfigError("horizon_days", "The horizon must be between 7 and 730 days.")
        if not 0 <= self.lead_days <= 365:
            raise TrainConfigError("lead_days", "The lead time must be between 0 and 365 days.")
        if not 0 <= self.gap_days <= 365:
            raise TrainConfigError("gap_days", "The billing gap that still counts as a renewal must be between "
                                               "0 and 365 days.")
        if self.cadence not in CADENCES:
            raise TrainConfigError("cadence", f"The cadence must be one of {', '.join(CADENCES)}.")


class TrainConfigError(UserError):
    """A training setting out of range. ``setting`` is the :class:`TrainConfig` field, so a caller
    can point at its own control for it (the CLI names its flag, the Model lab its form field)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting
