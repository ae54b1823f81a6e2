"""Portfolio figures against the hand-made company, with numbers computed by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data import portfolio
from data.access import Viewer
from data.workspace import open_workspace
from tests.support.workspaces import RUN1, RUN2, write_tiny, write_tiny_scores

AS_OF = date(2026, 6, 30)
MANAGER = Viewer("manager", ("manager",))
AVERY = Viewer("csm1", ("csm",), csm="Avery Chen")  # A1 Acme (active), A3 Initech (churned 2026-02-15)
JORDAN = Viewer("csm2", ("csm",), csm="Jordan Patel")  # A2 Globex (active)
NOBODY = Viewer("csm3", ("csm",), csm=None)



@pytest.fixture()
def tiny(tmp_path):
    ws = open_workspace(str(tmp_path / "ws"))
    write_tiny(ws.warehouse)
    return ws


@pytest.fixture()
def con(tiny):
    with tiny.warehouse.reader() as c:
        yield c


@pytest.fixture()
def scored_con(tiny):
    write_tiny_scores(tiny.warehouse)
    with tiny.warehouse.reader() as c:
        yield c


@pytest.fixture()
def busy_con(tiny):
    """Tiny plus a contraction (Acme's add-on ends), an expansion (Globex buys Analytics), a new account."""
    with tiny.warehouse.writer("raw") as w:
        w.execute("INSERT INTO accounts VALUES ('A4', 'Hooli', 'SMB', 'Software', 'NA', 'Starter', 'Jordan Patel', "
                  "DATE '2026-05-10')")
        w.execute("""INSERT INTO subscriptions VALUES
            ('A1', 'Addon', DATE '2025-05-01', DATE '2026-04-01', 100, 2, 'monthly', NULL),
            ('A2', 'Analytics', DATE '2026-01-01', NULL, 2000, 50, 'annual', DATE '2027-01-01'),
            ('A4', 'Core', DATE '2026-05-10', NULL, 500, 5, 'monthly', NULL)""")
    with tiny.warehouse.reader() as c:
        yield c


# --------------------------------------------------------------------------- KPIs and scoping
def test_kpis_without_scores(con):
    k = portfolio.kpis(con, MANAGER)
    assert (k.accounts, k.arr) == (2, (250 + 18000) * 12)
    assert k.scored_at is None and k.expected_arr_loss is None and k.high_risk_accounts is None
    assert not portfolio.has_scores(con)


def test_kpis_with_scores_are_the_latest_run(scored_con):
    k = portfolio.kpis(scored_con, MANAGER)
    assert k.scored_at == RUN2.to_pydatetime()
    assert k.scored_accounts == 2
    assert k.expected_arr_loss == pytest.approx(0.60 * 3000 + 0.02 * 216000)
    assert (k.high_risk_accounts, k.high_risk_arr) == (1, 3000)
    assert k.expansion_pipeline == pytest.approx(0.05 * 3000 + 0.50 * 216000)


@pytest.mark.parametrize("viewer, accounts, arr, loss, high, pipeline, grr", [
    (AVERY, 1, 3000, 1800, 1, 150, 250 / 2750),
    (JORDAN, 1, 216000, 4320, 0, 108000, 1.0),
    (NOBODY, 0, 0, None, None, None, None),
])
def test_a_csm_counts_only_their_book(scored_con, viewer, accounts, arr, loss, high, pipeline, grr):
    k = portfolio.kpis(scored_con, viewer)
    assert (k.accounts, k.arr) == (accounts, arr)
    assert k.expected_arr_loss == (None if loss is None else pytest.approx(loss))
    assert k.high_risk_accounts == high
    assert k.expansion_pipeline == (None if pipeline is None else pytest.approx(pipeline))
    assert k.grr == (None if grr is None else pytest.approx(grr))


# --------------------------------------------------------------------------- GRR / NRR and movements
def test_grr_nrr_on_tiny(con):
    r = portfolio.retention_12m(con, MANAGER)
    assert r["start"] == date(2025, 6, 30)
    assert r["start_mrr"] == 250 + 18000 + 2500
    assert (r["churn"], r["contraction"], r["expansion"]) == (-2500, 0, 0)  # Initech churned
    assert r["grr"] == pytest.approx(18250 / 20750)
    assert r["nrr"] == pytest.approx(18250 / 20750)


def test_grr_nrr_with_contraction_expansion_and_a_new_account(busy_con):
    r = portfolio.retention_12m(busy_con, MANAGER)
    assert r["start_mrr"] == 350 + 18000 + 2500  # Hooli started inside the window: not counted
    assert (r["churn"], r["contraction"], r["expansion"]) == (-2500, -100, 2000)
    assert r["grr"] == pytest.approx((20850 - 2500 - 100) / 20850)
    assert r["nrr"] == pytest.approx((20850 - 2500 - 100 + 2000) / 20850)


def test_monthly_waterfall_on_tiny(con):
    df = portfolio.mrr_movements(con, MANAGER, months=18).set_index("month")
    assert len(df) == 18
    assert df.index[0] == pd.Timestamp("2025-01-01") and df.index[-1] == pd.Timestamp("2026-06-01")
    assert df.loc[pd.Timestamp("2025-01-01"), "start_mrr"] == 15000 + 2500
    assert df.loc[pd.Timestamp("2025-01-01"), "new"] == 250  # Acme signs on 10 Jan 2025
    assert df.loc[pd.Timestamp("2025-03-01"), "expansion"] == 3000  # Globex renews at 18,000
    assert df.loc[pd.Timestamp("2026-02-01"), "churn"] == -2500  # Initech ends 15 Feb 2026
    moves = df[["new", "expansion", "contraction", "churn"]]
    assert moves.abs().to_numpy().sum() == 250 + 3000 + 2500  # nothing else moved
    assert (df["start_mrr"] + df["net"]).tolist() == df["end_mrr"].tolist()
    assert df["end_mrr"].iloc[-1] == 18250


def test_monthly_waterfall_classifies_every_movement(busy_con):
    df = portfolio.mrr_movements(busy_con, MANAGER, months=12).set_index("month")
    assert df.index[0] == pd.Timestamp("2025-07-01")
    assert df.loc[pd.Timestamp("2026-01-01"), "expansion"] == 2000
    assert df.loc[pd.Timestamp("2026-02-01"), "churn"] == -2500
    assert df.loc[pd.Timestamp("2026-04-01"), "contraction"] == -100
    assert df.loc[pd.Timestamp("2026-05-01"), "new"] == 500
    assert df["start_mrr"].iloc[0] + df["net"].sum() == df["end_mrr"].iloc[-1] == 20750


def test_waterfall_is_scoped(busy_con):
    df = portfolio.mrr_movements(busy_con, JORDAN, months=12)
    assert df["churn"].sum() == 0 and df["contraction"].sum() == 0  # Initech and Acme are Avery's
    assert df["new"].sum() == 500 and df["expansion"].sum() == 2000
    assert portfolio.mrr_movements(busy_con, NOBODY).empty


def test_month_ends_use_the_as_of_date_for_the_current_month():
    assert portfolio.month_ends(date(2026, 6, 15), 2) == [date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 15)]


