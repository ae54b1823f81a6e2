"""Right-censoring at the data's end, the per-date label-rate check, and short histories.

Generated logs shaped like real exports (``subscription_log``): one subscription row per
billing period with an end date, monthly or annual, ending in the middle of the periods.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from data.errors import UserError
from data.workspace import open_workspace
from models.observations import active_rows, build_observations, check_label_rates
from models.registry import list_models
from models.training import TrainConfig, train
from tests.support.subscription_log import make_log, write_log

ROOT = Path(__file__).resolve().parents[2]
# In the middle of the accounts' billing periods; the monthly date 2023-12-01 plus the 30-day horizon
# ends on it, so without censoring every account still running there read as churned (100 %).
END = date(2023, 12, 30)
HORIZON, GAP = 30, 30


def _workspace(path: Path, **kwargs) -> tuple:
    tables = make_log(**kwargs)
    ws = open_workspace(str(path))
    write_log(ws.warehouse, tables)
    return ws, tables


@pytest.fixture(scope="module", params=[("monthly", "truncated"), ("monthly", "scheduled"), ("annual", "scheduled")],
                ids=["monthly-periods-cut-at-the-end", "monthly-mid-period", "annual-mid-period"])
def log(request, tmp_path_factory):
    billing, ends = request.param
    ws, tables = _workspace(tmp_path_factory.mktemp(f"log_{billing}_{ends}"), n=260, end=END, billing=billing,
                            ends=ends, seed=2)
    with ws.warehouse.reader() as con:
        obs = build_observations(con, horizon_days=HORIZON, gap_days=GAP)
        scoring_rows = active_rows(con, [END + timedelta(days=1)])
    return ws, tables, obs, scoring_rows


def test_no_row_whose_window_passes_the_data_end_gets_a_label(log):
    _, tables, obs, _ = log
    f = obs.frame
    assert obs.data_end == END
    window_end = pd.to_datetime(f["obs_date"]) + pd.Timedelta(days=HORIZON + GAP)
    inside = (window_end <= pd.Timestamp(END)).to_numpy()
    assert inside.any() and (~inside).any()
    assert (f["labelled"].to_numpy() == inside).all()
    labelled = obs.labelled()
    assert (pd.to_datetime(labelled["obs_date"]) + pd.Timedelta(days=HORIZON + GAP) <= pd.Timestamp(END)).all()


def test_still_running_at_the_end_is_not_churn_and_a_true_churn_still_is(log):
    _, tables, obs, scoring_rows = log
    labelled = obs.labelled()
    truth = tables["churn"].set_index("account_id")["churn_date"]
    ids = labelled["account_id"]
    # last period ends at (or is cut at) the data's end: nobody can know yet whether it renews
    staying = truth[truth.isna() | (truth >= pd.Timestamp(END))].index
    assert labelled.loc[ids.isin(staying), "label_churn"].sum() == 0
    assert labelled.loc[ids.isin(staying), "churn_date"].isna().all()
    # a true churn: its last period ended inside a labelled window, never renewed
    churn_at = pd.to_datetime(ids.map(truth))
    obs_at = pd.to_datetime(labelled["obs_date"])
    in_window = churn_at.notna() & (churn_at >= obs_at) & (churn_at < obs_at + pd.Timedelta(days=HORIZON))
    assert in_window.sum() >= 10
    assert (labelled.loc[in_window, "label_churn"] == 1).all()
    assert labelled.loc[~in_window, "label_churn"].sum() == 0
    # the last labelled date's churn rate is in line with the others (it was 94 % with the bug)
    assert not check_label_rates(labelled).refused
    # on the day after the data's end, every account still running is there to be scored
    running = set(staying) & set(tables["subscriptions"]["account_id"])
    assert set(scoring_rows["account_id"]) == running


def test_train_refuses_a_date_with_a_broken_label(tmp_path):
    ws, _ = _workspace(tmp_path / "ws", n=260, end=END, seed=4)
    with ws.warehouse.reader() as con:
        obs = build_observations(con, horizon_days=HORIZON)
    dates = sorted(obs.labelled()["obs_date"].unique())
    broken = dates[len(dates) // 2]
    at = (obs.frame["obs_date"] == broken) & obs.frame["labelled"]
    obs.frame.loc[at, "label_churn"] = 1  # every account at that date "churned"
    with ws.warehouse.reader() as con, pytest.raises(UserError) as err:
        train(con, TrainConfig(algorithm="logreg", horizon_days=HORIZON, leakage_check=False), observations=obs)
    assert f"observation date {broken}" in str(err.value) and "Labelling fault" in str(err.value)
    report = check_label_rates(obs.labelled())
    assert [r["obs_date"] for r in report.refused] == [str(broken)]
    obs.frame.loc[at, "label_churn"] = 0  # a milder fault (no churn recorded at one date) is flagged too
    assert str(broken) in " ".join(check_label_rates(obs.labelled()).warnings + check_label_rates(
        obs.labelled()).refused_sentences())


def _cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(ws), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_three_months_of_events_train_on_weekly_dates(tmp_path):
    ws, _ = _workspace(tmp_path / "ws", n=900, start=date(2023, 1, 1), end=date(2023, 3, 31), seed=5,
                       base_hazard=0.04, decline_hazard=0.5)
    r = _cli(ws.path, "train", "--horizon-days", "30", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["history"]["cadence"] == "weekly" and out["history"]["labelled_dates"] >= 3
    assert out["history"]["accounts_held_out"] and out["history"]["gap_days"] == GAP
    assert out["n_test"] > 0 and out["positives_test"] >= 5  # the churns the test figures rest on
    assert "roc_auc_interval" in out
    assert out["metrics"]["roc_auc"] > 0.55
    text = _cli(ws.path, "train", "--horizon-days", "30", "--algorithm", "logreg")
    assert text.returncode == 0, text.stderr
    assert "churns in the test slice" in text.stdout and "weekly" in text.stdout


def test_five_weeks_refuse_and_say_how_much_more_is_needed(tmp_path):
    ws, _ = _workspace(tmp_path / "ws", n=200, start=date(2023, 1, 1), end=date(2023, 2, 4), seed=6)
    r = _cli(ws.path, "train", "--horizon-days", "30", "--json")
    assert r.returncode == 2
    assert "covers 5 weeks" in r.stderr and "Import about 8 more weeks" in r.stderr
    assert "rule health score" in r.stderr
    assert r.stdout == ""
    assert list_models(open_workspace(str(ws.path)).engine) == []
    # ... and what the message promises works meanwhile, without a model
    h = _cli(ws.path, "health-score", "--json", "--out", str(tmp_path / "health.csv"))
    assert h.returncode == 0, h.stderr
    out = json.loads(h.stdout)
    assert out["obs_date"] == "2023-02-05" and out["accounts"] > 100
    scores = [r["health_score"] for r in out["least_healthy"]]
    assert scores == sorted(scores) and all(0 <= s <= 100 for s in scores)
    assert len(pd.read_csv(tmp_path / "health.csv")) == out["accounts"]


def test_usage_rates_early_in_a_short_history_read_like_later_ones():
    """Usage tracking began after the account signed up: 20 days into the events, a steady account's
    monthly rate over 90 days is its true rate, not a third of it (which would read as a usage drop)."""
    import duckdb

    from data.metrics import compute_metrics
    from data.schema import ensure_raw_schema

    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute("INSERT INTO accounts (account_id, name, created_at) VALUES ('A', 'Alpha', DATE '2022-01-01')")
    con.execute("INSERT INTO subscriptions (account_id, product, start_date, end_date, mrr) "
                "VALUES ('A', 'core', DATE '2022-01-01', NULL, 100)")
    con.execute("INSERT INTO events SELECT 'A', DATE '2023-01-01' + INTERVAL (d) DAY, 'login', 2, NULL "
                "FROM range(120) r(d)")
    obs = pd.DataFrame({"account_id": ["A", "A"], "obs_date": [date(2023, 1, 21), date(2023, 4, 30)]})
    f = compute_metrics(con, obs).frame
    early, late = f["ev_login_per_month_90d"].tolist()
    assert late == pytest.approx(60.0, rel=0.02)
    assert early == pytest.approx(late, rel=0.05)


def test_purge_grows_by_the_gap_tolerance():
    """A training label needs its horizon and the renewal gap after it before the test slice starts."""
    from models.splits import time_split as _time_split

    dates = [date(2024, 1, 1) + timedelta(days=30 * i) for i in range(24)]
    split = _time_split(dates, TrainConfig(horizon_days=90, gap_days=30, test_months=3, calib_months=2))
    assert split.purge_days == 120
    assert all(d + timedelta(days=120) <= split.test[0] for d in split.fit)
    skipped = [d for d in dates if d + timedelta(days=90) <= split.test[0] < d + timedelta(days=120)]
    assert skipped and not set(skipped) & set(split.fit)  # a 90-day purge would have trained on these
    for train_dates, block in split.folds:
        assert all(d + timedelta(days=120) <= block[0] for d in train_dates)


def test_periods_running_at_the_end_keep_their_contract_on_the_scoring_date(log):
    """Scoring observes the day after the data's end: a period that ends on the last day (cut there by
    the export) is still running, so its MRR and seats are there, as at every earlier date."""
    ws, tables, obs, scoring_rows = log
    from models.scoring import features_as_of

    with ws.warehouse.reader() as con:
        now = features_as_of(con)
    assert set(now["account_id"]) == set(scoring_rows["account_id"])
    assert (now["mrr"] > 0).all() and (now["active_subscriptions"] >= 1).all()
    last_labelled = obs.labelled()
    assert now["mrr"].median() == pytest.approx(last_labelled["mrr"].median(), rel=0.5)
