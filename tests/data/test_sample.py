"""The sample company: deterministic, schema-true, realistic, with a recoverable true hazard."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from data.sample import CSM_NAMES, PLAYBOOK_EFFECTS, generate_sample, write_sample
from data.schema import CANONICAL_TABLES, EXTRA_TABLES, PRIMARY_KEYS

END = date(2026, 6, 30)
N_ACCOUNTS = 1500
CHILD_TABLES = ("subscriptions", "events", "tickets", "nps", "invoices", "contacts", "sample_truth",
                "sample_playbook_history")
EXPECTED_CAUSES = {
    ("usage_decline", "Usage"), ("low_seat_utilisation", "Adoption"), ("support_pain", "Support"),
    ("payment_failures", "Billing"), ("champion_loss", "Relationship"), ("low_nps", "Sentiment"),
    ("renewal_month", "Contract"),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_sample(n_accounts=N_ACCOUNTS, seed=11, end=END)


@pytest.fixture(scope="module")
def lifetimes(tables) -> pd.DataFrame:
    """Per account: first subscription start, churn date (NaT = still active) and segment."""
    main = tables["subscriptions"][tables["subscriptions"]["product"] == "Platform"]
    grouped = main.groupby("account_id")
    life = pd.DataFrame({
        "start": grouped["start_date"].min(),
        "stop": grouped["end_date"].max().where(grouped["end_date"].apply(lambda s: s.notna().all())),
    })
    return life.join(tables["accounts"].set_index("account_id")["segment"])


def _month_starts() -> list[pd.Timestamp]:
    last = pd.Timestamp(END).to_period("M")
    return [(last - k).to_timestamp() for k in range(23, -1, -1)]


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    pos = label.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _dtype_matches(series: pd.Series, sql_type: str) -> bool:
    if sql_type == "VARCHAR":
        if isinstance(series.dtype, pd.CategoricalDtype):
            return pd.api.types.is_string_dtype(series.dtype.categories)
        return pd.api.types.is_string_dtype(series)
    if sql_type in ("DATE", "TIMESTAMP"):
        return pd.api.types.is_datetime64_dtype(series)
    if sql_type == "DOUBLE":
        return pd.api.types.is_float_dtype(series)
    if sql_type in ("INTEGER", "BIGINT"):
        return pd.api.types.is_integer_dtype(series)
    if sql_type == "BOOLEAN":
        return pd.api.types.is_bool_dtype(series)
    raise AssertionError(sql_type)


# --------------------------------------------------------------------------- determinism
def test_same_seed_and_end_give_identical_tables():
    first = generate_sample(n_accounts=200, seed=5, end=END)
    second = generate_sample(n_accounts=200, seed=5, end=END)
    assert first.keys() == second.keys()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)


def test_different_seed_gives_different_data():
    first = generate_sample(n_accounts=200, seed=5, end=END)
    other = generate_sample(n_accounts=200, seed=6, end=END)
    assert not first["accounts"].equals(other["accounts"])
    assert not first["sample_truth"]["hazard"].equals(other["sample_truth"]["hazard"])


# --------------------------------------------------------------------------- schema
def test_tables_have_the_canonical_columns_and_types(tables):
    schema = {**CANONICAL_TABLES, "sample_truth": EXTRA_TABLES["sample_truth"],
              "sample_truth_causes": EXTRA_TABLES["sample_truth_causes"]}
    for table, columns in schema.items():
        df = tables[table]
        names = [c for c, _, _ in columns]
        if table == "accounts":
            assert list(df.columns[: len(names)]) == names
        else:
            assert list(df.columns) == names, table
        for col, sql_type, nullable in columns:
            assert _dtype_matches(df[col], sql_type), f"{table}.{col} is {df[col].dtype}, expected {sql_type}"
            if not nullable:
                assert df[col].notna().all(), f"{table}.{col} has nulls"
    assert list(tables["sample_playbook_history"].columns) == ["account_id", "playbook", "started_at", "holdout"]
    assert list(tables["sample_truth_playbook_effects"].columns) == [
        "playbook", "hazard_multiplier", "expansion_multiplier", "description"]


def test_accounts_carry_custom_attributes(tables):
    accounts = tables["accounts"]
    assert {"employee_count", "lead_source"} <= set(accounts.columns)
    assert set(accounts["lead_source"]) == {"Inbound", "Outbound", "Partner", "Event"}
    median_employees = accounts.groupby("segment")["employee_count"].median()
    assert median_employees["SMB"] < median_employees["Mid-Market"] < median_employees["Enterprise"]
    assert set(accounts["csm"]) == set(CSM_NAMES) and len(CSM_NAMES) == 8
    assert accounts["name"].is_unique and accounts["account_id"].str.fullmatch(r"A\d{6}").all()


def test_keys_are_unique_and_not_null(tables):
    keys = {**PRIMARY_KEYS,
            "subscriptions": ("account_id", "product", "start_date"),
            "events": ("account_id", "event_time", "event_type"),
            "sample_truth": ("account_id", "month")}
    for table, cols in keys.items():
        df = tables[table]
        assert df[list(cols)].notna().all().all(), table
        assert not df.duplicated(list(cols)).any(), table


def test_every_child_row_references_a_known_account(tables):
    known = set(tables["accounts"]["account_id"])
    for table in CHILD_TABLES:
        assert set(tables[table]["account_id"].unique()) <= known, table


def test_nothing_is_dated_after_the_end(tables):
    limit = pd.Timestamp(END + timedelta(days=1))
    dated = {"subscriptions": ["start_date", "end_date"], "events": ["event_time"],
             "tickets": ["opened_at", "closed_at"], "nps": ["responded_at"],
             "invoices": ["issued_at", "paid_at"], "contacts": ["active_from", "active_to"],
             "accounts": ["created_at"], "sample_playbook_history": ["started_at"]}
    for table, cols in dated.items():
        for col in cols:
            assert not (tables[table][col] >= limit).any(), f"{table}.{col}"


def test_values_are_consistent(tables):
    subs = tables["subscriptions"]
    assert (subs["mrr"] > 0).all()
    closed = subs["end_date"].notna()
    assert (subs.loc[closed, "end_date"] >= subs.loc[closed, "start_date"]).all()
    assert set(subs["billing_period"]) == {"monthly", "annual"}
    annual = subs["billing_period"] == "annual"
    assert subs.loc[annual, "renewal_date"].notna().all() and subs.loc[~annual, "renewal_date"].isna().all()
    nps = tables["nps"]
    assert nps["score"].between(0, 10).all()
    events = tables["events"]
    assert (events["quantity"] > 0).all() and events["user_id"].isna().all()
    assert (events["event_time"] == events["event_time"].dt.normalize()).all()
    tickets = tables["tickets"]
    assert set(tickets["priority"]) == {"low", "normal", "high", "urgent"}
    assert (tickets["closed_at"].dropna() >= tickets.loc[tickets["closed_at"].notna(), "opened_at"]).all()
    assert tickets["closed_at"].isna().any() and tickets["csat"].dropna().between(1, 5).all()
    invoices = tables["invoices"]
    assert {"paid", "late", "failed", "open"} <= set(invoices["status"])
    paid = invoices["status"] == "paid"
    assert (invoices.loc[paid, "paid_at"] <= invoices.loc[paid, "due_at"]).all()
    assert invoices.loc[invoices["status"].isin(["failed", "open"]), "paid_at"].isna().all()
    contacts = tables["contacts"]
    assert set(contacts["role"]) == {"champion", "admin", "executive", "user"}
    assert contacts.loc[contacts["role"] == "champion", "active_to"].notna().any()
    domains = contacts["email"].str.split("@").str[1]
    assert (domains.str.endswith(".com")).all()


# --------------------------------------------------------------------------- realism
def test_annual_logo_churn_is_realistic_and_higher_for_smb(tables, lifetimes):
    year_start = _month_starts()[12]
    year_end = year_start + pd.DateOffset(months=12)
    cohort = lifetimes[(lifetimes["start"] < year_start)
                       & (lifetimes["stop"].isna() | (lifetimes["stop"] >= year_start))]
    churned = cohort["stop"].notna() & (cohort["stop"] < year_end)
    assert 0.08 <= churned.mean() <= 0.18
    by_segment = churned.groupby(cohort["segment"]).mean()
    assert by_segment["SMB"] > by_segment["Enterprise"]


def test_arr_medians_per_segment(tables):
    subs = tables["subscriptions"]
    first = subs[subs["product"] == "Platform"].sort_values("start_date").groupby("account_id").first()
    segment = tables["accounts"].set_index("account_id")["segment"]
    medians = (first["mrr"] * 12).groupby(segment).median()
    for name, target in {"SMB": 3_000, "Mid-Market": 30_000, "Enterprise": 200_000}.items():
        assert target / 1.6 <= medians[name] <= target * 1.6, (name, medians[name])
    seats = first["seats"].groupby(segment).median()
    assert seats["SMB"] < seats["Mid-Market"] < seats["Enterprise"]


def test_events_are_daily_aggregates_of_enough_types(tables):
    events = tables["events"]
    types = set(events["event_type"].unique())
    assert {"login", "core_action", "report_run", "integration_sync", "user_invite", "data_export"} <= types
    per_account = len(events) / N_ACCOUNTS
    assert 400 <= per_account <= 1_600
    weekday = events["event_time"].dt.dayofweek
    logins = events[events["event_type"] == "login"]
    assert (weekday[logins.index] < 5).mean() > 0.85  # weekends are quiet


# --------------------------------------------------------------------------- truth tables
def test_truth_covers_exactly_the_active_account_months(tables, lifetimes):
    months = pd.DataFrame({"month": _month_starts()})
    grid = lifetimes.reset_index().merge(months, how="cross")
    active = grid[(grid["start"] < grid["month"]) & (grid["stop"].isna() | (grid["stop"] >= grid["month"]))]
    expected = set(zip(active["account_id"], active["month"], strict=True))
    truth = tables["sample_truth"]
    assert set(zip(truth["account_id"], truth["month"], strict=True)) == expected
    assert truth["hazard"].gt(0).all() and truth["hazard"].lt(1).all()


def test_causes_table_lists_the_planted_causes(tables):
    causes = tables["sample_truth_causes"]
    assert set(zip(causes["cause"], causes["metric_group"], strict=True)) == EXPECTED_CAUSES


def test_true_hazard_separates_churners(tables, lifetimes):
    truth = tables["sample_truth"]
    churn_month = lifetimes["stop"].dropna().dt.to_period("M").dt.to_timestamp()
    churned = (truth["account_id"].map(churn_month) == truth["month"]).to_numpy()
    assert churned.sum() > 50
    assert _auc(truth["hazard"].to_numpy(), churned) > 0.7


# --------------------------------------------------------------------------- playbooks
def test_playbook_history_has_a_random_holdout(tables):
    history = tables["sample_playbook_history"]
    assert set(history["playbook"]) == set(PLAYBOOK_EFFECTS)
    assert 0.15 <= history["holdout"].mean() <= 0.25
    assert history["started_at"].min() >= pd.Timestamp(_month_starts()[12])
    effects = tables["sample_truth_playbook_effects"].set_index("playbook")
    assert effects.loc["low_nps", "hazard_multiplier"] == 1.0
    assert effects.loc["expansion", "expansion_multiplier"] > 1.0
    assert effects.loc["usage_drop", "hazard_multiplier"] < 1.0


# --------------------------------------------------------------------------- warehouse
def test_write_sample_round_trip(tmp_path, tables):
    from data.warehouse import Warehouse

    warehouse = Warehouse(tmp_path / "warehouse")
    write_sample(warehouse, tables, seed=11, end=END)
    with warehouse.reader() as con:
        for name, df in tables.items():
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == len(df), name
        for table, columns in CANONICAL_TABLES.items():
            described = {row[0]: row[1] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
            for col, sql_type, _ in columns:
                assert described[col] == sql_type, f"{table}.{col}"
        meta = dict(con.execute("SELECT key, value FROM workspace_meta").fetchall())
        assert meta == {"demo": "true", "seed": "11", "end_date": END.isoformat()}
        assert con.execute("SELECT count(*) FROM events WHERE user_id IS NOT NULL").fetchone()[0] == 0
        first_event = con.execute("SELECT account_id, event_type FROM events LIMIT 1").fetchone()
        assert first_event[0] == tables["events"]["account_id"].iloc[0]
    assert warehouse.has_data()


def test_build_sample_writes_what_write_sample_writes(tmp_path):
    from data.sample import build_sample
    from data.warehouse import Warehouse

    n = 2 * 2000 + 150  # three event chunks, the last one partial
    streamed, collected = Warehouse(tmp_path / "streamed"), Warehouse(tmp_path / "collected")
    summary = build_sample(streamed, n_accounts=n, seed=3, end=END, event_fraction=0.5)
    tables = generate_sample(n_accounts=n, seed=3, end=END, event_fraction=0.5)
    write_sample(collected, tables, seed=3, end=END)
    assert summary.rows == {name: len(df) for name, df in tables.items()}
    assert sorted(summary.csms) == sorted(tables["accounts"]["csm"].unique())
    for name in [*tables, "workspace_meta"]:
        with streamed.reader() as a, collected.reader() as b:
            assert a.execute(f'DESCRIBE "{name}"').fetchall() == b.execute(f'DESCRIBE "{name}"').fetchall(), name
            left = a.execute(f'SELECT * FROM "{name}"').fetchall()  # in stored order
            assert left == b.execute(f'SELECT * FROM "{name}"').fetchall(), name


@pytest.mark.parametrize("seed", [1, 4, 5])
def test_a_company_of_one_account_is_generated_and_written(tmp_path, seed):
    """A month with no ticket, NPS answer or invoice left that table empty and the generator failed."""
    from data.sample import build_sample
    from data.warehouse import Warehouse

    tables = generate_sample(n_accounts=1, seed=seed)
    assert len(tables["accounts"]) == 1 and len(tables["subscriptions"]) >= 1
    empty = [name for name in ("tickets", "nps", "invoices") if tables[name].empty]
    summary = build_sample(Warehouse(tmp_path / "wh"), n_accounts=1, seed=seed)
    assert {k: summary.rows[k] for k in ("accounts", "tickets", "nps", "invoices")} == {
        k: len(tables[k]) for k in ("accounts", "tickets", "nps", "invoices")}
    if seed == 5:
        assert {"tickets", "nps"} <= set(empty)  # the case that failed


def test_contact_emails_built_in_blocks_equal_those_built_at_once(monkeypatch):
    """The emails are built block by block (memory at a million accounts); the blocks must not show."""
    import data.sample.tables as sample_tables

    at_once = generate_sample(n_accounts=120, seed=5, end=date(2025, 6, 30))
    monkeypatch.setattr(sample_tables, "EMAIL_CHUNK", 7)  # many blocks, uneven last one
    in_blocks = generate_sample(n_accounts=120, seed=5, end=date(2025, 6, 30))
    assert len(at_once["contacts"]) > 3 * 7
    assert at_once["contacts"]["email"].str.contains(r"\.[a-z]+\d\d@").any()  # a numbered address crosses blocks
    for table in at_once:
        pd.testing.assert_frame_equal(in_blocks[table], at_once[table])
