"""Outcomes: did a playbook change churn or expansion? Treated vs holdout runs, with 95 % intervals.

Only rule-triggered runs are compared (their holdout was drawn at random; manual runs
are counted but are not a fair comparison). A run counts once its horizon (the
playbook's ``horizon_days``, default 90) has passed by the data's as-of date, and only
if the account was a customer when the run started. From the raw ``subscriptions``:

* **churned**: the account's last subscription ended within (start, start + horizon]
  and no subscription is open or starts later;
* **expanded**: the account's MRR went up (more seats, add-on, price) on a day within
  (start, start + horizon] while it already paid something.

The difference treated − holdout gets a Newcombe (hybrid Wilson score) 95 % interval,
the ratio treated ÷ holdout a log (Katz) interval. Fewer than :data:`MIN_PER_ARM` runs in
either group gives a plain "not enough data yet" statement instead of a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa

from data.intervals import Z95, wilson_interval
from data.readmodel import as_of_date
from playbooks.context import _has_table
from playbooks.definitions import list_playbooks
from playbooks.store import runs

MIN_PER_ARM = 30


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 − p2 and its Newcombe hybrid score interval (Newcombe 1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def risk_ratio(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 ÷ p2 with a log-normal (Katz) interval; adds 0.5 to every cell when an arm has no events."""
    if x1 == 0 or x2 == 0:
        x1, n1, x2, n2 = x1 + 0.5, n1 + 1, x2 + 0.5, n2 + 1
    rr = (x1 / n1) / (x2 / n2)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se)


@dataclass
class ArmComparison:
    """One outcome (churn or expansion) in treated vs holdout runs."""

    metric: str
    treated_n: int
    treated_events: int
    holdout_n: int
    holdout_events: int
    enough_data: bool
    statement: str
    treated_rate: float | None = None
    holdout_rate: float | None = None
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None


@dataclass
class PlaybookOutcome:
    """Treated vs holdout outcomes of one playbook over its horizon."""

    playbook_id: int
    playbook: str
    horizon_days: int
    as_of: date | None
    runs_total: int
    manual_runs: int
    rule_runs: int
    pending_runs: int
    not_customer_at_start: int
    churn: ArmComparison
    expansion: ArmComparison
    statement: str
    notes: list[str] = field(default_factory=list)


def compare_arms(metric: str, treated_events: int, treated_n: int, holdout_events: int, holdout_n: int, *,
                 horizon_days: int, min_per_arm: int = MIN_PER_ARM, pending: int = 0) -> ArmComparison:
    """Rates, difference with its 95 % interval, ratio, and a sentence a manager can read."""
    cmp = ArmComparison(metric=metric, treated_n=treated_n, treated_events=treated_events, holdout_n=holdout_n,
                        holdout_events=holdout_events, enough_data=False, statement="")
    word = "churn" if metric == "churn" else "expansion"
    if treated_n:
        cmp.treated_rate = treated_events / treated_n
    if holdout_n:
        cmp.holdout_rate = holdout_events / holdout_n
    if treated_n and holdout_n:
        cmp.difference, cmp.ci_low, cmp.ci_high = newcombe_difference(treated_events, treated_n, holdout_events,
                                                                     holdout_n)
        cmp.ratio, cmp.ratio_low, cmp.ratio_high = risk_ratio(treated_events, treated_n, holdout_events, holdout_n)
    if treated_n + holdout_n == 0:
        later = f" {pending} runs are still inside their {horizon_days}-day horizon." if pending else ""
        cmp.statement = f"No runs have reached the {horizon_days}-day horizon yet.{later}"
        return cmp
    if holdout_n == 0:
        cmp.statement = ("No holdout runs, so the effect cannot be measured: give the rule a holdout percentage "
                         "above 0.")
        return cmp
    if treated_n < min_per_arm or holdout_n < min_per_arm:
        later = f" {pending} more runs are still inside their horizon." if pending else ""
        cmp.statement = (f"Not enough data yet: {treated_n} treated and {holdout_n} holdout runs have reached the "
                         f"{horizon_days}-day horizon; at least {min_per_arm} in each group are needed.{later}")
        return cmp
    cmp.enough_data = True
    pts = f"{100 * cmp.difference:+.1f} points (95 % CI {100 * cmp.ci_low:+.1f} to {100 * cmp.ci_high:+.1f})"
    base = (f"{word.capitalize()} within {horizon_days} days: {100 * cmp.treated_rate:.1f} % of treated vs "
            f"{100 * cmp.holdout_rate:.1f} % of holdout accounts, a difference of {pts}.")
    if cmp.ci_high < 0:
        verdict = f" The playbook lowered {word}."
    elif cmp.ci_low > 0:
        verdict = f" The playbook raised {word}."
    else:
        verdict = " The interval includes zero, so there is no clear effect yet."
    cmp.statement = base + verdict
    return cmp


