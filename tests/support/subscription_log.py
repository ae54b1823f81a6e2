"""A generated event log with billing periods, shaped like real exports rather than the sample company.

Every billing period is its own subscription row with an end date (monthly or annual), the
log ends in the middle of the accounts' periods, and nothing but accounts, subscriptions and
daily ``login`` / ``report`` aggregates exists (no tickets, NPS, invoices or contacts).
Accounts signed up before the events start (usage tracking began later than billing).

Churn is planted: an account whose usage starts to decline has a high monthly hazard; a
churned account's last period ends on its scheduled date and is never renewed. ``ends``
says how the export writes the period that is running at the data's end:

* ``"scheduled"``: its scheduled end date, after the data's end (the log ends mid-period);
* ``"truncated"``: the data's end (the shape that was read as 94 % churn).

The truth is returned too: ``churn_date`` per account (NaT when it did not churn by the end).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def _add_months(d: date, k: int) -> date:
    m = d.month - 1 + k
    y = d.year + m // 12
    m = m % 12 + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def make_log(*, n: int = 300, start: date = date(2023, 1, 1), end: date = date(2023, 12, 20),
             billing: str = "monthly", ends: str = "scheduled", seed: int = 0,
             base_hazard: float = 0.03, decline_hazard: float = 0.45) -> dict[str, pd.DataFrame]:
    """Tables ``accounts``, ``subscriptions``, ``events`` and the truth ``churn`` (account_id, churn_date)."""
    rng = np.random.default_rng(seed)
    months = 12 if billing == "annual" else 1
    accounts, subs, events, truth = [], [], [], []
    days = (end - start).days + 1
    for i in range(n):
        aid = f"C{i:05d}"
        signup = start - timedelta(days=int(rng.integers(30, 400)))
        if rng.random() < 0.25:  # some sign up while usage is tracked
            signup = start + timedelta(days=int(rng.integers(0, max(1, days - 60))))
        accounts.append((aid, f"Customer {i}", str(rng.choice(["SMB", "MID", "ENT"])), signup))
        level = float(rng.uniform(2, 8))
        decline_at = start + timedelta(days=int(rng.integers(-60, days + 200)))
        mrr = float(rng.choice([50, 200, 900]))
        churn = None
        k = 0
        while True:
            p_start = _add_months(signup, k * months)
            p_end = _add_months(signup, (k + 1) * months) - timedelta(days=1)  # inclusive end
            if p_start > end:
                break
            declining = p_end > decline_at + timedelta(days=20)
            monthly = decline_hazard if declining else base_hazard
            hazard = 1 - (1 - monthly) ** months
            if p_end <= end and rng.random() < hazard:
                churn = p_end
            recorded_end = p_end if (p_end < end or ends == "scheduled") else end
            subs.append((aid, "core", p_start, recorded_end, mrr, int(rng.integers(3, 40)), billing, None))
            if churn is not None:
                break
            k += 1
        truth.append((aid, pd.Timestamp(churn) if churn else pd.NaT))
        last = min(end, churn) if churn else end
        first = max(start, signup)
        for d in range((first - start).days, (last - start).days + 1):
            day = start + timedelta(days=d)
            q = rng.poisson(level * (0.2 if day > decline_at else 1.0) * (0.4 if day.weekday() >= 5 else 1.0))
            if q:
                events.append((aid, pd.Timestamp(day), "login", float(q), None))
            r = rng.poisson(0.5 * level * (0.2 if day > decline_at else 1.0))
            if r:
                events.append((aid, pd.Timestamp(day), "report", float(r), None))
    return {
        "accounts": pd.DataFrame(accounts, columns=["account_id", "name", "segment", "created_at"]),
        "subscriptions": pd.DataFrame(subs, columns=["account_id", "product", "start_date", "end_date", "mrr",
                                                     "seats", "billing_period", "renewal_date"]),
        "events": pd.DataFrame(events, columns=["account_id", "event_time", "event_type", "quantity", "user_id"]),
        "churn": pd.DataFrame(truth, columns=["account_id", "churn_date"]),
    }


def write_log(warehouse, tables: dict[str, pd.DataFrame]) -> None:
    """Write the log's tables (not the truth) into a fresh raw snapshot, with no stored end date:
    the data's end is read from the data itself."""
    with warehouse.writer("raw", fresh=True) as con:
        for name, df in tables.items():
            if name == "churn":
                continue
            con.register("_df", df)
            cols = ", ".join(df.columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _df")  # noqa: S608 - test tables
            con.unregister("_df")
