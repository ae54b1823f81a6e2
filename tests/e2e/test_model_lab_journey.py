"""Browser journey: a data scientist trains a model, compares it with production and promotes it."""

from __future__ import annotations

import pytest

from tests.support.browser import login, shot, wait_idle

pytestmark = pytest.mark.e2e


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)
    wait_idle(page)


@pytest.mark.slow
def test_data_scientist_trains_compares_and_promotes(private_server, page):
    from models.registry import list_models, production_model

    demo_server, sample_workspace = private_server, private_server.ws  # trains and promotes in its own copy

    original = production_model(sample_workspace.engine, "churn")
    before = {r.id for r in list_models(sample_workspace.engine)}
    page.set_viewport_size({"width": 1440, "height": 2200})
    login(page, demo_server.url, "datasci", "datasci-demo-pass", "/model_lab")
    page.get_by_role("heading", name="Model lab").wait_for()
    wait_idle(page)
    shot(page, "model_lab_data_health")
    _tab(page, "Train")
    page.get_by_role("button", name="Train model").wait_for()
    shot(page, "model_lab_train_form")
    page.get_by_role("button", name="Train model").click()
    page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="as a candidate").wait_for(
        timeout=180_000)
    wait_idle(page)
    shot(page, "model_lab_trained")
    new = [r for r in list_models(sample_workspace.engine) if r.id not in before]
    assert len(new) == 1 and new[0].status == "candidate" and new[0].created_by == "datasci"

    _tab(page, "Evaluate")
    page.get_by_text("If you act on the list").wait_for()
    page.wait_for_timeout(1500)
    shot(page, "model_lab_evaluate")

    _tab(page, "Compare")
    page.locator(".js-plotly-plot .gtitle", has_text="ROC curves of two models").first.wait_for()
    page.wait_for_timeout(1500)
    shot(page, "model_lab_compare")

    _tab(page, "Promote")
    page.get_by_text("I have compared it").click()
    page.get_by_role("button", name="Promote to production").click()
    page.get_by_text(f"{new[0].id} is now the production churn model").wait_for()
    wait_idle(page)
    shot(page, "model_lab_promoted")
    assert production_model(sample_workspace.engine, "churn").id == new[0].id != original.id