def _run_outcomes(warehouse, frame: pd.DataFrame) -> pd.DataFrame:
    """Per run: customer_at_start, churned, expanded (the runs frame needs run_id, account_id, start, horizon_days)."""
    with warehouse.reader() as con:
        con.register("pb_runs", frame[["run_id", "account_id", "start", "horizon_days"]])
        out = con.execute(
            """
            WITH acct AS (
                SELECT account_id, min(start_date) AS first_start,
                       CASE WHEN bool_or(end_date IS NULL) THEN NULL ELSE max(end_date) END AS churn_date
                FROM subscriptions GROUP BY account_id
            ), deltas AS (
                SELECT account_id, d, sum(delta) AS delta FROM (
                    SELECT account_id, start_date AS d, mrr AS delta FROM subscriptions
                    UNION ALL
                    SELECT account_id, end_date AS d, -mrr AS delta FROM subscriptions WHERE end_date IS NOT NULL
                ) GROUP BY account_id, d
            ), expansions AS (
                SELECT account_id, d FROM (
                    SELECT account_id, d, delta,
                           sum(delta) OVER (PARTITION BY account_id ORDER BY d) - delta AS mrr_before
                    FROM deltas
                ) WHERE delta > 0.005 AND mrr_before > 0.005
            ), r AS (
                SELECT run_id, account_id, CAST(start AS DATE) AS start,
                       CAST(start AS DATE) + CAST(horizon_days AS INTEGER) AS horizon_end
                FROM pb_runs
            )
            SELECT r.run_id,
                   coalesce(a.first_start <= r.start AND (a.churn_date IS NULL OR a.churn_date > r.start), FALSE)
                       AS customer_at_start,
                   coalesce(a.churn_date > r.start AND a.churn_date <= r.horizon_end, FALSE) AS churned,
                   EXISTS (SELECT 1 FROM expansions e WHERE e.account_id = r.account_id
                           AND e.d > r.start AND e.d <= r.horizon_end) AS expanded
            FROM r LEFT JOIN acct a USING (account_id)
            """
        ).df()
    return out


