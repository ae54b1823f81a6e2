"""The Explanation object and the reasons it gives: unit tests on small hand-made SHAP values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.metrics import STATIC_METRICS, attribute_metric, render_sentence
from models.explain import DEFAULT_GROUP, Explanation, waterfall_steps

CATALOG = {m.name: m for m in STATIC_METRICS} | {"csm": attribute_metric("csm", True)}


def _explanation() -> Explanation:
    """Three accounts; the CSM and a "not known" CSAT have the largest effects on the first."""
    values = pd.DataFrame({
        "csm": [2.0, 0.1, -0.3],
        "csat_180d": [-1.5, 0.2, 0.05],
        "tickets_30d": [0.8, -0.4, 0.3],
        "days_since_champion_left": [0.6, 0.0, 0.1],  # missing means "No champion has left": a fact
        "days_since_nps": [0.3, 0.5, -0.2],
        "attr_tier": [0.05, -0.05, 0.0],  # not in the catalog
    })
    data = pd.DataFrame({
        "csm": ["Amara Okafor", "Amara Okafor", "Jonas Weber"],
        "csat_180d": [np.nan, 4.5, 3.0],
        "tickets_30d": [3.0, 1.0, 0.0],
        "days_since_champion_left": [np.nan, np.nan, 12.0],
        "days_since_nps": [1.0, 30.0, 2.0],
        "attr_tier": ["gold", "silver", None],
    })
    return Explanation(values=values, base_values=np.full(3, -2.0), data=data).described(CATALOG)


def test_the_csm_is_never_a_reason_and_not_known_values_are_no_data():
    expl = _explanation()
    drivers, others = expl.split(["a1", "a2", "a3"], k=3)
    assert "csm" not in set(drivers["feature"])
    assert not drivers["sentence"].str.contains("Customer success manager|not known").any()
    first = drivers[drivers["account_id"] == "a1"].sort_values("rank")
    assert list(first["feature"]) == ["tickets_30d", "days_since_champion_left", "days_since_nps"]
    assert list(first["rank"]) == [1, 2, 3]
    assert "No champion has left" in set(first["sentence"])
    assert "Last NPS response was 1 day ago" in set(first["sentence"])
    no_data = others[others["kind"] == "no_data"]
    assert list(zip(no_data["account_id"], no_data["label"], strict=True)) == [("a1", "Support CSAT")]
    # a2's CSAT is known, so it is a reason there
    assert "csat_180d" in set(drivers.loc[drivers["account_id"] == "a2", "feature"])


def test_drivers_and_other_factors_add_up_to_every_rows_shap():
    expl = _explanation()
    drivers, others = expl.split(["a1", "a2", "a3"], k=2)
    total = drivers.groupby("account_id")["shap"].sum().add(others.groupby("account_id")["shap"].sum(), fill_value=0)
    np.testing.assert_allclose(total.loc[["a1", "a2", "a3"]].to_numpy(), expl.values.sum(axis=1).to_numpy())
    groups = others[others["kind"] == "group"]
    # the CSM's effect on a1 sits in its driver group's remainder, named after the group, not the person
    rel = groups[(groups["account_id"] == "a1") & (groups["group"] == "Relationship")]
    assert rel["shap"].iloc[0] == pytest.approx(2.0)
    assert not groups["label"].str.contains("Okafor").any()


def test_labels_groups_and_importance_come_from_one_explanation():
    expl = _explanation()
    assert expl.labels["csat_180d"] == "Support CSAT" and expl.groups["tickets_30d"] == "Support"
    assert expl.labels["attr_tier"] == "attr_tier" and expl.groups["attr_tier"] == DEFAULT_GROUP
    imp = expl.importance()
    assert list(imp.columns) == ["feature", "label", "group", "mean_abs_shap"]
    assert imp["feature"].iloc[0] == "csm"
    assert imp["mean_abs_shap"].iloc[0] == pytest.approx(2.4 / 3)
    groups = expl.group_importance().set_index("group")["mean_abs_shap"]
    support = expl.values[["csat_180d", "tickets_30d"]].sum(axis=1).abs().mean()
    assert groups["Support"] == pytest.approx(support)  # |sum| per row, then the mean: SHAP adds up


@pytest.mark.parametrize(("name", "value", "sentence"), [
    ("days_since_nps", 1, "Last NPS response was 1 day ago"),
    ("days_since_nps", 2, "Last NPS response was 2 days ago"),
    ("days_since_champion_left", 1, "A champion left 1 day ago"),
    ("tenure_days", 1, "Customer for 1 day"),
    ("overdue_invoices", 1, "1 invoice is overdue"),
    ("failed_payments_90d", 1, "1 failed payment in the last 90 days"),
    ("nps_change", 1, "NPS changed by +1 point since the previous response"),
    ("active_days_30d", 1, "Product used on 1 of the last 30 days"),
])
def test_sentences_use_the_singular_after_one(name, value, sentence):
    assert render_sentence(CATALOG[name], value) == sentence


def _stored(expl: Explanation, k: int = 2):
    drivers, others = expl.split(["a1", "a2", "a3"], k=k)
    d1 = drivers[drivers["account_id"] == "a1"]
    o1 = others[others["account_id"] == "a1"]
    other = float(expl.values.iloc[0].sum() - d1["shap"].sum())
    return d1, o1, other


def test_waterfall_groups_the_rest_by_driver_group_instead_of_all_other_factors():
    expl = _explanation()
    d1, o1, other = _stored(expl)
    base = float(expl.base_values[0])
    p_final = float(1 / (1 + np.exp(-(base + expl.values.iloc[0].sum()))))
    steps = waterfall_steps(d1, base, other, p_final, scale="calibrated", others=o1)
    labels = list(steps["label"])
    assert "All other factors" not in labels
    assert "Support CSAT: no data" in labels and "Other relationship metrics" in labels
    assert not any("Okafor" in str(s) for s in steps["sentence"])
    assert steps.loc[steps["measure"] != "total", "delta"].sum() == pytest.approx(p_final, abs=1e-12)
    relative = steps[steps["measure"] == "relative"]
    assert relative.loc[relative["delta"].abs().idxmax(), "label"] != "All other factors"


def test_waterfall_names_calibration_in_plain_words_for_plain_readers():
    expl = _explanation()
    d1, o1, other = _stored(expl)
    tech = waterfall_steps(d1, -2.0, other, 0.3, scale="model", p_base=0.1, others=o1)
    plain = waterfall_steps(d1, -2.0, other, 0.3, scale="model", p_base=0.1, others=o1, plain=True)
    assert "Calibration" in set(tech["label"])
    assert "Calibration" not in set(plain["label"]) and "Match to observed churn rates" in set(plain["label"])
    assert plain.iloc[-1]["delta"] == pytest.approx(0.3)
