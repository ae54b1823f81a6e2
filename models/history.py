"""How much history a workspace has, and how observation dates are laid over it.

A churn label needs the whole label window *and* the renewal gap tolerance after it inside
the data (``obs + lead + horizon + gap <= data end``, see ``data/sql/labels.sql``), so the
last ``lead + horizon + gap`` days of history give features but no labels, and the first
``warmup`` days give labels but thin features.

* **Monthly** observation dates (first of each month, 90-day warm-up) when the labelled
  months allow the standard time-ordered split (test months, purge, rolling validation
  blocks, see :mod:`models.training`).
* **Weekly** dates otherwise (a short history, e.g. 3 to 6 months of events): a 14-day
  warm-up, dates every 7 days ending at the last date whose label is known, plus the
  unlabelled weeks after it up to the day after the data's end. Training then sizes its
  validation to the history (:func:`models.split_choice.short_split`).

Below :data:`MIN_LABELLED_WEEKS` labelled weekly dates there is nothing honest to train
on; :func:`too_short_message` says how many more weeks of data are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from data.metrics import monthly_dates
from models.splits import monthly_split_fits

MONTHLY = "monthly"
WEEKLY = "weekly"
CADENCES = ("auto", MONTHLY, WEEKLY)
MONTHLY_WARMUP_DAYS = 90
WEEKLY_WARMUP_DAYS = 14
MIN_LABELLED_WEEKS = 3  # one test date and two earlier dates to fit and validate on


@dataclass(frozen=True)
class Schedule:
    """Observation dates over a history, and which of them can carry a known label."""

    cadence: str
    dates: list[date]
    first_day: date
    data_end: date
    warmup_days: int
    label_days: int  # lead + horizon + gap: the days after a date its label needs
    labelled_dates: list[date] = field(default_factory=list)

    @property
    def history_days(self) -> int:
        return (self.data_end - self.first_day).days + 1


def last_labelled_date(data_end: date, label_days: int) -> date:
    """The latest observation date whose label window and gap end inside the data."""
    return data_end - timedelta(days=label_days)


def monthly_schedule(first_day: date, data_end: date, label_days: int,
                     warmup_days: int = MONTHLY_WARMUP_DAYS) -> Schedule:
    dates = monthly_dates(first_day + timedelta(days=warmup_days), data_end + timedelta(days=1))
    last = last_labelled_date(data_end, label_days)
    return Schedule(MONTHLY, dates, first_day, data_end, warmup_days, label_days, [d for d in dates if d <= last])


def weekly_schedule(first_day: date, data_end: date, label_days: int,
                    warmup_days: int = WEEKLY_WARMUP_DAYS) -> Schedule:
    """Every 7 days, anchored on the last labelled date, from ``first_day + warmup_days`` to the
    day after the data's end (the unlabelled weeks at the end are the ones scoring resembles)."""
    start = first_day + timedelta(days=warmup_days)
    anchor = last_labelled_date(data_end, label_days)
    stop = data_end + timedelta(days=1)
    if anchor < start:  # no labelled date at all: weeks from the warm-up on
        anchor = start
    back = (anchor - start).days // 7
    dates = [anchor - timedelta(days=7 * k) for k in range(back, 0, -1)]
    d = anchor
    while d <= stop:
        dates.append(d)
        d += timedelta(days=7)
    last = last_labelled_date(data_end, label_days)
    return Schedule(WEEKLY, dates, first_day, data_end, warmup_days, label_days, [d for d in dates if d <= last])


def plan_schedule(first_day: date, data_end: date, *, label_days: int, cadence: str = "auto",
                  monthly_fits=None) -> Schedule:
    """The observation schedule for a history from ``first_day`` to ``data_end``.

    ``cadence="auto"``: monthly when ``monthly_fits(labelled_dates)`` (the training split can
    use them), else weekly. ``monthly_fits`` defaults to the standard time split of
    :mod:`models.splits`.
    """
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {CADENCES}")
    if cadence == WEEKLY:
        return weekly_schedule(first_day, data_end, label_days)
    monthly = monthly_schedule(first_day, data_end, label_days)
    if cadence == MONTHLY:
        return monthly
    if monthly_fits is None:
        monthly_fits = monthly_split_fits(label_days)
    if monthly_fits(monthly.labelled_dates):
        return monthly
    return weekly_schedule(first_day, data_end, label_days)


def weeks_needed(label_days: int) -> int:
    """Weeks of history (first event to data end) that give :data:`MIN_LABELLED_WEEKS` labelled weekly dates."""
    days = WEEKLY_WARMUP_DAYS + 7 * (MIN_LABELLED_WEEKS - 1) + label_days + 1
    return math.ceil(days / 7)


def history_supports(first_day: date, data_end: date, label_days: int) -> bool:
    """The trainer's rule: a history from ``first_day`` to ``data_end`` can train a model when its weekly
    schedule has :data:`MIN_LABELLED_WEEKS` labelled dates (a monthly one needs more). Training itself
    (:func:`models.training.train`) refuses below it; the Data page and ``cli.py import`` read it too.
    ``label_days`` = lead + horizon + the renewal gap (billing data) or the inactivity window (no billing
    data: a churn is known only once an account has been inactive that long inside the data)."""
    return len(weekly_schedule(first_day, data_end, label_days).labelled_dates) >= MIN_LABELLED_WEEKS


def more_weeks_needed(first_day: date, data_end: date, label_days: int) -> int:
    """Weeks of data to add before :func:`history_supports` holds (at least 1 when it does not)."""
    have = ((data_end - first_day).days + 1) / 7
    return max(1, math.ceil(weeks_needed(label_days) - have))


RULE_SCORE_MEANWHILE = ("Meanwhile the rule health score works without a model: `cli.py score` scores every active "
                        "account with it (Portfolio, Accounts, Account and Today show it, labelled as such; "
                        "`cli.py health-score` lists it).")


def too_short_message(schedule: Schedule, *, horizon_days: int, lead_days: int, gap_days: int,
                      gap_name: str = "renewal gap") -> str:
    """What a person reads when the history is below the minimum: how much more data is needed.
    ``gap_name``: what the days after the horizon are for (the renewal gap; without billing data, the
    inactivity window that makes a churn known)."""
    have = schedule.history_days / 7
    need = weeks_needed(schedule.label_days)
    more = more_weeks_needed(schedule.first_day, schedule.data_end, schedule.label_days)
    lead = f", the {lead_days}-day lead time" if lead_days else ""
    gap = f" and the {gap_days}-day {gap_name}" if gap_days else ""
    return (f"Not enough history to train a {horizon_days}-day model: the data covers {have:.0f} weeks "
            f"({schedule.first_day} to {schedule.data_end}) and a model needs about {need} weeks "
            f"(a {WEEKLY_WARMUP_DAYS}-day warm-up, {MIN_LABELLED_WEEKS} weekly observation dates, then the "
            f"{horizon_days}-day horizon{lead}{gap}, which must all lie inside the data). "
            f"Import about {more} more weeks of data, or train with a shorter --horizon-days. " + RULE_SCORE_MEANWHILE)


DEFAULT_GAP_DAYS = 30  # models.training.TrainConfig's renewal gap (billing data)
