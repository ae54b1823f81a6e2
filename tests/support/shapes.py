"""Generated datasets in the shapes real teams bring, with foreign column names (docs/architecture.md section 3).

Each builder writes CSV files (and mapping YAML where dates need a format) into a folder and
returns a :class:`Shape` that says how to import it with ``cli.py``. Seeded and small (150-300
accounts), so a session builds each once in a few seconds. Churn follows a planted cause (low
or falling usage, support pain) so a model has something to learn.

* :func:`event_log` -- integer ids, subscriptions and a usage log that end two years ago; no
  names, no CSM, no tickets, NPS, invoices or contacts; timestamps as ``31/12/2023 14:05``.
* :func:`short_log` -- the same over five months: too short a history to train on yet.
* :func:`flat_table` -- one row per customer with a ``Churn`` Yes/No label and numeric
  attributes (tenure, tickets, logins, payment failures, NPS, contract), string ids.
* :func:`activity_log` -- accounts (cp1252-encoded names with accents, CSM for some) and
  events, no billing data; dates as ``03/31/2025`` and ISO ``2025-03-31T09:30:00``.
* :func:`two_month_log`, :func:`short_activity_log` -- two months of either: the rule health score's shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


@dataclass
class Shape:
    """A generated dataset: its name, its files, and the ``cli.py import`` argument lists that load it."""

    name: str
    folder: Path
    imports: list[list[str]]
    end: date
    accounts: int
    ids: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def _write_mapping(path: Path, table: str, columns: dict, formats: dict | None = None, extra: list | None = None,
                   values: dict | None = None) -> Path:
    doc = {"table": table, "columns": columns}
    if formats:
        doc["formats"] = formats
    if extra:
        doc["extra"] = extra
    if values:
        doc["values"] = values
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def event_log(folder: Path, n: int = 200, seed: int = 11, start: date = date(2023, 7, 1),
              name: str = "event_log") -> Shape:
    """Subscriptions and usage events from ``start`` to 2024-09-30 (15 months by default; a later start
    gives a short history); integer ids, nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    end = date(2024, 9, 30)
    span = (end - start).days
    ids = np.arange(1001, 1001 + n)
    engagement = rng.uniform(0, 1, n)
    subs, events = [], []
    for i, cid in enumerate(ids):
        began = start + timedelta(days=int(rng.integers(0, min(200, span // 2))))
        churns = rng.uniform() < 0.55 * (1 - engagement[i]) + 0.05
        stop = began + timedelta(days=int(rng.integers(120, 400))) if churns else None
        if stop is not None and stop >= end - timedelta(days=5):
            stop = None
        subs.append({"customer": int(cid), "product": "Platform", "started": began.isoformat(),
                     "ended": stop.isoformat() if stop else "", "monthly_fee": round(float(rng.uniform(50, 900)), 2),
                     "licenses": int(rng.integers(2, 40))})
        last = stop or end
        day = began
        while day < last:
            left = (last - day).days
            decline = min(1.0, left / 90) if stop else 1.0
            rate = (0.5 + 6 * engagement[i]) * decline
            for action in ("login", "export", "report"):
                k = rng.poisson(rate * (1.0 if action == "login" else 0.4))
                if k:
                    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=int(rng.integers(8, 18)))
                    events.append({"cust": int(cid), "ts": at.strftime("%d/%m/%Y %H:%M"), "action": action, "n": int(k)})
            day += timedelta(days=7)
    pd.DataFrame({"customer": ids, "country": rng.choice(["DE", "US", "FR", "BR"], n)}).to_csv(
        folder / "customers.csv", index=False)
    pd.DataFrame(subs).to_csv(folder / "billing.csv", index=False)
    pd.DataFrame(events).to_csv(folder / "usage.csv", index=False)
    ev_map = _write_mapping(folder / "usage.yaml", "events",
                            {"cust": "account_id", "ts": "event_time", "action": "event_type", "n": "quantity"},
                            formats={"event_time": "%d/%m/%Y %H:%M"})
    imports = [
        ["import", "accounts", str(folder / "customers.csv"), "--map", "customer=account_id", "--map", "country=region"],
        ["import", "subscriptions", str(folder / "billing.csv"), "--map", "customer=account_id",
         "--map", "started=start_date", "--map", "ended=end_date", "--map", "monthly_fee=mrr",
         "--map", "licenses=seats", "--map", "product=product"],
        ["import", "events", str(folder / "usage.csv"), "--mapping", str(ev_map)],
    ]
    return Shape(name, folder, imports, end, n, [str(i) for i in ids])


def short_log(folder: Path, n: int = 150, seed: int = 14) -> Shape:
    """:func:`event_log` over five months only (May to September 2024): too short to train on yet."""
    return event_log(folder, n=n, seed=seed, start=date(2024, 5, 1), name="short_log")


def flat_table(folder: Path, n: int = 250, seed: int = 12) -> Shape:
    """One row per customer: string ids, a Yes/No ``Churn`` label and numeric attributes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = [f"CUST-{i:04d}" for i in range(1, n + 1)]
    tenure = rng.integers(1, 72, n)
    tickets = rng.poisson(2, n)
    logins = rng.poisson(20, n)
    failures = rng.poisson(0.3, n)
    nps = rng.integers(0, 11, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.5, 0.3, 0.2])
    logit = (-0.5 - 0.04 * tenure + 0.35 * tickets - 0.06 * logins + 0.8 * failures - 0.15 * (nps - 5)
             + np.where(contract == "Month-to-month", 1.2, 0.0))
    churn = rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))
    pd.DataFrame({
        "CustomerID": ids, "Churn": np.where(churn, "Yes", "No"), "tenure_months": tenure,
        "monthly_charges": np.round(rng.uniform(20, 120, n), 2), "contract": contract,
        "support_tickets": tickets, "logins_last_30d": logins, "payment_failures": failures,
        "nps_score": nps, "country": rng.choice(["US", "UK", "IN"], n),
    }).to_csv(folder / "customers.csv", index=False)
    imports = [["import", "flat", str(folder / "customers.csv"), "--id", "CustomerID", "--label", "Churn"]]
    return Shape("flat_table", folder, imports, date.today(), n, ids)


def activity_log(folder: Path, n: int = 180, seed: int = 13, start: date = date(2025, 1, 1),
                 name: str = "activity_log") -> Shape:
    """Accounts (cp1252, accented names, some without a CSM) and events from ``start`` to 2025-10-31 (10 months
    by default; a later start gives a short history), no billing data."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    end = date(2025, 10, 31)
    span = (end - start).days
    ids = [f"ac-{i:03d}" for i in range(1, n + 1)]
    stems = ["Müller", "Société Générale", "Ørsted", "Crème", "Nuñez", "Façade", "Zürich", "Åkesson"]
    names = {a: f"{stems[i % len(stems)]} {i}" for i, a in enumerate(ids)}
    owners = ["Ana Lima", "Bo Chen", ""]
    accounts = pd.DataFrame({
        "acct_code": ids, "company": [names[a] for a in ids],
        "owner": [owners[i % 3] for i in range(n)],
        "signup": [(start - timedelta(days=int(d))).strftime("%m/%d/%Y") for d in rng.integers(10, 400, n)],
        "employees": rng.integers(5, 500, n),
    })
    accounts.to_csv(folder / "accounts.csv", index=False, encoding="cp1252")
    events = []
    engagement = rng.uniform(0, 1, n)
    quiet_after = (60, 230) if span >= 300 else (span // 4, span * 3 // 4)  # when quiet accounts stop
    for i, a in enumerate(ids):
        quiet = rng.uniform() < 0.5 * (1 - engagement[i])
        stop = start + timedelta(days=int(rng.integers(*quiet_after))) if quiet else end
        day = start
        while day <= stop:
            k = rng.poisson(0.5 + 4 * engagement[i])
            for _ in range(min(k, 3)):
                at = datetime.combine(day, datetime.min.time()) + timedelta(hours=int(rng.integers(7, 19)))
                events.append({"acct_code": a, "when": at.isoformat(), "what": rng.choice(["login", "upload", "share"])})
            day += timedelta(days=5)
    events.append({"acct_code": ids[0], "when": f"{end.isoformat()}T12:00:00", "what": "login"})  # the data's last day
    pd.DataFrame(events).to_csv(folder / "activity.csv", index=False)
    acc_map = _write_mapping(folder / "accounts.yaml", "accounts",
                             {"acct_code": "account_id", "company": "name", "owner": "csm", "signup": "created_at"},
                             formats={"created_at": "%m/%d/%Y"}, extra=["employees"])
    imports = [
        ["import", "accounts", str(folder / "accounts.csv"), "--mapping", str(acc_map), "--encoding", "cp1252"],
        ["import", "events", str(folder / "activity.csv"), "--map", "acct_code=account_id", "--map", "when=event_time",
         "--map", "what=event_type"],
    ]
    return Shape(name, folder, imports, end, n, ids, names)


def two_month_log(folder: Path, n: int = 80, seed: int = 15) -> Shape:
    """:func:`event_log` over two months only (August and September 2024): far too short to train on."""
    return event_log(folder, n=n, seed=seed, start=date(2024, 8, 1), name="two_month_log")


def short_activity_log(folder: Path, n: int = 80, seed: int = 16) -> Shape:
    """:func:`activity_log` over two months only (September and October 2025), no billing data."""
    return activity_log(folder, n=n, seed=seed, start=date(2025, 9, 1), name="short_activity_log")
