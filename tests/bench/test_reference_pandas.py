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


@pytest.fixture(scope="module")
def con():
    """A small sample company; a third of its events carry named users (several per day)."""
    tables = generate_sample(n_accounts=60, seed=3, end=date(2025, 6, 30), event_fraction=0.3)
    events = tables["events"].copy()
    events["user_id"] = events["user_id"].astype(object)
    rng = np.random.default_rng(0)
    named = rng.random(len(events)) < 0.33
    events.loc[named, "user_id"] = [f"u{k}" for k in rng.integers(0, 6, int(named.sum()))]
    again = events[named].sample(frac=0.5, random_state=1).assign(
        user_id=lambda f: [f"u{k}" for k in rng.integers(0, 6, len(f))])
    tables["events"] = pd.concat([events, again], ignore_index=True)
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
    active = product.frame["active_users_30d"]
    assert (active > 0).any()  # the named-user path is exercised


def test_reference_sees_a_changed_value(con):
    rows = active_rows(con, observation_dates(con))
    frame = compute_metrics(con, rows).frame.copy()
    frame.loc[frame.index[5], "tickets_90d"] += 1
    result = reference_pandas.run(con, rows, frame)
    assert result["mismatches"] == {"tickets_90d": 1} and not result["identical"]
