"""Layout and accessibility through the pages: the Accounts table's reading order, readable names, wrapping cards."""

from __future__ import annotations

import json

from components import styles
from tests.support.apptest import run_app
from tests.support.workspaces import write_tiny_scores as write_scores


def test_accounts_table_leads_with_account_risk_arr_renewal_and_top_driver(tiny_ws):
    write_scores(tiny_ws.warehouse)
    at = run_app("manager", "views/accounts.py")
    assert not at.exception and not at.error
    table = next(d for d in at.dataframe if d.proto.column_order)
    order = list(table.proto.column_order)
    assert order[:5] == ["name", "risk_band", "arr", "renewal_date", "top_driver"]
    assert set(order) == set(table.value.columns)  # every column still shown: only the order changed
    config = json.loads(table.proto.columns)
    # pinned columns are drawn in Streamlit's faded grey, which reads as disabled
    assert not config["name"].get("pinned")
    assert config["name"]["label"] == "Account"
    assert set(table.value["risk_band"]) <= {"High", "Medium", "Low", "not scored"}  # a word, not only a colour


def test_every_page_carries_the_card_wrapping_css(tiny_ws):
    at = run_app("manager", "views/portfolio.py")
    assert not at.exception
    css = [h.proto.body for h in at.get("html")]
    assert any("flex-wrap: wrap" in body and "stMetric" in body for body in css)
    assert f"min-width: {styles.CARD_MIN_PX}px" in styles.CSS
