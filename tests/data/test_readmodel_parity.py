"""Parity: on the sample company the read model gives the figures the old copies gave.

The old definitions (``data/queries.ACCOUNT_OVERVIEW_SQL``, ``playbooks/context.account_frame`` and
``latest_scores``, ``models/scoring.latest_scores``, ``data/portfolio.LATEST_SCORES``) are frozen here,
verbatim, as the reference they replaced.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data import portfolio, readmodel
from data.access import SYSTEM, Viewer
from playbooks.context import account_frame, eligibility_frame

OLD_OVERVIEW = """
WITH params AS (SELECT CAST(? AS DATE) AS as_of),
cur AS (
    SELECT s.account_id, sum(s.mrr) AS mrr, sum(coalesce(s.seats, 0)) AS seats,
           min(s.renewal_date) FILTER (WHERE s.renewal_date >= p.as_of) AS annual_renewal,
           min(CASE WHEN coalesce(s.billing_period, 'monthly') = 'monthly'
                    THEN CAST(s.start_date + to_months(CAST(datediff('month', s.start_date, p.as_of) AS INTEGER) + 1) AS DATE) END)
               AS monthly_renewal,
           bool_or(s.billing_period = 'annual') AS has_annual
    FROM subscriptions s, params p
    WHERE s.start_date <= p.as_of AND (s.end_date IS NULL OR s.end_date > p.as_of)
    GROUP BY s.account_id
),
first_sub AS (
    SELECT account_id, min(start_date) AS first_start, max(coalesce(end_date, DATE '9999-12-31')) AS last_end
    FROM subscriptions GROUP BY account_id
)
SELECT a.account_id, a.name, a.segment, a.industry, a.region, a.plan, a.csm, a.created_at,
       coalesce(cur.mrr, 0) AS mrr, coalesce(cur.mrr, 0) * 12 AS arr, cur.seats,
       CASE WHEN cur.account_id IS NULL THEN NULL
            WHEN cur.has_annual THEN cur.annual_renewal ELSE cur.monthly_renewal END AS renewal_date,
       CASE WHEN cur.has_annual THEN 'annual' WHEN cur.account_id IS NOT NULL THEN 'monthly' END AS billing_period,
       datediff('day', coalesce(fs.first_start, a.created_at), p.as_of) AS tenure_days,
       CASE WHEN cur.account_id IS NOT NULL THEN 'active'
            WHEN fs.account_id IS NULL THEN 'no subscription' ELSE 'churned' END AS status,
       CASE WHEN cur.account_id IS NULL AND fs.account_id IS NOT NULL AND fs.last_end <= p.as_of
            THEN fs.last_end END AS churned_on
FROM accounts a CROSS JOIN params p
LEFT JOIN cur ON cur.account_id = a.account_id
LEFT JOIN first_sub fs ON fs.account_id = a.account_id
ORDER BY arr DESC, a.account_id
"""

OLD_PLAYBOOK_ACCOUNTS = """
WITH subs AS (
    SELECT account_id,
           sum(mrr) FILTER (WHERE start_date <= ? AND (end_date IS NULL OR end_date > ?)) * 12 AS arr,
           bool_or(start_date <= ? AND (end_date IS NULL OR end_date > ?)) AS active,
           min(renewal_date) FILTER (WHERE renewal_date >= ? AND (end_date IS NULL OR end_date > ?)) AS renewal_date
    FROM subscriptions GROUP BY account_id
)
SELECT a.account_id, coalesce(s.active, FALSE) AS active, coalesce(s.arr, 0) AS arr, s.renewal_date,
       datediff('day', CAST(? AS DATE), s.renewal_date) AS days_to_renewal
FROM accounts a LEFT JOIN subs s USING (account_id) ORDER BY a.account_id
"""

OLD_SCORING_LATEST = """
WITH runs AS (SELECT DISTINCT scored_at FROM scores),
ranked AS (SELECT scored_at, row_number() OVER (ORDER BY scored_at DESC) AS k FROM runs),
cur AS (SELECT s.* FROM scores s JOIN ranked r ON r.scored_at = s.scored_at AND r.k = 1),
prev AS (SELECT s.account_id, s.p_churn FROM scores s JOIN ranked r ON r.scored_at = s.scored_at AND r.k = 2),
top AS (
    SELECT d.account_id, d.sentence, d."group",
           row_number() OVER (PARTITION BY d.account_id
                              ORDER BY d."group" IN ('Contract', 'Firmographic'), d.shap DESC) AS k
    FROM score_drivers d JOIN ranked r ON r.scored_at = d.scored_at AND r.k = 1
    WHERE d.target = 'churn' AND d.shap > 0)
