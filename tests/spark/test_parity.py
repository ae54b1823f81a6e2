"""Spark and the embedded engine give the same numbers on the sample company (issue 15).

Every feature at every observation date (1e-9 relative), every label, every score
(1e-6) and the top-3 drivers of every account, on a local Spark (``local[2]``) started
by the test. The Spark side runs through the interfaces a team uses: the raw tables as
Parquet files, and ``cli.py --engine spark score`` (which attaches its Parquet outputs
to the warehouse as a new results snapshot).

The company is a private copy of the session's sample in which every fifth contact has no
``active_from`` (an unknown start: counted from the contacts import) and which was
scored again by the embedded engine, so that rule is compared too.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


UNKNOWN_STARTS_IMPORTED = "2025-06-01"


@pytest.fixture(scope="module")
def parity_ws_path(sample_workspace_path, tmp_path_factory):
    """The sample company with unknown contact starts, scored by the embedded engine on that data."""
    from data.workspace import open_workspace
    from models.scoring import score_workspace

    path = tmp_path_factory.mktemp("parity") / "ws"
    shutil.copytree(sample_workspace_path, path)
    ws = open_workspace(str(path))
    with ws.warehouse.writer("raw") as con:
        con.execute("UPDATE contacts SET active_from = NULL WHERE hash(contact_id) % 5 = 0")
        con.execute("INSERT INTO workspace_meta VALUES ('imported_contacts', ?)", [UNKNOWN_STARTS_IMPORTED])
    score_workspace(ws)
    return path


@pytest.fixture(scope="module")
def parity_ws(parity_ws_path):
    from data.workspace import open_workspace

    ws = open_workspace(str(parity_ws_path))
    with ws.warehouse.reader() as con:
        unknown = con.execute("SELECT count(*), count(*) FILTER (WHERE role = 'champion') FROM contacts "
                              "WHERE active_from IS NULL").fetchall()[0]
    assert unknown[0] > 10 and unknown[1] > 0, "the copy has unknown starts, champions among them"
    return ws


@pytest.fixture(scope="module")
def raw_parquet(parity_ws, tmp_path_factory):
    from models.spark_scoring import export_raw_tables

    return export_raw_tables(parity_ws.warehouse, tmp_path_factory.mktemp("raw_parquet"))


@pytest.fixture(scope="module")
def embedded(parity_ws):
    """The embedded engine's observation set, and its metrics in float64 (the set keeps float32)
    for the same rows, dates and data end as ``build_observations`` uses."""
    from data.metrics import compute_metrics
    from models.observations import active_rows, build_observations, history_end

    with parity_ws.warehouse.reader() as con:
        end = history_end(con)
        obs = build_observations(con, horizon_days=90)
        metrics = compute_metrics(con, active_rows(con, obs.dates, end), data_end=end)
    return {"dates": obs.dates, "metrics": metrics, "obs": obs, "end": end}


@pytest.fixture(scope="module")
def on_spark(spark, raw_parquet):
    from data.engines import spark_metrics as sm

    raw = sm.read_raw_tables(spark, raw_parquet)
    end = sm.data_end(raw)
    schedule = sm.observation_schedule(raw, end=end, label_days=90 + 30)
    frame, metrics, dates = sm.build_observations(spark, raw, horizon_days=90)
    frame = frame.cache()
    pdf = frame.toPandas()
    pdf["obs_date"] = pd.to_datetime(pdf["obs_date"]).dt.date
    obs = sm.observation_set(frame, metrics, dates, end=end, schedule=schedule)
    return {"frame": pdf, "metrics": metrics, "dates": dates, "obs": obs, "end": end}


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["obs_date"] = pd.to_datetime(out["obs_date"]).dt.date
    return out.set_index(["account_id", "obs_date"]).sort_index()


def test_every_feature_at_every_observation_date_matches(embedded, on_spark):
    mine, theirs = embedded["metrics"], on_spark["metrics"]
    assert on_spark["end"] == embedded["end"], "the same as-of date (the read model's end of the data)"
    assert on_spark["dates"] == embedded["dates"]
    assert theirs.numeric == mine.numeric and theirs.categorical == mine.categorical
    assert set(theirs.catalog) == set(mine.catalog)
    a, b = _keyed(mine.frame), _keyed(on_spark["frame"])
    assert len(a) > 3000 and a.index.equals(b.index), "the same (account, observation date) rows"
    bad = {}
    for c in mine.numeric:
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=1e-9, atol=1e-12)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            bad[c] = (int((~same).sum()), a.index[i], x[i], y[i])
    for c in mine.categorical:
        x = a[c].astype(object).where(a[c].notna(), None).tolist()
        y = b[c].astype(object).where(b[c].notna(), None).tolist()
        if x != y:
            bad[c] = sum(u != v for u, v in zip(x, y, strict=True))
    assert not bad, f"features differ (count, first row, embedded, spark): {bad}"
    assert any(c.startswith("ev_") for c in mine.numeric) and len(mine.numeric) > 40


def test_every_label_matches(embedded, on_spark):
    a = _keyed(embedded["obs"].frame)
    b = _keyed(on_spark["frame"]).reindex(a.index)
    assert a["label_churn"].sum() > 0 and a["label_expansion"].sum() > 0
    assert 0 < a["labelled"].sum() < len(a), "some rows are censored at the data's end, some are labelled"
    assert (a["labelled"].to_numpy(bool) == b["labelled"].to_numpy(bool)).all()
    censored = ~b["labelled"].to_numpy(bool)  # labels.sql leaves both labels NULL where the window passes the end
    for c in ("label_churn", "label_expansion"):
        assert b[c].isna().to_numpy().tolist() == censored.tolist(), c
        assert (a[c].astype(int).to_numpy() == b[c].fillna(0).astype(int).to_numpy()).all(), c
    churn_a = pd.to_datetime(a["churn_date"]).dt.date.astype(object).where(a["churn_date"].notna(), None)
    churn_b = pd.to_datetime(b["churn_date"]).dt.date.astype(object).where(b["churn_date"].notna(), None)
    assert churn_a.tolist() == churn_b.tolist()
    # the observation set Spark hands to the single-machine trainer: the embedded one's rows and columns
    mine, theirs = embedded["obs"], on_spark["obs"]
    assert theirs.features == mine.features and list(theirs.frame.columns) == list(mine.frame.columns)
    keys = ["account_id", "obs_date", "label_churn", "label_expansion", "labelled"]
    assert list(theirs.frame[keys].itertuples(index=False)) == list(mine.frame[keys].itertuples(index=False))
    assert len(theirs.labelled()) == len(mine.labelled()) and theirs.dates == mine.dates
    assert (theirs.cadence, theirs.gap_days, theirs.data_end) == (mine.cadence, mine.gap_days, mine.data_end)
    # the embedded observation set keeps features (mrr, hence arr = 12 x mrr) as float32, Spark as float64
    assert np.allclose(a["arr"].to_numpy(float), b["arr"].to_numpy(float), rtol=1e-6)


def test_cli_spark_score_matches_every_score_and_top_drivers(spark, parity_ws_path, tmp_path, capsys):
    """``cli.py --engine spark score`` scores every account like the embedded engine and the app reads it."""
    import json

    import cli
    from data.workspace import open_workspace
    from models.scoring import latest_scores

    ws_path = tmp_path / "ws"
    shutil.copytree(parity_ws_path, ws_path)
    ws = open_workspace(str(ws_path))
    with ws.warehouse.reader() as con:
        embedded_at = con.execute("SELECT max(scored_at) FROM score_runs").fetchall()[0][0]
    version_before = ws.warehouse.version()

    assert cli.main(["--workspace", str(ws_path), "--engine", "spark", "score", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ws.warehouse.version() != version_before, "a new results snapshot was published"

    with ws.warehouse.reader() as con:
        scores = con.execute("SELECT * FROM scores ORDER BY account_id").df()
        drivers = con.execute("SELECT * FROM score_drivers").df()
        others = con.execute("SELECT * FROM score_other_factors").df()
        features = con.execute("SELECT count(*) FROM score_features").fetchall()[0][0]
    spark_at = pd.Timestamp(summary["scored_at"])
    a = scores[scores["scored_at"] == pd.Timestamp(embedded_at)].set_index("account_id")
    b = scores[scores["scored_at"] == spark_at].set_index("account_id")
    assert len(a) > 200 and a.index.equals(b.index) and summary["accounts"] == len(a) == features
    with ws.warehouse.reader() as con:  # billing periods that run to the data's end: still customers on both
        to_the_end = {r[0] for r in con.execute(
            "SELECT account_id FROM subscriptions GROUP BY 1 HAVING max(coalesce(end_date, DATE '9999-12-31')) "
            "BETWEEN ? AND DATE '9999-12-30'", [b["obs_date"].iloc[0] - pd.Timedelta(days=1)]).fetchall()}
    assert to_the_end and to_the_end <= set(b.index)
    for c in ("p_churn", "p_expansion", "expected_arr_loss", "health_score", "shap_base", "shap_other", "p_base"):
        assert np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-6, atol=1e-9, equal_nan=True), c
    assert (a["risk_band"] == b["risk_band"]).all() and (a["obs_date"] == b["obs_date"]).all()
    assert (a["shap_scale"] == b["shap_scale"]).all() and a["shap_scale"].iloc[0] in ("calibrated", "model")

    def top3(at, target):
        d = drivers[(drivers["scored_at"] == at) & (drivers["target"] == target) & (drivers["rank"] <= 3)]
        return d.sort_values(["account_id", "rank"]).groupby("account_id")["feature"].apply(tuple)

    for target in ("churn", "expansion"):
        x, y = top3(pd.Timestamp(embedded_at), target), top3(spark_at, target)
        assert len(x) == len(a) and x.equals(y), target
    same_rows = ["account_id", "target", "rank", "feature", "sentence", "value"]
    mine = drivers[drivers["scored_at"] == pd.Timestamp(embedded_at)][same_rows].sort_values(same_rows[:3])
    theirs = drivers[drivers["scored_at"] == spark_at][same_rows].sort_values(same_rows[:3])
    assert mine.reset_index(drop=True).equals(theirs.reset_index(drop=True))
    for frame, column in ((drivers, "shap"), (others, "shap")):  # stored SHAP values, in the same units
        keys = ["account_id", "target", "rank"] if frame is drivers else ["account_id", "target", "kind", "label"]
        x = frame[frame["scored_at"] == pd.Timestamp(embedded_at)].sort_values(keys)
        y = frame[frame["scored_at"] == spark_at].sort_values(keys)
        assert len(x) > len(a) and x[keys].reset_index(drop=True).equals(y[keys].reset_index(drop=True)), keys
        assert np.allclose(x[column].to_numpy(float), y[column].to_numpy(float), rtol=1e-6, atol=1e-9)
    # drivers + other factors add up to each account's SHAP sum; with Platt calibration base + that = logit(p)
    mine_others = others[others["scored_at"] == spark_at].groupby("account_id")["shap"].sum()
    assert np.allclose(mine_others.reindex(b.index).fillna(0.0).to_numpy(), b["shap_other"].to_numpy(), atol=1e-9)

    served = latest_scores(ws.warehouse)  # what the pages read: the Spark run, no restart
    assert pd.Timestamp(served["scored_at"].iloc[0]) == spark_at and len(served) == len(a)
    assert served["p_churn_change"].abs().max() < 1e-6  # previous run: the embedded one, same numbers


def test_cli_spark_train_fits_on_the_spark_observation_rows(spark, embedded, parity_ws, parity_ws_path,
                                                            tmp_path, capsys):
    """``cli.py --engine spark train``: rows from Spark, the single-machine trainer; the same model as embedded."""
    import json

    import cli
    from models.training import TrainConfig, train

    ws_path = tmp_path / "ws"
    shutil.copytree(parity_ws_path, ws_path)
    args = ["--workspace", str(ws_path), "--engine", "spark", "train", "--algorithm", "gbm", "--json"]
    assert cli.main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with parity_ws.warehouse.reader() as con:
        result = train(con, TrainConfig(algorithm="gbm"), observations=embedded["obs"])
    assert summary["n_train"] == result.summary()["n_train"] and summary["n_test"] == result.summary()["n_test"]
    for name, value in result.summary()["metrics"].items():
        if value is None:
            assert summary["metrics"][name] is None, name
        else:
            assert summary["metrics"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_a_sampled_observation_set_observes_the_same_accounts_on_both_engines(spark, raw_parquet, parity_ws, embedded):
    """Beyond ``CSAI_TRAIN_MAX_ACCOUNTS`` both engines observe the same hashed share of the accounts,
    every date of each, and say how many accounts there were in all."""
    from data.engines import spark_metrics as sm
    from models.observations import build_observations

    raw = sm.read_raw_tables(spark, raw_parquet)
    end = sm.data_end(raw)
    frame, metrics, dates = sm.build_observations(spark, raw, horizon_days=90, max_accounts=60)
    obs = sm.observation_set(frame, metrics, dates, end=end)
    with parity_ws.warehouse.reader() as con:
        local = build_observations(con, horizon_days=90, max_accounts=60)
    total = embedded["obs"].frame["account_id"].nunique()
    assert (obs.accounts_observed, obs.accounts_total) == (local.accounts_observed, local.accounts_total) == (60, total)
    assert set(obs.frame["account_id"]) == set(local.frame["account_id"])
    assert len(obs.frame) == len(local.frame)
    assert obs.frame["labelled"].sum() == local.frame["labelled"].sum()