def playbook_outcomes(engine: sa.Engine, warehouse, *, playbook_id: int | None = None, as_of: date | None = None,
                      min_per_arm: int = MIN_PER_ARM) -> list[PlaybookOutcome]:
    """Outcomes of every playbook (or one), treated vs holdout, as of the data's last day."""
    pbs = [p for p in list_playbooks(engine, include_inactive=True) if playbook_id is None or p.id == playbook_id]
    q = sa.select(runs.c.id.label("run_id"), runs.c.playbook_id, runs.c.account_id, runs.c.started_at,
                  runs.c.holdout, runs.c.trigger_type).where(runs.c.status != "cancelled")
    if playbook_id is not None:
        q = q.where(runs.c.playbook_id == playbook_id)
    with engine.connect() as conn:
        all_runs = pd.DataFrame(conn.execute(q).mappings().all(),
                                columns=["run_id", "playbook_id", "account_id", "started_at", "holdout", "trigger_type"])
    with warehouse.reader() as con:
        has_subs = _has_table(con, "subscriptions")
        as_of = as_of or as_of_date(con)
    horizon = {p.id: p.horizon_days for p in pbs}
    all_runs["horizon_days"] = all_runs["playbook_id"].map(horizon).fillna(90).astype(int)
    all_runs["start"] = pd.to_datetime(all_runs["started_at"]).dt.normalize()
    rule = all_runs[all_runs["trigger_type"] == "rule"].copy()
    rule["elapsed"] = rule["start"] + pd.to_timedelta(rule["horizon_days"], unit="D") <= pd.Timestamp(as_of)
    measured = rule[rule["elapsed"]]
    if has_subs and not measured.empty:
        measured = measured.merge(_run_outcomes(warehouse, measured), on="run_id", how="left")
    else:
        measured = measured.assign(customer_at_start=False, churned=False, expanded=False)
    out = []
    for pb in pbs:
        mine = all_runs[all_runs["playbook_id"] == pb.id]
        r = rule[rule["playbook_id"] == pb.id]
        m = measured[measured["playbook_id"] == pb.id]
        gone = int((~m["customer_at_start"].astype(bool)).sum())
        m = m[m["customer_at_start"].astype(bool)]
        t, h = m[~m["holdout"].astype(bool)], m[m["holdout"].astype(bool)]
        pending = int((~r["elapsed"]).sum())
        churn = compare_arms("churn", int(t["churned"].sum()), len(t), int(h["churned"].sum()), len(h),
                             horizon_days=pb.horizon_days, min_per_arm=min_per_arm, pending=pending)
        expansion = compare_arms("expansion", int(t["expanded"].sum()), len(t), int(h["expanded"].sum()), len(h),
                                 horizon_days=pb.horizon_days, min_per_arm=min_per_arm, pending=pending)
        notes = []
        manual = int((mine["trigger_type"] == "manual").sum())
        if manual:
            notes.append(f"{manual} manual run{'' if manual == 1 else 's'} {'is' if manual == 1 else 'are'} not compared: "
                         "only rule runs have a random holdout.")
        if gone:
            notes.append(f"{gone} runs started after the account had already left and are not counted.")
        primary = expansion if pb.key == "expansion" or "min_p_expansion" in (pb.rule or {}) else churn
        out.append(PlaybookOutcome(
            playbook_id=pb.id, playbook=pb.name, horizon_days=pb.horizon_days, as_of=as_of, runs_total=len(mine),
            manual_runs=manual, rule_runs=len(r), pending_runs=pending, not_customer_at_start=gone, churn=churn,
            expansion=expansion, statement=primary.statement, notes=notes,
        ))
    return out


def outcomes_frame(outcomes: list[PlaybookOutcome]) -> pd.DataFrame:
    """One row per playbook and metric, for tables, charts and CSV export."""
    rows = []
    for o in outcomes:
        for cmp in (o.churn, o.expansion):
            rows.append({
                "playbook_id": o.playbook_id, "playbook": o.playbook, "metric": cmp.metric,
                "horizon_days": o.horizon_days, "treated_n": cmp.treated_n, "treated_events": cmp.treated_events,
                "treated_rate": cmp.treated_rate, "holdout_n": cmp.holdout_n, "holdout_events": cmp.holdout_events,
                "holdout_rate": cmp.holdout_rate, "difference": cmp.difference, "ci_low": cmp.ci_low,
                "ci_high": cmp.ci_high, "ratio": cmp.ratio, "ratio_low": cmp.ratio_low, "ratio_high": cmp.ratio_high,
                "enough_data": cmp.enough_data, "pending_runs": o.pending_runs, "statement": cmp.statement,
            })
    return pd.DataFrame(rows)