# --------------------------------------------------------------------------- risk figures
def test_risk_by_segment_and_csm(scored_con):
    seg = portfolio.risk_by_group(scored_con, MANAGER, "segment")
    assert seg[["group", "risk_band", "accounts", "arr"]].values.tolist() == [
        ["Enterprise", "low", 1, 216000], ["SMB", "high", 1, 3000]]
    csm = portfolio.risk_by_group(scored_con, AVERY, "csm")
    assert csm["group"].tolist() == ["Avery Chen"]
    with pytest.raises(ValueError, match="cannot group the portfolio by"):
        portfolio.risk_by_group(scored_con, MANAGER, "name; DROP TABLE accounts")


def test_risk_distribution_bins(scored_con):
    df = portfolio.risk_distribution(scored_con, MANAGER)
    # largest p is 0.60 -> 2-point bins
    assert df[["bin_start", "bin_end", "risk_band", "accounts"]].values.tolist() == [
        [0.02, 0.04, "low", 1], [0.60, 0.62, "high", 1]]
    assert portfolio.risk_distribution(scored_con, JORDAN)["accounts"].sum() == 1


def test_score_figures_are_empty_before_scoring(con):
    assert portfolio.risk_distribution(con, MANAGER).empty
    assert portfolio.risk_by_group(con, MANAGER, "segment").empty
    assert portfolio.top_movers(con, MANAGER).empty
    assert portfolio.scoring_runs(con) == []
    r = portfolio.renewals(con, MANAGER)
    assert r["p_churn"].isna().all() and len(r) == 2