SELECT cur.account_id, cur.p_churn, cur.risk_band, cur.p_expansion, cur.arr, cur.expected_arr_loss,
       prev.p_churn AS p_churn_prev, top.sentence AS top_driver, top."group" AS top_driver_group
FROM cur LEFT JOIN prev ON prev.account_id = cur.account_id
LEFT JOIN top ON top.account_id = cur.account_id AND top.k = 1
ORDER BY cur.account_id
"""

OLD_KPI_SCORES = """
WITH latest AS (SELECT s.* FROM scores s WHERE s.scored_at = (SELECT max(scored_at) FROM scores))
SELECT count(*), sum(coalesce(s.expected_arr_loss, s.p_churn * s.arr)), count(*) FILTER (WHERE s.risk_band = 'high'),
       sum(s.p_expansion * s.arr)
FROM latest s
"""


@pytest.fixture(scope="module")
def con(sample_workspace):
    c = sample_workspace.warehouse.connect()
    yield c
    c.close()


def test_as_of_is_the_sample_end_date(con):
    assert readmodel.as_of_date(con) == date(2026, 6, 30)
    assert readmodel.data_end(con) == date(2026, 6, 30)


def test_account_state_matches_the_old_overview(con):
    as_of = readmodel.as_of_date(con)
    old = con.execute(OLD_OVERVIEW, [as_of]).df().set_index("account_id").sort_index()
    new = readmodel.account_state(con, SYSTEM).set_index("account_id").sort_index()
    assert list(new.index) == list(old.index)
    for col in old.columns:
        pd.testing.assert_series_equal(new[col], old[col], check_dtype=False, check_names=False, obj=col)
    assert new["shape"].eq("billing").all() and new["has_revenue"].all()


def test_csm_scope_is_unchanged(con):
    csm = con.execute("SELECT csm FROM accounts WHERE csm IS NOT NULL ORDER BY csm LIMIT 1").fetchone()[0]
    viewer = Viewer("c", ("csm",), csm=csm)
    as_of = readmodel.as_of_date(con)
    old = con.execute(OLD_OVERVIEW, [as_of]).df()
    assert sorted(readmodel.account_state(con, viewer)["account_id"]) == sorted(old[old["csm"] == csm]["account_id"])


def test_playbook_eligibility_matches_the_old_account_frame(con):
    as_of = readmodel.as_of_date(con)
    old = con.execute(OLD_PLAYBOOK_ACCOUNTS, [as_of] * 7).df().set_index("account_id")
    new = account_frame(con).set_index("account_id")
    for col in ("active", "arr", "renewal_date", "days_to_renewal"):
        pd.testing.assert_series_equal(new[col], old[col], check_dtype=False, check_names=False, obj=col)


def test_latest_scores_match_the_old_copies(con):
    if not readmodel.has_scores(con):
        pytest.skip("the sample workspace was built without scores")
    old = con.execute(OLD_SCORING_LATEST).df().set_index("account_id")
    new = readmodel.latest_scores(con).set_index("account_id").sort_index()
    for col in old.columns:
        pd.testing.assert_series_equal(new[col], old[col], check_dtype=False, check_names=False, obj=col)
    n, loss, high, pipeline = con.execute(OLD_KPI_SCORES).fetchone()
    k = portfolio.kpis(con, SYSTEM)
    assert (k.scored_accounts, k.high_risk_accounts) == (n, high)
    assert k.expected_arr_loss == pytest.approx(loss) and k.expansion_pipeline == pytest.approx(pipeline)
    frame, scored = eligibility_frame(con)
    assert scored and frame["p_churn"].notna().sum() == n


def test_renewals_in_90_days_agree_between_portfolio_and_accounts(con):
    """One definition: the Portfolio's annual renewals and the Accounts count of active accounts."""
    as_of = readmodel.as_of_date(con)
    state = readmodel.account_state(con, SYSTEM)
    renewals = portfolio.renewals(con, SYSTEM, as_of, days=180)
    portfolio_count = int(((renewals["days_to_renewal"] <= 90) & (renewals["billing_period"] == "annual")).sum())
    assert int(readmodel.renewing_within(state, as_of, 90).sum()) == portfolio_count > 0
