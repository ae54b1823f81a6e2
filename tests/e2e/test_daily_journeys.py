"""Browser journeys for the daily users: a manager drills from the portfolio into an account;
a CSM opens an account from their book, reads the reasons and runs a what-if."""

from __future__ import annotations

import pytest

from data.users import demo_password, get_user
from models.scoring import latest_scores
from tests.support.browser import login, open_first_row, shot, wait_idle

pytestmark = pytest.mark.e2e


def test_manager_reviews_portfolio_and_drills_into_an_account(demo_server, page, sample_workspace):
    login(page, demo_server.url, "manager", demo_password("manager"))
    page.get_by_role("heading", name="Portfolio").wait_for()
    page.get_by_text("Expected ARR loss").first.wait_for()
    page.wait_for_timeout(1500)
    shot(page, "portfolio_manager")
    # drill down: the accounts page filtered by segment and the riskiest band the latest scoring has
    scores = latest_scores(sample_workspace.warehouse)
    band = next(b for b in ("high", "medium", "low") if (scores["risk_band"] == b).any())
    page.goto(f"{demo_server.url}/accounts?risk={band}")
    page.get_by_text("Click a row's name to open the account").wait_for()
    open_first_row(page)
    page.get_by_text("What drives this account").wait_for()
    assert f"Churn risk · {band}" in page.content()
    shot(page, "account_drilldown_manager")


def test_csm_reads_reasons_and_runs_a_what_if(demo_server, page, sample_workspace):
    csm = get_user(sample_workspace.settings.auth_file, "csm1").csm
    scores = latest_scores(sample_workspace.warehouse)
    with sample_workspace.warehouse.reader() as con:
        book = {r[0] for r in con.execute("SELECT account_id FROM accounts WHERE csm = ?", [csm]).fetchall()}
    account_id = scores[scores["account_id"].isin(book)].iloc[0]["account_id"]
    login(page, demo_server.url, "csm1", demo_password("csm1"), path=f"/account?id={account_id}")
    page.get_by_text("In plain words").wait_for()
    wait_idle(page)
    # the account's strongest driver is read out with the direction it pushes the risk
    from models.scoring import account_explanation

    top = account_explanation(sample_workspace.warehouse, account_id).drivers.sort_values("rank").iloc[0]
    said = page.locator('[data-testid="stMain"]').inner_text()
    assert f"{top['sentence']} — {'▲ raises risk' if top['shap'] > 0 else '▼ lowers risk'}" in said
    shot(page, "account_reasons_csm")
    page.get_by_role("tab", name="What-if").click()
    page.get_by_role("button", name="Re-score").wait_for()
    first = page.locator('[data-testid="stNumberInput"]').first
    label = first.locator('[data-testid="stWidgetLabel"]').inner_text().strip()
    box = first.locator('input[type="number"]')
    current = float(box.input_value() or "nan")
    new_value = 0 if current != 0 else 1  # a whole number: counts take no decimals
    box.fill(str(new_value))
    page.get_by_role("button", name="Re-score").click()
    page.get_by_text("What-if churn risk").wait_for()
    wait_idle(page)

    # the page shows what the production model says for this account with that one value changed
    from components.what_if import input_spec
    from models.scoring import account_features, load_production, what_if

    _, model = load_production(sample_workspace.engine, "churn")
    features = account_features(sample_workspace.warehouse, account_id)
    specs = [input_spec(f, m, features[f].iat[0]) for f, m in model.catalog.items()
             if f in model.numeric and f in features]
    spec = next(s for s in specs if s.label == label)  # the label says what it counts, in display units
    expected = what_if(model, features, {spec.feature: spec.to_model(new_value)})
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="What-if churn risk")
    assert metric.locator('[data-testid="stMetricValue"]').inner_text().strip() == f"{expected['p_after']:.0%}"
    delta = f"{(expected['p_after'] - expected['p_before']) * 100:+.1f} pts"
    assert delta in metric.locator('[data-testid="stMetricDelta"]').inner_text()
    shot(page, "account_what_if_csm")
