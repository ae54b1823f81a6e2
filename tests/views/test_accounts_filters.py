"""Accounts page: every filter keeps exactly the accounts it names, on accounts that differ in every respect.

Expectations come from :func:`varied_profile` in plain Python; each filter excludes someone here.
"""

from __future__ import annotations

import math

import pytest

from data import users as user_store
from tests.support.apptest import run_app
from tests.support.workspaces import build_workspace, varied_profile

ACCOUNTS = "views/accounts.py"
N = 26

FILTERS = {
    "segment": ({"segment": "Enterprise"}, lambda r: r["active"] and r["segment"] == "Enterprise"),
    "plan": ({"plan": "Starter"}, lambda r: r["active"] and r["plan"] == "Starter"),
    "csm": ({"csm": "Lee Chen"}, lambda r: r["active"] and r["csm"] == "Lee Chen"),
    "risk band": ({"risk": "high"}, lambda r: r["active"] and r["risk_band"] == "high"),
    "driver group": ({"driver": "Billing"},
                     lambda r: r["active"] and not math.isnan(r["p_churn"]) and r["top_group"] == "Billing"),
    "renewal": ({"renewal": "Next 30 days"},
                lambda r: r["active"] and 0 <= r["renewal_in_days"] <= 30),
    "status churned": ({"status": "Churned"}, lambda r: not r["active"]),
    "status active": ({"status": "Active"}, lambda r: r["active"]),
}


@pytest.fixture()
def varied_ws(tmp_path, monkeypatch):
    ws = build_workspace(tmp_path / "ws", n=N, varied=True)
    user_store.add_user(ws.settings.auth_file, "manager", role="manager", password="manager-password")
    monkeypatch.setenv("CSAI_WORKSPACE", str(ws.path))
    return ws


def _shown(at) -> set[str]:
    assert not at.exception
    if not at.dataframe:
        return set()
    return set(at.dataframe[0].value["account_id"])


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_accounts_filter_shows_exactly_the_matching_accounts(varied_ws, name):
    params, keeps = FILTERS[name]
    profile = varied_profile(N)
    everyone = set(profile["account_id"])
    expected = {r["account_id"] for _, r in profile.iterrows() if keeps(r)}
    assert expected and expected < everyone, name  # the filter matters on these accounts
    assert _shown(run_app("manager", page=ACCOUNTS, params={**params, "status": params.get("status", "All")}
                          if name.startswith("status") else params)) == expected


def test_two_filters_combine(varied_ws):
    profile = varied_profile(N)
    expected = {r["account_id"] for _, r in profile.iterrows()
                if r["active"] and r["segment"] == "SMB" and r["risk_band"] in ("medium", "high")}
    assert expected
    at = run_app("manager", page=ACCOUNTS, params={"segment": "SMB", "risk": ["medium", "high"]})
    assert _shown(at) == expected
