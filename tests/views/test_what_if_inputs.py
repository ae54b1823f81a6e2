"""What-if inputs use the widget that fits: a toggle for flags, whole numbers for counts, percentages for shares;
labels say what they count ("Champions left in the last 90 days", never "Champion left 1.00")."""

from __future__ import annotations

import pytest

from components.what_if import input_spec
from data.metrics import STATIC_METRICS, Metric
from models.scoring import latest_scores
from tests.support.apptest import run_app

CATALOG = {m.name: m for m in STATIC_METRICS}
ACCOUNT = "views/account.py"


def test_a_count_is_a_whole_number_with_a_label_that_says_what_it_counts():
    spec = input_spec("champions_left_90d", CATALOG["champions_left_90d"], 1.0)
    assert (spec.kind, spec.label, spec.initial) == ("count", "Champions left in the last 90 days", 1)
    assert isinstance(spec.initial, int) and spec.to_model(0) == 0.0
    users = input_spec("active_users_30d", CATALOG["active_users_30d"], 4.0)
    assert (users.label, users.initial) == ("Active users in the last 30 days", 4)
    assert input_spec("open_tickets", CATALOG["open_tickets"], 2.0).label == "Open support tickets"
    assert input_spec("overdue_invoices", CATALOG["overdue_invoices"], 1.0).label == "Overdue invoices"
    days = input_spec("champion_tenure_days", CATALOG["champion_tenure_days"], 120.4)
    assert (days.kind, days.label, days.initial) == ("count", "Champion tenure (days)", 120)


def test_shares_and_changes_are_percentages_converted_back_to_fractions():
    seats = input_spec("seat_utilisation", CATALOG["seat_utilisation"], 0.8123)
    assert (seats.kind, seats.initial) == ("share", 81) and "%" in seats.label
    assert not seats.changed(81)  # shown rounded, left alone: not a change
    assert seats.changed(90) and seats.to_model(90) == pytest.approx(0.9)
    dau = input_spec("dau_change_30v60", CATALOG["dau_change_30v60"], -0.2)
    assert (dau.kind, dau.initial) == ("change", -20) and dau.to_model(10) == pytest.approx(0.1)
    assert "(%)" in dau.label


def test_flags_are_toggles():
    annual = input_spec("contract_annual", CATALOG["contract_annual"], 1.0)
    assert (annual.kind, annual.initial) == ("flag", True) and annual.to_model(False) == 0.0
    sso = input_spec("attr_has_sso", Metric("attr_has_sso", "Has sso (account attribute)", "Adoption", True,
                                            "Has sso (account attribute) is {value}"), 0.0)
    assert (sso.kind, sso.initial) == ("flag", False) and not sso.changed(False) and sso.to_model(True) == 1.0


def test_unknown_values_stay_empty():
    spec = input_spec("active_users_30d", CATALOG["active_users_30d"], float("nan"))
    assert spec.initial is None and "not known" in spec.help and not spec.changed(None)


@pytest.fixture()
def demo_env(sample_workspace, monkeypatch):
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    return sample_workspace


def test_the_what_if_form_draws_counts_without_decimals(demo_env):
    account = latest_scores(demo_env.warehouse).iloc[0]
    at = run_app("manager", ACCOUNT, {"id": account["account_id"], "tab": "What-if"})
    assert not at.exception and not at.error
    boxes = {b.label: b for b in at.number_input}
    assert boxes, "actionable metrics are offered"
    labels = " | ".join(boxes)
    assert "Champion left" not in labels and "Active users" not in labels.replace("Active users in the last", "")
    counts = [b for b in at.number_input if b.proto.format == "%d"]
    assert counts, labels
    for box in counts:
        assert box.value is None or isinstance(box.value, int), box.label
        assert box.proto.step == 1 or "($)" in box.label or "%" in box.label, box.label
    # nothing touched: nothing re-scored (the rounding for display is not a change)
    next(b for b in at.button if b.label == "Re-score").click()
    at.run()
    assert any("Nothing changed" in i.value for i in at.info)
    # one whole-number change re-scores
    box = next(b for b in at.number_input if b.proto.format == "%d" and "%" not in b.label)
    box.set_value((box.value or 0) + 3)
    next(b for b in at.button if b.label == "Re-score").click()
    at.run()
    assert not at.exception and any(m.label == "What-if churn risk" for m in at.metric)
