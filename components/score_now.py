"""The "Score now" action: admins and data scientists score every active account from the app.

It calls the same function as the scheduled scoring job (:func:`models.scoring.score_workspace`),
shows its progress, and says when the scores were made and when the next scheduled run is
(``CSAI_SCORE_SCHEDULE``, :mod:`data.schedule`). Other roles only read those times.
"""

from __future__ import annotations

import streamlit as st

from components import cached_today
from components import formatting as fmt
from components.session import settings, workspace
from data.errors import UserError
from data.opstore import now
from data.readmodel import RULE_SCORE_NAME
from data.users import User

SCORE_ROLES = ("admin", "data_scientist")


def can_score(user: User) -> bool:
    return bool(set(SCORE_ROLES).intersection(user.roles))


NO_SCHEDULE = ("no scoring schedule set: scores are refreshed when an admin or data scientist uses "
               "**Score now** on the Model lab")


def schedule_note(scored=None, at=None) -> str:
    """When the next scheduled scoring run is ("next scheduled run 8 Dec 2026 06:00 UTC, every day at 06:00 UTC"),
    with the scheduled run that has not happened when one was missed, or :data:`NO_SCHEDULE`.

    ``scored`` is the latest scoring run (default: read it); ``at`` the wall-clock UTC time (default: now).
    """
    schedule = settings().score_schedule
    if schedule is None:
        return NO_SCHEDULE
    at = at or now()
    scored = scored if scored is not None else cached_today.last_scored_at()
    note = f"next scheduled run {fmt.moment(schedule.next_run(at))} ({schedule.describe()})"
    missed = schedule.missed_run(scored, at)
    if missed is not None:
        note = f"the scheduled run of {fmt.moment(missed)} has not happened yet; {note}"
    return note


def score_times() -> str:
    """"scores made 7 Dec 2026 09:34 UTC · next scheduled run …" (lower case, to follow a page's subtitle)."""
    scored = cached_today.last_scored_at()
    made = f"scores made {fmt.moment(scored)}" if scored is not None else "no scores yet"
    return f"{made} · {schedule_note(scored)}"


def scored_caption() -> str:
    """"Scores made 7 Dec 2026 09:34 UTC · next scheduled run …", or that there are none yet and who makes them."""
    scored = cached_today.last_scored_at()
    if scored is None:
        return ("No scores yet: an admin or data scientist can make them with **Score now** on the Model lab · "
                + schedule_note(scored) + ".")
    return f"Scores made {fmt.moment(scored)} · {schedule_note(scored)}."


def score_now_button(user: User, key: str = "score_now") -> None:
    """A "Score now" button (admins and data scientists only) that scores with a progress bar."""
    flash = st.session_state.pop(f"{key}_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if not can_score(user):
        return
    if not st.button("Score now", key=key, icon=":material/bolt:",
                     help="Score every active account with the production models (what the scheduled job does); "
                          "without one, with the rule health score."):
        return
    from models.scoring import score_workspace  # deferred: import time (scoring loads on the button's press)

    ws = workspace()
    bar = st.progress(0.05, text="Loading the production models…")
    steps = iter([(0.6, "Scoring accounts and explaining each score…"), (0.9, "Saving the scores…")])

    def say(message: str) -> None:
        value, text = next(steps, (0.95, message.strip()))
        bar.progress(value, text=text)

    bar.progress(0.2, text="Computing every active account's metrics…")
    try:
        run = score_workspace(ws, say=say)
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.progress(1.0, text="Done.")
    if run.by_rules:
        st.session_state[f"{key}_flash"] = (
            f"Scored {fmt.plural(run.accounts, 'account')} at {fmt.moment(run.scored_at)} with the "
            f"{RULE_SCORE_NAME.lower()}: there is no production churn model yet (train and promote one on the "
            "Model lab, and it takes over at the next scoring).")
    else:
        st.session_state[f"{key}_flash"] = (
            f"Scored {fmt.plural(run.accounts, 'account')} at {fmt.moment(run.scored_at)}: expected ARR loss "
            f"{fmt.money(run.expected_arr_loss)}.")
    st.rerun()
