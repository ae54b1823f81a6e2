"""A tiny synthetic company with one planted churn cause (usage decline), for fast model tests.

Independent of ``data.sample`` so the model tests stay small and quick: ``n`` accounts
over ``months`` months, daily ``login``/``core_action`` aggregates, monthly invoices, and
churn whose monthly hazard rises sharply once an account's usage starts to decline.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def make_company(n: int = 150, months: int = 15, seed: int = 0, end: date = date(2026, 3, 31)) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = months * 30
    start = end - timedelta(days=days - 1)
    accounts, subs, events, invoices = [], [], [], []
    segments = np.array(["SMB", "MID", "ENT"])
    for i in range(n):
        aid = f"S{i:04d}"
        created = start + timedelta(days=int(rng.integers(0, 60)))
        seg = segments[rng.integers(0, 3)]
        accounts.append((aid, f"Company {i}", seg, "Software", "EU", "pro", "csm1", created,
                         int(rng.integers(5, 500)), str(rng.choice(["web", "partner", "event"]))))
        base = float(rng.uniform(2, 8))
        decline_at = int(rng.integers(60, days + 200))
        churn_day = None
        for m in range((created - start).days // 30 + 1, months):
            t = m * 30
            declining = t > decline_at + 20
            hazard = 0.25 if declining else 0.01
            if rng.random() < hazard:
                churn_day = t + int(rng.integers(0, 30))
                break
        last = min(days - 1, churn_day) if churn_day is not None else days - 1
        end_date = start + timedelta(days=churn_day) if churn_day is not None and churn_day < days else None
        mrr = float(rng.choice([100, 500, 2000]))
        subs.append((aid, "core", created, end_date, mrr, int(rng.integers(5, 50)), "monthly", None))
        for d in range((created - start).days, last + 1):
            level = base * (0.25 if d > decline_at else 1.0)
            day = start + timedelta(days=d)
            q = rng.poisson(level)
            if q:
                events.append((aid, pd.Timestamp(day), "login", float(q), None))
            q2 = rng.poisson(2 * level)
            if q2:
                events.append((aid, pd.Timestamp(day), "core_action", float(q2), None))
        for d in range((created - start).days, last + 1, 30):
            issued = start + timedelta(days=d)
            status = "failed" if rng.random() < 0.03 else "paid"
            paid = issued + timedelta(days=5) if status == "paid" else None
            invoices.append((f"{aid}-{d}", aid, issued, issued + timedelta(days=14), paid, mrr, status))
    tables = {
        "accounts": pd.DataFrame(accounts, columns=["account_id", "name", "segment", "industry", "region", "plan",
                                                    "csm", "created_at", "employee_count", "lead_source"]),
        "subscriptions": pd.DataFrame(subs, columns=["account_id", "product", "start_date", "end_date", "mrr", "seats",
                                                     "billing_period", "renewal_date"]),
        "events": pd.DataFrame(events, columns=["account_id", "event_time", "event_type", "quantity", "user_id"]),
        "invoices": pd.DataFrame(invoices, columns=["invoice_id", "account_id", "issued_at", "due_at", "paid_at",
                                                    "amount", "status"]),
    }
    return tables


def write_company(warehouse, tables: dict[str, pd.DataFrame], end: date = date(2026, 3, 31)) -> None:
    """Write ``tables`` into a fresh raw snapshot of ``warehouse``."""
    with warehouse.writer("raw", fresh=True) as con:
        for name, df in tables.items():
            con.register("_df", df)
            if name == "accounts":
                con.execute("DROP TABLE accounts")
                con.execute("CREATE TABLE accounts AS SELECT * FROM _df")
            else:
                cols = ", ".join(df.columns)
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _df")
            con.unregister("_df")
        con.execute("INSERT INTO workspace_meta VALUES ('end', ?)", [end.isoformat()])