# --------------------------------------------------------------------------- renewals
def test_renewals_soonest_first_with_risk(scored_con):
    r = portfolio.renewals(scored_con, MANAGER, days=180)
    assert r["account_id"].tolist() == ["A1", "A2"]
    assert r["renewal_date"].dt.date.tolist() == [date(2026, 7, 10), date(2026, 9, 1)]
    assert r["days_to_renewal"].tolist() == [10, 63]
    assert r["risk_band"].tolist() == ["high", "low"]
    assert r["expected_arr_loss"].tolist() == pytest.approx([1800, 4320])
    assert portfolio.renewals(scored_con, MANAGER, days=30)["account_id"].tolist() == ["A1"]
    assert portfolio.renewals(scored_con, JORDAN)["account_id"].tolist() == ["A2"]


# --------------------------------------------------------------------------- movers
def test_top_movers_with_the_driver_that_moved(scored_con):
    m = portfolio.top_movers(scored_con, MANAGER).set_index("account_id")
    assert m.loc["A1", "direction"] == "up" and m.loc["A1", "change"] == pytest.approx(0.30)
    assert m.loc["A1", "driver"] == "Logins (30 days)"  # +0.30 beats the new NPS driver (+0.25)
    assert m.loc["A1", "driver_shap_change"] == pytest.approx(0.30)
    assert m.loc["A2", "direction"] == "down" and m.loc["A2", "change"] == pytest.approx(-0.03)
    assert m.loc["A2", "driver"] == "Seat utilisation"  # -0.30 beats champion (-0.20)
    assert m.loc["A2", "p_before"] == pytest.approx(0.05)
    assert m.loc["A2", "previous_scored_at"] == RUN1


def test_top_movers_are_scoped_and_need_two_runs(scored_con, tiny):
    assert portfolio.top_movers(scored_con, AVERY)["account_id"].tolist() == ["A1"]
    assert portfolio.top_movers(scored_con, MANAGER, min_change=0.05)["account_id"].tolist() == ["A1"]
    assert portfolio.scoring_runs(scored_con) == [RUN2.to_pydatetime(), RUN1.to_pydatetime()]


