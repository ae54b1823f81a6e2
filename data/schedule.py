"""The scoring schedule: when the scheduled job re-scores the workspace (``CSAI_SCORE_SCHEDULE``).

The setting names scoring times in UTC, in words an admin can read back:

* ``daily 06:00`` - every day at 06:00 UTC;
* ``weekdays 06:00`` - Monday to Friday;
* ``mon 06:00`` or ``mon,thu 06:00`` - on those days of the week;
* empty or ``off`` - no schedule (scores change only when someone scores).

The schedule does not run anything by itself: the machine's cron (or any timer) runs
``cli.py score --if-due`` often, say every 15 minutes, and that command scores only when a
scheduled time has passed since the latest scoring run. Pages read the same schedule to say
when the next run is, and whether a scheduled run was missed. All times are naive UTC, like
:func:`data.opstore.now` and the scoring runs' ``scored_at``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from data.errors import UserError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EVERY_DAY = tuple(range(7))
WEEKDAYS = tuple(range(5))
OFF = {"", "off", "none", "no"}
# a scheduled run counts as missed when no scoring started this long after its time
MISSED_AFTER = timedelta(hours=2)
EXAMPLE = "daily 06:00, weekdays 06:00 or mon,thu 06:00 (times in UTC), or off"

_PATTERN = re.compile(r"^\s*([a-z,\s]+?)\s+(\d{1,2}):(\d{2})\s*(?:utc)?\s*$")


@dataclass(frozen=True)
class ScoreSchedule:
    """Scoring times: ``days`` of the week (0 = Monday) at ``at`` (UTC)."""

    days: tuple[int, ...]
    at: time

    def describe(self) -> str:
        """In words: "every day at 06:00 UTC", "Monday to Friday at 06:00 UTC", "Monday and Thursday at …"."""
        clock = f"{self.at:%H:%M} UTC"
        if self.days == EVERY_DAY:
            return f"every day at {clock}"
        if self.days == WEEKDAYS:
            return f"Monday to Friday at {clock}"
        names = [DAY_WORDS[d] for d in self.days]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"every {listed} at {clock}"

    def _times(self, around: datetime, step: int):
        day = around.date()
        for offset in range(9):
            when = datetime.combine(day + timedelta(days=step * offset), self.at)
            if when.weekday() in self.days:
                yield when

    def next_run(self, after: datetime) -> datetime:
        """The first scheduled time strictly after ``after``."""
        return next(t for t in self._times(after, 1) if t > after)

    def last_run(self, at: datetime) -> datetime:
        """The latest scheduled time at or before ``at``."""
        return next(t for t in self._times(at, -1) if t <= at)

    def is_due(self, last_scored: datetime | None, at: datetime) -> bool:
        """True when a scheduled time has passed since ``last_scored`` (always before the first scoring)."""
        return last_scored is None or last_scored < self.last_run(at)

    def missed_run(self, last_scored: datetime | None, at: datetime) -> datetime | None:
        """The latest scheduled time at least :data:`MISSED_AFTER` ago with no scoring run since, or None."""
        due = self.last_run(at - MISSED_AFTER)
        return due if last_scored is None or last_scored < due else None


def parse_schedule(raw: str | None) -> ScoreSchedule | None:
    """``CSAI_SCORE_SCHEDULE``'s value as a :class:`ScoreSchedule` (None when empty or ``off``).

    Raises :class:`UserError` naming the accepted forms for anything else.
    """
    text = (raw or "").strip().lower()
    if text in OFF:
        return None
    bad = UserError(f"CSAI_SCORE_SCHEDULE={raw!r} is not a schedule; use {EXAMPLE}.")
    match = _PATTERN.match(text)
    if not match:
        raise bad
    words, hour, minute = match.group(1), int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise bad
    if words == "daily":
        days = EVERY_DAY
    elif words == "weekdays":
        days = WEEKDAYS
    else:
        names = [w.strip() for w in words.split(",")]
        if not names or any(n not in DAY_NAMES for n in names):
            raise bad
        days = tuple(sorted({DAY_NAMES.index(n) for n in names}))
    return ScoreSchedule(days=days, at=time(hour, minute))
