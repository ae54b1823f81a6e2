"""The pandas reference of the benchmark recomputes the product's metrics, value for value."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from bench import reference_pandas
from data.metrics import STATIC_METRICS, compute_metrics
from data.sample import generate_sample
from data.schema import CANONICAL_TABLES, ensure_raw_schema
from models.observations import active_rows, observation_dates

SCENARIOS = ("edge_rows", "named_users", "repeated_logins")


def _sample(scenario: str) -> dict[str, pd.DataFrame]:
    """A small sample company, changed per scenario.

    ``edge_rows``: rows on the boundaries of the as-of rules (midnight of an observation
    date, closed before opened, paid on the due day, left before joining, fractional
    quantities, a new event type). ``named_users``: a third of the events carry named users
    (several per day). ``repeated_logins``: some days have two anonymous login rows.
    """
    tables = generate_sample(n_accounts=60, seed=3, end=date(2025, 6, 30), event_fraction=0.3)
    events = tables["events"].copy()
    events["user_id"] = events["user_id"].astype(object)
    events["event_type"] = events["event_type"].astype(object)
    rng = np.random.default_rng(0)
    if scenario == "named_users":
        named = rng.random(len(events)) < 0.33
        events.loc[named, "user_id"] = [f"u{k}" for k in rng.integers(0, 6, int(named.sum()))]
        again = events[named].sample(frac=0.5, random_state=1).assign(
            user_id=lambda f: [f"u{k}" for k in rng.integers(0, 6, len(f))])
        events = pd.concat([events, again], ignore_index=True)
    elif scenario == "repeated_logins":
        logins = events[events["event_type"] == "login"]
        events = pd.concat([events, logins.sample(frac=0.2, random_state=2)], ignore_index=True)
    else:
        accounts = tables["accounts"]["account_id"].astype(str).tolist()[:12]
        midnight = pd.Timestamp("2025-03-01")  # an observation date
        events = pd.concat([events, pd.DataFrame({
            "account_id": accounts, "event_time": [midnight - pd.Timedelta(days=k) for k in range(12)],
            "event_type": ["Webhook Fired", "core_action"] * 6, "quantity": np.linspace(0.25, 3.5, 12),
            "user_id": None})], ignore_index=True)
        tickets = tables["tickets"].copy()
        tickets.loc[:5, "opened_at"] = midnight
        tickets.loc[:2, "closed_at"] = midnight + pd.Timedelta(days=30)
        tickets.loc[6:8, "closed_at"] = tickets.loc[6:8, "opened_at"] - pd.Timedelta(hours=5)  # closed before opened
        tickets.loc[9:11, "closed_at"] = pd.Timestamp("2025-04-01")
        invoices = tables["invoices"].copy()
        invoices.loc[:4, "paid_at"] = invoices.loc[:4, "due_at"]
        invoices.loc[5:9, "due_at"] = invoices.loc[5:9, "issued_at"] - pd.Timedelta(days=3)  # due before issue
        invoices.loc[10:14, ["due_at", "status"]] = [pd.NaT, "failed"]
        invoices.loc[15:19, "paid_at"] = invoices.loc[15:19, "due_at"] + pd.Timedelta(days=200)
        contacts = tables["contacts"].copy()
        contacts.loc[:4, "active_to"] = contacts.loc[:4, "active_from"] - pd.Timedelta(days=10)  # left before joining
        contacts.loc[5:9, "active_from"] = pd.NaT
        contacts.loc[10:14, ["role", "active_to"]] = ["Champion", midnight]
        subscriptions = tables["subscriptions"].copy()
        subscriptions.loc[:5, "seats"] = None
        subscriptions.loc[6:9, ["billing_period", "renewal_date"]] = ["ANNUAL", pd.NaT]
        tables.update(tickets=tickets, invoices=invoices, contacts=contacts, subscriptions=subscriptions)
    tables["events"] = events
    return tables


@pytest.fixture(scope="module", params=SCENARIOS)
def con(request):
    tables = _sample(request.param)
    c = duckdb.connect()
    ensure_raw_schema(c)
    for table, columns in CANONICAL_TABLES.items():
        c.register("_t", tables[table])
        names = ", ".join(name for name, _, _ in columns)
        c.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _t")  # noqa: S608 - schema names
        c.unregister("_t")
    yield c
    c.close()


def test_reference_equals_product_on_every_raw_table_metric(con):
    rows = active_rows(con, observation_dates(con))
    product = compute_metrics(con, rows)
    result = reference_pandas.run(con, rows, product.frame)
    assert result["mismatches"] == {}
    assert result["identical"] and result["values_compared"] > 0
    assert {m.name for m in STATIC_METRICS} <= set(result["columns"])
    event_columns = [c for c in product.numeric if c.startswith("ev_")]
    assert event_columns and set(event_columns) <= set(result["columns"])
    assert set(result["not_covered"]) <= set(product.numeric) - {m.name for m in STATIC_METRICS}
    assert not any(c.startswith("ev_") for c in result["not_covered"])
    assert (product.frame["active_users_30d"] > 0).any()


def test_reference_sees_a_changed_value(con):
    rows = active_rows(con, observation_dates(con))
    frame = compute_metrics(con, rows).frame.copy()
    frame.loc[frame.index[5], "tickets_90d"] += 1
    result = reference_pandas.run(con, rows, frame)
    assert result["mismatches"] == {"tickets_90d": 1} and not result["identical"]
