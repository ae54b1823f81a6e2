"""Small hand-made workspaces for tests: the three-account tiny company, and playbook workspaces
(uniform or varied accounts, with scores) built straight into the warehouse."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data import users as user_store
from data.settings import load_settings
from data.warehouse import Warehouse
from data.workspace import Workspace, open_workspace

# ------------------------------------------------------------------ the tiny company
TINY_END = "2026-06-30"


def write_tiny(warehouse: Warehouse) -> None:
    with warehouse.writer("raw", fresh=True) as con:
        con.execute("""
            INSERT INTO accounts VALUES
              ('A1', 'Acme Corp', 'SMB', 'Retail', 'NA', 'Starter', 'Avery Chen', DATE '2025-01-10'),
              ('A2', 'Globex', 'Enterprise', 'Finance', 'EMEA', 'Enterprise', 'Jordan Patel', DATE '2024-03-01'),
              ('A3', 'Initech', 'Mid-Market', 'Software', 'NA', 'Growth', 'Avery Chen', DATE '2024-06-15')""")
        con.execute("""
            INSERT INTO subscriptions VALUES
              ('A1', 'Core', DATE '2025-01-10', NULL, 250, 10, 'monthly', NULL),
              ('A2', 'Core', DATE '2024-03-01', DATE '2025-03-01', 15000, 400, 'annual', DATE '2025-03-01'),
              ('A2', 'Core', DATE '2025-03-01', NULL, 18000, 450, 'annual', DATE '2026-09-01'),
              ('A3', 'Core', DATE '2024-06-15', DATE '2026-02-15', 2500, 60, 'monthly', NULL)""")
        con.execute("""
            INSERT INTO events VALUES
              ('A1', TIMESTAMP '2026-06-01', 'login', 4, NULL),
              ('A1', TIMESTAMP '2026-06-02', 'login', 6, NULL),
              ('A1', TIMESTAMP '2026-06-02', 'report_run', 3, NULL),
              ('A2', TIMESTAMP '2026-06-03', 'login', 1, 'u1'),
              ('A2', TIMESTAMP '2026-06-03', 'login', 1, 'u2')""")
        con.execute("""
            INSERT INTO tickets VALUES
              ('T1', 'A1', TIMESTAMP '2026-05-01 09:00', TIMESTAMP '2026-05-03 09:00', 'urgent', 2),
              ('T2', 'A2', TIMESTAMP '2026-05-05 09:00', NULL, 'low', NULL)""")
        con.execute("INSERT INTO nps VALUES ('A1', TIMESTAMP '2026-04-01', 3, 'Too slow'), "
                    "('A2', TIMESTAMP '2026-04-01', 10, 'Love it')")
        con.execute("INSERT INTO invoices VALUES ('I1', 'A1', DATE '2026-05-10', DATE '2026-05-24', NULL, 250, 'failed')")
        con.execute("INSERT INTO contacts VALUES ('C1', 'A1', 'pat@acme.test', 'champion', DATE '2025-01-10', DATE '2026-05-20')")
        con.execute("INSERT INTO workspace_meta VALUES ('end_date', ?)", [TINY_END])


@pytest.fixture()
def tiny_ws(tmp_path, monkeypatch, page_store):
    """A workspace with the tiny company and one user per role (password ``<name>-password``), as CSAI_WORKSPACE.

    In a test marked ``stores`` its operational store is the one of ``page_store``; on PostgreSQL the
    test fails if anything created the workspace's SQLite file instead.
    """
    ws = open_workspace(str(tmp_path / "ws"))
    if ws.engine.dialect.name == "postgresql":  # a copy of the migrated template: seed it as a new store is seeded
        from data.opstore import seed_new_store

        seed_new_store(ws.engine)
    write_tiny(ws.warehouse)
    auth = ws.settings.auth_file
    for name, role, csm in [("admin", "admin", None), ("manager", "manager", None), ("datasci", "data_scientist", None),
                            ("csm1", "csm", "Avery Chen"), ("csm2", "csm", "Jordan Patel")]:
        user_store.add_user(auth, name, role=role, password=f"{name}-password", csm=csm)
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    yield ws
    if page_store:
        assert_store(ws, page_store)


def assert_store(ws: Workspace, backend: str) -> None:
    """The workspace used the ``backend`` store, and on PostgreSQL no page or helper fell back to its SQLite file."""
    assert ws.engine.dialect.name == backend
    if backend == "postgresql":
        assert not (ws.path / "operational.sqlite").exists(), "something used the SQLite store in a PostgreSQL run"


# two scoring runs of the tiny company
RUN1 = pd.Timestamp("2026-06-01 06:00")
RUN2 = pd.Timestamp("2026-07-01 06:00")


def write_tiny_scores(warehouse) -> None:
    """Two scoring runs: Acme's risk rises (logins driver), Globex's falls (seat utilisation driver)."""
    from models.scoring import DRIVERS_DDL, SCORES_DDL

    scores = pd.DataFrame([
        # scored_at, account, p_churn, band, p_expansion, arr
        (RUN1, "A1", 0.30, "medium", 0.10, 3000.0),
        (RUN1, "A2", 0.05, "low", 0.40, 216000.0),
        (RUN2, "A1", 0.60, "high", 0.05, 3000.0),
        (RUN2, "A2", 0.02, "low", 0.50, 216000.0),
    ], columns=["scored_at", "account_id", "p_churn", "risk_band", "p_expansion", "arr"])
    scores["obs_date"] = scores["scored_at"].dt.date
    scores["model_id"] = "churn-test"
    scores["target"] = "churn"
    scores["expected_arr_loss"] = scores["p_churn"] * scores["arr"]
    drivers = pd.DataFrame([
        (RUN1, "A1", "churn", "logins_30d", "Logins (30 days)", "Usage", 0.20),
        (RUN1, "A1", "churn", "tickets_90d", "Tickets (90 days)", "Support", 0.10),
        (RUN2, "A1", "churn", "logins_30d", "Logins (30 days)", "Usage", 0.50),
        (RUN2, "A1", "churn", "tickets_90d", "Tickets (90 days)", "Support", 0.10),
        (RUN2, "A1", "churn", "nps_last", "Last NPS", "Sentiment", 0.25),
        (RUN2, "A1", "expansion", "seats_used", "Seats used", "Adoption", 3.00),
        (RUN1, "A2", "churn", "seat_utilisation", "Seat utilisation", "Adoption", 0.40),
        (RUN2, "A2", "churn", "seat_utilisation", "Seat utilisation", "Adoption", 0.10),
        (RUN2, "A2", "churn", "champion_left", "Champion left", "Relationship", -0.20),
    ], columns=["scored_at", "account_id", "target", "feature", "label", "group", "shap"])
    drivers["value"] = "x"
    drivers["sentence"] = drivers["label"] + " moved"
    drivers["rank"] = 1
    with warehouse.writer("results") as con:
        con.execute(SCORES_DDL)
        con.execute(DRIVERS_DDL)
        for table, df in (("scores", scores), ("score_drivers", drivers)):
            con.register("_rows", df)
            cols = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
            con.unregister("_rows")


# ------------------------------------------------------------------ playbook workspaces
AS_OF = date(2026, 6, 30)
CSMS = ["Maya Patel", "Jonas Weber"]


# The operational store of the workspaces built here: None is the workspace's own SQLite
# file; the ``opstore_backend`` fixture (tests/playbooks/conftest.py) sets a PostgreSQL URL.
DATABASE_URL: str | None = None


def open_ws(path: str | Path, **env: str) -> Workspace:
    """Workspace at ``path`` with only the given CSAI_* environment (no SMTP unless given)."""
    environ = {k.upper(): v for k, v in env.items()}
    if DATABASE_URL:
        environ.setdefault("CSAI_DATABASE_URL", DATABASE_URL)
    return Workspace(load_settings(str(path), environ=environ))


def build_workspace(path: str | Path, n: int = 20, *, scores: bool = True, risk_band: str = "high",
                    driver_group: str = "Usage", varied: bool = False, **env: str) -> Workspace:
    """A workspace with ``n`` accounts (A0001...) and a champion each, and (optionally) scores.

    By default every account is active and scored alike (``p_churn`` 0.4, ``risk_band``, ``driver_group``),
    for tests of what happens to an enrolled account. ``varied=True`` builds the accounts of
    :func:`varied_profile` instead: different probabilities, bands, segments, plans, CSMs, renewal dates,
    contacts, some inactive and some unscored, so that every rule criterion and page filter excludes someone.
    """
    ws = open_ws(path, **env)
    ids = [f"A{i:04d}" for i in range(1, n + 1)]
    if varied:
        profile = varied_profile(n)
        accounts = pd.DataFrame({
            "account_id": ids, "name": [f"Company {i}" for i in range(1, n + 1)], "segment": profile["segment"],
            "industry": "Software", "region": "NA", "plan": profile["plan"], "csm": profile["csm"],
            "created_at": pd.Timestamp(AS_OF - timedelta(days=400)),
        })
        subs = pd.DataFrame({
            "account_id": ids, "product": "Platform", "start_date": pd.Timestamp(AS_OF - timedelta(days=400)),
            "end_date": [pd.NaT if active else pd.Timestamp(AS_OF - timedelta(days=30)) for active in profile["active"]],
            "mrr": profile["arr"] / 12, "seats": 10, "billing_period": "annual",
            "renewal_date": [pd.Timestamp(AS_OF + timedelta(days=int(d))) for d in profile["renewal_in_days"]],
        })
        contacts = pd.DataFrame([
            {"contact_id": f"C{i:05d}", "account_id": a, "email": f"anna.smith{i}@company{i}.example",
             "role": "champion", "active_from": pd.Timestamp(AS_OF - timedelta(days=300)),
             "active_to": pd.NaT if c == "active" else pd.Timestamp(AS_OF - timedelta(days=10))}
            for i, (a, c) in enumerate(zip(ids, profile["champion"], strict=True)) if c != "none"
        ] + [
            {"contact_id": f"B{i:05d}", "account_id": a, "email": f"billing{i}@company{i}.example", "role": "billing",
             "active_from": pd.Timestamp(AS_OF - timedelta(days=300)), "active_to": pd.NaT}
            for i, a in enumerate(ids) if i % 2 == 0
        ])
    else:
        accounts = pd.DataFrame({
            "account_id": ids, "name": [f"Company {i}" for i in range(1, n + 1)],
            "segment": ["SMB" if i % 2 else "Enterprise" for i in range(n)], "industry": "Software", "region": "NA",
            "plan": "Growth", "csm": [CSMS[i % 2] for i in range(n)],
            "created_at": pd.Timestamp(AS_OF - timedelta(days=400)),
        })
        subs = pd.DataFrame({
            "account_id": ids, "product": "Platform", "start_date": pd.Timestamp(AS_OF - timedelta(days=400)),
            "end_date": pd.NaT, "mrr": 1000.0, "seats": 10, "billing_period": "annual",
            "renewal_date": [pd.Timestamp(AS_OF + timedelta(days=30 + 10 * (i % 30))) for i in range(n)],
        })
        contacts = pd.DataFrame({
            "contact_id": [f"C{i:05d}" for i in range(n)], "account_id": ids,
            "email": [f"anna.smith{i}@company{i}.example" for i in range(n)], "role": "champion",
            "active_from": pd.Timestamp(AS_OF - timedelta(days=300)), "active_to": pd.NaT,
        })
    with ws.warehouse.writer("raw", fresh=True) as con:
        for name, df in (("accounts", accounts), ("subscriptions", subs), ("contacts", contacts)):
            con.register("df", df)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM df")
            con.unregister("df")
        con.execute("INSERT INTO workspace_meta VALUES ('end_date', ?)", [AS_OF.isoformat()])
    if scores and varied:
        write_varied_scores(ws, varied_profile(n))
    elif scores:
        write_scores(ws, ids, risk_band=risk_band, driver_group=driver_group)
    return ws


def write_scores(ws: Workspace, ids: list[str], *, risk_band: str = "high", driver_group: str = "Usage") -> None:
    scored_at = pd.Timestamp(AS_OF)
    df = pd.DataFrame({
        "scored_at": scored_at, "account_id": ids, "model_id": "churn-test-1", "p_churn": 0.4,
        "risk_band": risk_band, "p_expansion": 0.1, "arr": 12000.0, "expected_arr_loss": 4800.0,
    })
    drivers = pd.DataFrame({
        "scored_at": scored_at, "account_id": ids, "target": "churn", "feature": "wau_change",
        "label": "Weekly active users", "group": driver_group, "value": -0.45, "shap": 0.8,
        "sentence": "Weekly active users fell 45% vs the previous 60 days", "rank": 1,
    })
    with ws.warehouse.writer("results") as con:
        for name, frame in (("scores", df), ("score_drivers", drivers)):
            con.register("df", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM df")
            con.unregister("df")


# the varied accounts' attributes cycle with different periods, so combinations differ between accounts
VARIED_P_CHURN = (0.08, 0.25, 0.45, 0.62, 0.9)
VARIED_P_EXPANSION = (0.05, 0.3, 0.6)
VARIED_SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
VARIED_PLANS = ("Starter", "Growth", "Enterprise", "Growth")
VARIED_CSMS = ("Maya Patel", "Jonas Weber", "Lee Chen")
VARIED_RENEWAL_DAYS = (-20, 0, 12, 35, 60, 95, 200)
VARIED_TOP_GROUPS = ("Usage", "Billing", "Support", "Contract")


def varied_band(p: float) -> str:
    """The band the varied builder writes for ``p`` (low below 0.3, medium below 0.6, else high)."""
    return "low" if p < 0.3 else "medium" if p < 0.6 else "high"


def varied_profile(n: int) -> pd.DataFrame:
    """What ``build_workspace(varied=True)`` writes for each account, to compute expectations from.

    Columns: account_id, p_churn (NaN = never scored: every 13th account), risk_band, p_expansion, arr,
    segment, plan, csm, active (every 11th account's subscription ended 30 days before the as-of date),
    renewal_in_days (from the as-of date; negative = the renewal date has passed, so none is upcoming),
    days_to_renewal (NaN when none is upcoming), top_group (the strongest risk-raising driver),
    rising_groups (groups of drivers that raise risk; a 'Relationship' driver always lowers it) and
    champion ('active', 'ended' or 'none').
    """
    rows = []
    for i in range(n):
        p = VARIED_P_CHURN[i % 5] if i % 13 != 12 else float("nan")
        renewal = VARIED_RENEWAL_DAYS[i % 7]
        top = VARIED_TOP_GROUPS[i % 4]
        rows.append({
            "account_id": f"A{i + 1:04d}", "p_churn": p, "risk_band": None if p != p else varied_band(p),
            "p_expansion": VARIED_P_EXPANSION[(i // 2) % 3], "arr": 12000.0 * (1 + i % 4),
            "segment": VARIED_SEGMENTS[i % 3], "plan": VARIED_PLANS[i % 4], "csm": VARIED_CSMS[(i // 2) % 3],
            "active": i % 11 != 10, "renewal_in_days": renewal,
            "days_to_renewal": float(renewal) if renewal >= 0 else float("nan"),
            "top_group": top, "rising_groups": {top, "Usage"} if top == "Contract" else {top},
            "champion": ("active", "active", "active", "active", "ended", "none")[i % 6],
        })
    return pd.DataFrame(rows)


def write_varied_scores(ws: Workspace, profile: pd.DataFrame) -> None:
    """Scores and drivers of :func:`varied_profile` (unscored accounts get no row)."""
    scored = profile[profile["p_churn"].notna()]
    scored_at = pd.Timestamp(AS_OF)
    df = pd.DataFrame({
        "scored_at": scored_at, "account_id": scored["account_id"], "model_id": "churn-test-1",
        "p_churn": scored["p_churn"], "risk_band": scored["risk_band"], "p_expansion": scored["p_expansion"],
        "arr": scored["arr"], "expected_arr_loss": scored["p_churn"] * scored["arr"],
        "obs_date": pd.Timestamp(AS_OF), "target": "churn", "expansion_model_id": "expansion-test-1",
        "health_score": (100 * (1 - scored["p_churn"])).round(),
    })
    drivers = []
    for r in scored.itertuples():
        second = ("Usage", 0.2) if r.top_group == "Contract" else ("Relationship", -0.3)
        for rank, (group, shap) in enumerate([(r.top_group, 0.8), second], start=1):
            drivers.append({"scored_at": scored_at, "account_id": r.account_id, "target": "churn",
                            "feature": f"{group.lower()}_signal", "label": f"{group} signal", "group": group,
                            "value": -0.45, "shap": shap, "sentence": f"{group} signal moved", "rank": rank})
    with ws.warehouse.writer("results") as con:
        for name, frame in (("scores", df), ("score_drivers", pd.DataFrame(drivers))):
            con.register("df", frame)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM df")
            con.unregister("df")


TASK_AND_EMAIL = [
    {"type": "task", "title": "Call {{ account.name }}", "due_days": 2},
    {"type": "email", "to": "champion", "subject": "Hello {{ contact.name }}",
     "body": "Hi {{ contact.name }}, {{ drivers[0].sentence }}."},
]


@contextlib.contextmanager
def served_copy(source: str | Path, dest: Path) -> Iterator[Workspace]:
    """A private copy of the workspace at ``source`` in ``dest``, served as ``CSAI_WORKSPACE`` while open
    (for modules that write to it: train, promote, score), the old value restored afterwards."""
    from data.workspace import open_workspace

    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("*.log"))
    old = os.environ.get("CSAI_WORKSPACE")
    os.environ["CSAI_WORKSPACE"] = str(dest)
    try:
        yield open_workspace(str(dest))
    finally:
        if old is None:
            os.environ.pop("CSAI_WORKSPACE", None)
        else:
            os.environ["CSAI_WORKSPACE"] = old


# One user per role for the generated shapes (tests/support/shapes.py): username -> role.
SHAPE_ROLES = {"admin": "admin", "manager": "manager", "csm": "csm", "datasci": "data_scientist"}


def add_role_users(ws: Workspace, csm: str) -> None:
    """Add one user per role of :data:`SHAPE_ROLES` (password ``<name>-password-1``); the CSM's book is ``csm``."""
    for name, role in SHAPE_ROLES.items():
        user_store.add_user(ws.settings.auth_file, name, role=role, password=f"{name}-password-1",
                            csm=csm if role == "csm" else None)


def new_playbook(ws: Workspace, **kw):
    """A playbook created by the manager in ``ws``: "Re-engage" with :data:`TASK_AND_EMAIL` unless given."""
    from playbooks import create_playbook  # deferred: import time (only the playbook tests need it)

    kw.setdefault("steps", TASK_AND_EMAIL)
    return create_playbook(ws.engine, "manager", name=kw.pop("name", "Re-engage"), **kw)


def count_rows(ws: Workspace, table) -> int:
    """Rows of an operational-store ``table`` of ``ws``."""
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
