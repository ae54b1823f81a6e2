"""Each rule criterion excludes the accounts it should, on accounts that differ in every criterion.

The expected accounts are computed from :func:`varied_profile` in plain Python, not with the rule code.
"""

from __future__ import annotations

import math

import pytest

from data.access import SYSTEM
from playbooks import create_playbook, list_runs, run_rules
from tests.support.workspaces import build_workspace, varied_profile

N = 26
ONE_TASK = [{"type": "task", "title": "Call {{ account.name }}", "due_days": 2}]


def _base(r) -> bool:
    """Rules only ever enroll active, scored accounts."""
    return bool(r["active"]) and not math.isnan(r["p_churn"])


CRITERIA = {
    "high band": ({"risk_bands": ["high"]}, lambda r: r["risk_band"] == "high"),
    "low or medium band": ({"risk_bands": ["low", "medium"]}, lambda r: r["risk_band"] in ("low", "medium")),
    "min p_churn": ({"min_p_churn": 0.45}, lambda r: r["p_churn"] >= 0.45),
    "usage driver": ({"top_driver_groups": ["Usage"]}, lambda r: "Usage" in r["rising_groups"]),
    "billing or support driver": ({"top_driver_groups": ["Billing", "Support"]},
                                  lambda r: bool({"Billing", "Support"} & r["rising_groups"])),
    "enterprise segment": ({"segments": ["Enterprise"]}, lambda r: r["segment"] == "Enterprise"),
    "renewal within 40 days": ({"max_days_to_renewal": 40},
                               lambda r: not math.isnan(r["days_to_renewal"]) and r["days_to_renewal"] <= 40),
    # reaches the unscored, active account A0013 (renewal in 95 days), which no rule may enroll
    "renewal within 100 days": ({"max_days_to_renewal": 100},
                                lambda r: not math.isnan(r["days_to_renewal"]) and r["days_to_renewal"] <= 100),
    "min p_expansion": ({"min_p_expansion": 0.3}, lambda r: r["p_expansion"] >= 0.3),
    "everything at once": (
        {"risk_bands": ["medium", "high"], "min_p_churn": 0.5, "segments": ["SMB", "Mid-Market"],
         "max_days_to_renewal": 100},
        lambda r: r["risk_band"] in ("medium", "high") and r["p_churn"] >= 0.5
        and r["segment"] in ("SMB", "Mid-Market") and not math.isnan(r["days_to_renewal"])
        and r["days_to_renewal"] <= 100),
}


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("varied") / "ws", n=N, varied=True)


def test_the_varied_accounts_differ_in_every_respect():
    profile = varied_profile(N)
    assert profile["risk_band"].nunique() == 3 and profile["p_churn"].isna().any()
    assert {"SMB", "Mid-Market", "Enterprise"} <= set(profile["segment"]) and profile["csm"].nunique() == 3
    assert (~profile["active"]).any() and profile["days_to_renewal"].isna().any()
    assert set(profile["champion"]) == {"active", "ended", "none"}


@pytest.mark.parametrize("name", list(CRITERIA))
def test_a_rule_enrolls_exactly_the_accounts_meeting_its_criteria(varied, name):
    rule, meets = CRITERIA[name]
    profile = varied_profile(N)
    candidates = {r["account_id"] for _, r in profile.iterrows() if _base(r)}
    expected = {r["account_id"] for _, r in profile.iterrows() if _base(r) and meets(r)}
    # the criterion must matter here: it keeps someone and it turns someone away
    assert expected and expected < candidates, name
    pb = create_playbook(varied.engine, "manager", name=f"Rule: {name}", rule=rule, holdout_pct=0, steps=ONE_TASK)
    report = run_rules(varied.engine, varied.warehouse, playbook_ids=[pb.id])
    runs = list_runs(varied.engine, SYSTEM, trigger_type="rule")
    enrolled = set(runs.loc[runs["playbook"] == pb.name, "account_id"])
    assert enrolled == expected
    assert report.per_playbook[pb.name]["eligible"] == len(expected)


def test_a_rule_never_enrolls_an_inactive_or_unscored_account(varied):
    profile = varied_profile(N)
    excluded = {r["account_id"] for _, r in profile.iterrows() if not _base(r)}
    assert excluded
    pb = create_playbook(varied.engine, "manager", name="Any band", holdout_pct=0, steps=ONE_TASK,
                         rule={"risk_bands": ["low", "medium", "high"]})
    run_rules(varied.engine, varied.warehouse, playbook_ids=[pb.id])
    runs = list_runs(varied.engine, SYSTEM, trigger_type="rule")
    enrolled = set(runs.loc[runs["playbook"] == pb.name, "account_id"])
    assert enrolled and not enrolled & excluded


def test_an_email_goes_only_to_an_active_champion(varied):
    from playbooks import preview_steps

    profile = varied_profile(N).set_index("account_id")
    pb = create_playbook(varied.engine, "manager", name="Champion email", holdout_pct=0, steps=[
        {"type": "email", "to": "champion", "subject": "Hello", "body": "Hi {{ contact.name }}"}])
    seen = set()
    for account_id in ("A0001", "A0005", "A0006"):  # champion active, ended, none
        champion = profile.loc[account_id, "champion"]
        seen.add(champion)
        (step,) = preview_steps(varied.engine, varied.warehouse, pb.id, account_id)
        index = int(account_id[1:]) - 1
        if champion == "active":
            assert step["payload"]["to"] == f"anna.smith{index}@company{index}.example" and not step["problem"]
        else:  # no active champion: the next active contact gets it, never the ended champion (issue 12)
            fell_back = step["payload"].get("fallback_from") == "champion"  # another active contact
            add_contact = step["kind"] == "task" and step["payload"].get("instead_of") == "email"  # nobody: a task
            assert fell_back or add_contact, (account_id, step)
            assert step["payload"].get("to") != f"anna.smith{index}@company{index}.example"
    assert seen == {"active", "ended", "none"}
