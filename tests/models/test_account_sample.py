"""Training observes at most ``CSAI_TRAIN_MAX_ACCOUNTS`` accounts: a fixed share of the accounts,
every date and every row of each, with the same features and labels as without the sample."""

from __future__ import annotations

import pandas as pd
import pytest

import cli as cli_module
from data.settings import SettingsError, read_model_settings
from data.workspace import open_workspace
from models.observations import build_observations, sample_accounts
from models.registry import list_models
from tests.support.synthetic import make_company, write_company


@pytest.fixture(scope="module")
def company_ws(tmp_path_factory):
    ws = open_workspace(str(tmp_path_factory.mktemp("sampled") / "ws"))
    write_company(ws.warehouse, make_company(n=160, months=15, seed=11))
    return ws


def test_a_sample_keeps_every_row_of_the_accounts_it_keeps_with_the_same_values(company_ws):
    with company_ws.warehouse.reader() as con:
        full = build_observations(con, horizon_days=90, max_accounts=10_000)
        sampled = build_observations(con, horizon_days=90, max_accounts=50)
    total = full.frame["account_id"].nunique()
    assert total > 50 and not full.sampled and full.accounts_observed == full.accounts_total == total
    assert sampled.sampled and sampled.accounts_observed == 50 and sampled.accounts_total == total
    kept = set(sampled.frame["account_id"])
    assert len(kept) == 50
    expected = full.frame[full.frame["account_id"].isin(kept)].reset_index(drop=True)
    # the same rows in the same order, with the same features and labels (metrics are per account)
    pd.testing.assert_frame_equal(sampled.frame[expected.columns], expected, check_dtype=False)
    assert sampled.dates == full.dates and sampled.labelled()["label_churn"].sum() > 0


def test_the_sample_does_not_depend_on_row_order_and_repeats_exactly():
    rows = pd.DataFrame({"account_id": [f"a{i % 300}" for i in range(1200)],
                         "obs_date": [i // 300 for i in range(1200)]})
    a, kept, total = sample_accounts(rows, 40)
    b, _, _ = sample_accounts(rows.sample(frac=1.0, random_state=3), 40)
    assert (kept, total) == (40, 300)
    assert set(a["account_id"]) == set(b["account_id"]) and a["account_id"].nunique() == 40
    assert len(a) == 40 * 4  # every date of each kept account
    assert a.equals(rows[rows["account_id"].isin(set(a["account_id"]))].reset_index(drop=True))  # order kept
    same, k, t = sample_accounts(rows, 300)
    assert same is rows and (k, t) == (300, 300)


def test_the_cli_says_when_training_observed_a_sample(company_ws, monkeypatch, capsys):
    monkeypatch.setenv("CSAI_TRAIN_MAX_ACCOUNTS", "100")
    before = {r.id for r in list_models(company_ws.engine)}
    code = cli_module.main(["--workspace", str(company_ws.path), "train", "--algorithm", "logreg"])
    out = capsys.readouterr().out
    assert code == 0, out
    with company_ws.warehouse.reader() as con:
        total = build_observations(con, max_accounts=10_000).accounts_total
    assert f"Observed a fixed sample of 100 of {total:,} accounts at every date" in out
    (new,) = [r for r in list_models(company_ws.engine) if r.id not in before]
    assert new.evaluation.training_rows["accounts_observed"] == 100
    assert new.evaluation.training_rows["accounts_total"] == total


@pytest.mark.parametrize("raw, says", [("lots", "CSAI_TRAIN_MAX_ACCOUNTS='lots' is not a whole number"),
                                       ("10", "CSAI_TRAIN_MAX_ACCOUNTS=10 is out of range")])
def test_a_bad_sample_size_setting_names_the_setting(raw, says):
    with pytest.raises(SettingsError) as err:
        read_model_settings({"CSAI_TRAIN_MAX_ACCOUNTS": raw})
    assert str(err.value).startswith(says) and "between 100 and 100000000" in str(err.value)
