"""Today: what a CSM should act on now, from the operational store and the viewer's scored book.

Five lists, each scoped to the :class:`~data.access.Viewer` (a CSM sees their book only;
managers and admins see every account):

* **tasks**: open playbook tasks that are overdue or due today (snoozed ones wake up
  when their snooze passes), oldest due first;
* **renewals**: active annual contracts renewing within ``renewal_days`` of the data's
  as-of date (the Accounts page's ``renewal_date``), soonest first;
* **risk rising**: accounts whose p(churn) rose by at least ``min_rise`` since the
  previous scoring run (the Accounts page's ``p_churn_change``), largest rise first;
* **alerts**: the user's unread in-app alerts, newest first;
* **untouched**: active accounts nobody has touched for ``untouched_days`` or more
  (never touched first, then by ARR), where a *touch* is the latest of: a note, a logged
  activity, a completed task, or a playbook run started by a person (rule runs do not count).

The account frame passed in is the viewer's scored overview, the one the Accounts page
lists (:func:`scored_book` builds it outside Streamlit), so the renewal date, the latest
scores and the risk change are defined once. Task and touch times are wall-clock UTC
(:func:`data.opstore.now`); renewal windows count from the data's as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from data import queries
from data.access import Viewer
from data.activities import activities
from data.opstore import notes, now
from models.scoring import latest_scores
from playbooks.alerts import alerts_for
from playbooks.store import playbooks as playbooks_table
from playbooks.store import runs, tasks

RENEWAL_DAYS = 30
UNTOUCHED_DAYS = 30
MIN_RISK_RISE = 0.01  # one percentage point

TASK_COLUMNS = ["id", "title", "account_id", "account_name", "playbook", "assignee", "due_at", "status",
                "snoozed_until", "completed_at", "completed_by", "effective_status", "overdue", "days_overdue"]
TOUCH_COLUMNS = ["account_id", "last_touch_at", "last_touch_kind"]


def scored_book(con, viewer: Viewer) -> pd.DataFrame:
    """The viewer's accounts with their latest scores: the Accounts page's source frame, outside Streamlit."""
    overview = queries.account_overview(con, viewer)
    scores = latest_scores(con)
    cols = ["account_id", "p_churn", "risk_band", "p_churn_change", "top_driver"]
    if scores.empty:
        return overview.assign(**{c: pd.NA for c in cols[1:]})
    return overview.merge(scores[cols], on="account_id", how="left")


# ------------------------------------------------------------------ tasks
def book_tasks(engine: sa.Engine, viewer: Viewer, account_ids: list[str] | None = None, *,
               status: tuple[str, ...] = ("open", "snoozed"), at: datetime | None = None) -> pd.DataFrame:
    """Playbook tasks of the viewer's book (every task for managers and admins), soonest due first.

    A CSM gets the tasks on ``account_ids`` (their book) and those assigned to them by name.
    Adds ``effective_status`` (a snooze that has passed reads ``open``), ``overdue`` and
    ``days_overdue`` (whole days past the due date, 0 when not overdue). Columns: :data:`TASK_COLUMNS`.
    """
    at = at or now()
    q = (sa.select(tasks.c.id, tasks.c.title, tasks.c.account_id, runs.c.account_name,
                   playbooks_table.c.name.label("playbook"), tasks.c.assignee, tasks.c.due_at, tasks.c.status,
                   tasks.c.snoozed_until, tasks.c.completed_at, tasks.c.completed_by)
         .join(runs, runs.c.id == tasks.c.run_id)
         .join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
         .order_by(tasks.c.due_at, tasks.c.id))
    if status:
        q = q.where(tasks.c.status.in_(list(status)))
    if not viewer.sees_all_accounts:
        names = [n for n in (viewer.username, viewer.csm) if n]
        mine = tasks.c.assignee.in_(names)
        q = q.where(sa.or_(mine, tasks.c.account_id.in_(list(account_ids or []))) if account_ids else mine)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=TASK_COLUMNS[:11])
    snoozing = (df["status"] == "snoozed") & df["snoozed_until"].notna() & (df["snoozed_until"] > at)
    df["effective_status"] = df["status"].where(df["status"] != "snoozed", "open").where(~snoozing, "snoozed")
    df["overdue"] = (df["effective_status"] == "open") & (df["due_at"] < at)
    late = (at - pd.to_datetime(df["due_at"])).dt.days.clip(lower=0) if len(df) else pd.Series(dtype="int64")
    df["days_overdue"] = late.where(df["overdue"], 0).astype("int64")
    return df


def due_today(task_frame: pd.DataFrame, at: datetime | None = None) -> pd.DataFrame:
    """The open tasks that are overdue or due before the end of today (UTC), oldest due first."""
    at = at or now()
    end_of_day = datetime.combine(at.date() + timedelta(days=1), datetime.min.time())
    shown = task_frame[(task_frame["effective_status"] == "open") & (task_frame["due_at"] < end_of_day)]
    return shown.sort_values(["due_at", "id"]).reset_index(drop=True)


ACCOUNT_FACTS = ["arr", "p_churn", "risk_band", "renewal_date"]


def with_account_facts(task_frame: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Tasks plus their account's ARR, latest p(churn) and band, and renewal date (from the viewer's book).

    Tasks on accounts outside ``accounts`` keep empty facts (a CSM's task on an account moved to
    another book shows no figures of that book).
    """
    facts = accounts.drop_duplicates("account_id").set_index("account_id").reindex(
        columns=ACCOUNT_FACTS).reindex(task_frame["account_id"])
    return pd.concat([task_frame.reset_index(drop=True), facts.reset_index(drop=True)], axis=1)


