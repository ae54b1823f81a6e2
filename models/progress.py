"""Progress of a training run as data: ``Progress(stage, fraction, message)`` events.

Training (:func:`models.training.train`) and the pipeline around it
(:func:`models.pipeline.train_and_register`) pass one event per step to their ``say``
callback. A progress bar reads ``fraction``; a log prints ``message`` (``str(event)`` is the
message, so a callback that prints what it gets keeps working). Rewording a message never
moves the bar: the fraction comes from :data:`STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: The stages of one training run in order, each with the share of the run done when it ends.
STAGES: dict[str, float] = {
    "observations": 0.2,   # observation rows (one per account and observation date) built
    "eligibility": 0.3,    # columns that may carry the outcome left out, leakage checked
    "split": 0.35,         # time-ordered split chosen, attributes screened
    "model_choice": 0.6,   # candidates validated on rolling blocks, one chosen
    "evaluation": 0.9,     # test slice, calibration, backtest
    "registering": 0.97,   # artifact and lab data written, registry row added
    "done": 1.0,
}


@dataclass(frozen=True)
class Progress:
    """One step of a training run: its ``stage`` (a key of :data:`STAGES`), the share of the whole
    run done (0 to 1) and a sentence for the log."""

    stage: str
    fraction: float
    message: str

    def __str__(self) -> str:
        return self.message


def progress(stage: str, message: str, *, within: float = 1.0) -> Progress:
    """The event for ``stage``, ``within`` (0 to 1) of the way through it."""
    names = list(STAGES)
    start = STAGES[names[names.index(stage) - 1]] if names.index(stage) else 0.0
    share = min(max(within, 0.0), 1.0)
    return Progress(stage, round(start + share * (STAGES[stage] - start), 4), message)


Say = Callable[[Progress], None]


def fraction_of(events) -> float:
    """How far a run is, from the events so far (plain text lines count for nothing)."""
    return max((e.fraction for e in events if isinstance(e, Progress)), default=0.0)