# --------------------------------------------------------------------------- survival
def test_kaplan_meier_hand_computed():
    # t: 1 2 2+ 3 4+ 5  (+ = censored)
    km = portfolio.kaplan_meier([1, 2, 2, 3, 4, 5], [True, True, False, True, False, True])
    assert km["time"].tolist() == [0, 1, 2, 3, 4, 5]
    assert km["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert km["events"].tolist() == [0, 1, 1, 1, 0, 1]
    assert km["censored"].tolist() == [0, 0, 1, 0, 1, 0]
    expected = [1, 5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 2 / 3, 5 / 6 * 4 / 5 * 2 / 3, 0]
    assert km["survival"].tolist() == pytest.approx(expected)


def test_kaplan_meier_band_at_risk_and_median_match_lifelines():
    # lifelines 0.30.3, KaplanMeierFitter().fit([1, 2, 2, 3, 5, 8], [1, 0, 1, 1, 0, 1]): survival_function_,
    # confidence_interval_ (exponential Greenwood, 95 %), event_table.at_risk and median_survival_time_
    km = portfolio.kaplan_meier([1, 2, 2, 3, 5, 8], [True, False, True, True, False, True])
    assert km["time"].tolist() == [0, 1, 2, 3, 5, 8]
    assert km["at_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert km["survival"].tolist() == pytest.approx([1, 0.833333, 0.666667, 0.444444, 0.444444, 0], abs=1e-6)
    assert km["ci_low"].tolist() == pytest.approx([1, 0.273123, 0.194617, 0.066187, 0.066187, 0], abs=1e-6)
    assert km["ci_high"].tolist() == pytest.approx([1, 0.974712, 0.904434, 0.784908, 0.784908, 0], abs=1e-6)
    assert portfolio.median_survival(km) == 3.0
    assert portfolio.median_survival(portfolio.kaplan_meier([3, 5], [False, True])) == 5.0
    assert portfolio.median_survival(portfolio.kaplan_meier([3, 5, 7], [True, False, False])) is None


def test_survival_curves_carry_the_band_and_the_median():
    s = pd.DataFrame({"duration_days": [30, 60, 90, 400, 400], "churned": [True, False, True, False, False],
                      "segment": ["SMB", "SMB", "SMB", "Enterprise", "Enterprise"]})
    curves = portfolio.survival_curves(s, "segment", min_accounts=2).set_index("group")
    assert (curves["ci_low"] <= curves["survival"]).all() and (curves["survival"] <= curves["ci_high"]).all()
    assert curves.loc["SMB", "median_months"].iloc[0] == pytest.approx(90 / portfolio.DAYS_PER_MONTH)
    assert curves.loc["Enterprise", "median_months"].isna().all()  # nobody left yet


def test_kaplan_meier_all_censored_and_empty():
    assert portfolio.kaplan_meier([3, 5], [False, False])["survival"].tolist() == [1, 1, 1]
    assert portfolio.kaplan_meier([], [])["survival"].tolist() == [1]


def test_survival_data_censors_active_accounts_at_the_as_of_date(con):
    s = portfolio.survival_data(con, MANAGER).set_index("account_id")
    assert s.loc["A1", ["duration_days", "churned"]].tolist() == [536, False]  # 10 Jan 2025 -> as-of, censored
    assert s.loc["A2", ["duration_days", "churned"]].tolist() == [851, False]  # renewal is one continuous spell
    assert s.loc["A3", ["duration_days", "churned"]].tolist() == [610, True]  # 15 Jun 2024 -> 15 Feb 2026
    assert s["cohort"].to_dict() == {"A1": "2025 Q1", "A2": "2024 Q1", "A3": "2024 Q2"}
    km = portfolio.survival_curves(s.reset_index(), "segment", min_accounts=1)
    assert set(km["group"]) == {"SMB", "Enterprise", "Mid-Market"}
    overall = portfolio.kaplan_meier(s["duration_days"], s["churned"])
    assert overall["survival"].tolist() == pytest.approx([1, 1, 0.5, 0.5])  # at 610 days, 1 of 2 at risk churns
    assert portfolio.survival_data(con, AVERY)["account_id"].tolist() == ["A1", "A3"]


def test_survival_curves_drop_small_groups(con):
    s = portfolio.survival_data(con, MANAGER)
    assert portfolio.survival_curves(s, "segment", min_accounts=2).empty
    km = portfolio.survival_curves(s, "cohort", min_accounts=1, groups=["2024 Q2"])
    assert km["group"].unique().tolist() == ["2024 Q2"]
    assert km["months"].iloc[-1] == pytest.approx(610 / portfolio.DAYS_PER_MONTH)