# ------------------------------------------------------------------ touches
def last_touches(engine: sa.Engine, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Per account, the latest touch by a person and what it was (note, activity, task, playbook).

    Columns: :data:`TOUCH_COLUMNS`; accounts never touched are absent.
    """
    sources = [
        ("note", sa.select(notes.c.account_id, sa.func.max(notes.c.created_at).label("at"))
         .group_by(notes.c.account_id)),
        ("activity", sa.select(activities.c.account_id, sa.func.max(activities.c.occurred_on).label("at"))
         .group_by(activities.c.account_id)),
        ("task", sa.select(tasks.c.account_id, sa.func.max(tasks.c.completed_at).label("at"))
         .where(tasks.c.status == "done").group_by(tasks.c.account_id)),
        ("playbook", sa.select(runs.c.account_id, sa.func.max(runs.c.started_at).label("at"))
         .where(runs.c.trigger_type == "manual").group_by(runs.c.account_id)),
    ]
    frames = []
    with engine.connect() as conn:
        for kind, q in sources:
            rows = conn.execute(q).all()
            if rows:
                frames.append(pd.DataFrame(rows, columns=["account_id", "last_touch_at"]).assign(last_touch_kind=kind))
    if not frames:
        return pd.DataFrame(columns=TOUCH_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    df["last_touch_at"] = pd.to_datetime(df["last_touch_at"])
    if account_ids is not None:
        df = df[df["account_id"].isin(list(account_ids))]
    df = df.sort_values("last_touch_at", ascending=False).drop_duplicates("account_id")
    return df[TOUCH_COLUMNS].reset_index(drop=True)


def touch_marker(engine: sa.Engine) -> tuple:
    """A few aggregates that change whenever :func:`last_touches` could: a note, activity, completed or
    reopened task, or manual playbook start added, changed or removed. Cheap (one row per table), so a
    page can cache the touches under it and still count a note logged a moment ago at once."""
    queries_ = [
        sa.select(sa.func.count(), sa.func.max(notes.c.id), sa.func.max(notes.c.created_at)),
        sa.select(sa.func.count(), sa.func.max(activities.c.id), sa.func.max(activities.c.occurred_on),
                  sa.func.sum(activities.c.id)),
        sa.select(sa.func.count(), sa.func.max(tasks.c.completed_at), sa.func.sum(tasks.c.id))
        .where(tasks.c.status == "done"),
        sa.select(sa.func.count(), sa.func.max(runs.c.id)).where(runs.c.trigger_type == "manual"),
    ]
    with engine.connect() as conn:
        return tuple(tuple(str(v) for v in conn.execute(q).one()) for q in queries_)


def with_days_since_touch(accounts: pd.DataFrame, touches: pd.DataFrame, at: datetime | None = None) -> pd.DataFrame:
    """``accounts`` plus ``last_touch_at``, ``last_touch_kind`` and ``days_since_touch`` (None = never)."""
    at = at or now()
    out = accounts.merge(touches, on="account_id", how="left")
    days = (pd.Timestamp(at).normalize() - pd.to_datetime(out["last_touch_at"]).dt.normalize()).dt.days
    out["days_since_touch"] = days.astype("Int64")
    return out


# ------------------------------------------------------------------ the page
@dataclass(frozen=True)
class TodayLists:
    """What the Today page lists for one viewer (see the module docstring for each list)."""

    at: datetime
    as_of: date
    tasks: pd.DataFrame
    renewals: pd.DataFrame
    risk_rising: pd.DataFrame
    alerts: pd.DataFrame
    untouched: pd.DataFrame
    has_scores: bool

    @property
    def overdue(self) -> int:
        return int(self.tasks["overdue"].sum()) if len(self.tasks) else 0


def today_lists(engine: sa.Engine, viewer: Viewer, accounts: pd.DataFrame, as_of: date, *,
                renewal_days: int = RENEWAL_DAYS, untouched_days: int = UNTOUCHED_DAYS,
                min_rise: float = MIN_RISK_RISE, at: datetime | None = None, warehouse=None) -> TodayLists:
    """The five Today lists for ``viewer``; ``accounts`` is the viewer's scored book (see :func:`scored_book`)."""
    at = at or now()
    ids = accounts["account_id"].tolist()
    task_frame = with_account_facts(due_today(book_tasks(engine, viewer, ids, at=at), at), accounts)

    active = accounts[accounts["status"] == "active"]
    renew = pd.to_datetime(active["renewal_date"])
    start = pd.Timestamp(as_of)
    soon = active[(active["billing_period"] == "annual") & (renew >= start)
                  & (renew <= start + pd.Timedelta(days=renewal_days))]
    soon = soon.assign(days_to_renewal=(pd.to_datetime(soon["renewal_date"]) - start).dt.days)
    soon = soon.sort_values(["renewal_date", "arr"], ascending=[True, False]).reset_index(drop=True)

    has_scores = bool(pd.to_numeric(accounts.get("p_churn"), errors="coerce").notna().any())
    change = pd.to_numeric(active["p_churn_change"], errors="coerce")
    rising = active[change >= min_rise].assign(p_churn_prev=lambda d: d["p_churn"] - d["p_churn_change"])
    rising = rising.sort_values(["p_churn_change", "arr"], ascending=False).reset_index(drop=True)

    unread = alerts_for(engine, viewer, warehouse=warehouse, unread_only=True, limit=500)

    touched = with_days_since_touch(active, last_touches(engine, ids), at)
    stale = touched[touched["days_since_touch"].isna() | (touched["days_since_touch"] >= untouched_days)]
    stale = stale.assign(never=stale["days_since_touch"].isna())
    stale = stale.sort_values(["never", "days_since_touch", "arr"], ascending=[False, False, False],
                              na_position="first").drop(columns="never").reset_index(drop=True)
    return TodayLists(at=at, as_of=as_of, tasks=task_frame, renewals=soon, risk_rising=rising, alerts=unread,
                      untouched=stale, has_scores=has_scores)
