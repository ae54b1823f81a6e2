"""The rule criteria at their edges, on a hand-made eligibility frame (no workspace: fast enough to run
for every mutant of ``playbooks/triggers.py``), and who may start a playbook for which account.

``tests/playbooks/test_rule_filters.py`` checks each criterion end to end through ``run_rules``; here each
boundary is pinned: a threshold is inclusive, a passed renewal is not "within N days", an unscored or
inactive account is never enrolled, a missing value never matches.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from data.access import NotInBook, Viewer
from playbooks.triggers import _check_scope, can_act, rule_mask

ROWS = [
    # id, active, p_churn, band, p_expansion, segment, days_to_renewal, top_driver_groups
    ("at-threshold", True, 0.5, "medium", 0.3, "SMB", 30, ["Usage", "Billing"]),
    ("just-below", True, 0.49, "medium", 0.29, "SMB", 31, ["Support"]),
    ("high", True, 0.9, "high", 0.8, "Enterprise", 0, ["Contract", "Usage"]),
    ("renewal-passed", True, 0.7, "high", 0.5, "Mid-Market", -5, []),
    ("no-renewal", True, 0.6, "high", 0.5, "Enterprise", math.nan, ["Billing"]),
    ("unscored", True, math.nan, None, math.nan, "SMB", 10, ["Usage"]),
    ("inactive", False, 0.95, "high", 0.9, "SMB", 10, ["Usage"]),
    ("active-unknown", math.nan, 0.95, "high", 0.9, "SMB", 10, ["Usage"]),  # a missing flag (NaN) is not active
    ("low", True, 0.1, "low", 0.0, "Mid-Market", 200, ["Usage"]),
    ("no-expansion-score", True, 0.2, "low", math.nan, "Enterprise", 500, ["Support"]),
]


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["account_id", "active", "p_churn", "risk_band", "p_expansion", "segment",
                                       "days_to_renewal", "top_driver_groups"])


def matched(frame: pd.DataFrame, rule: dict) -> list[str]:
    mask = rule_mask(frame, rule)
    assert mask.dtype == bool and mask.index.equals(frame.index)
    return frame.loc[mask, "account_id"].tolist()


SCORED_ACTIVE = ["at-threshold", "just-below", "high", "renewal-passed", "no-renewal", "low", "no-expansion-score"]


@pytest.mark.parametrize(("rule", "expected"), [
    ({}, SCORED_ACTIVE),  # no criterion: every active, scored account (never the unscored or inactive ones)
    ({"risk_bands": ["high"]}, ["high", "renewal-passed", "no-renewal"]),
    ({"risk_bands": ["low", "medium"]}, ["at-threshold", "just-below", "low", "no-expansion-score"]),
    ({"min_p_churn": 0.5}, ["at-threshold", "high", "renewal-passed", "no-renewal"]),  # inclusive
    ({"min_p_churn": 0.0}, SCORED_ACTIVE),  # an unscored account does not reach even 0
    ({"top_driver_groups": ["Usage"]}, ["at-threshold", "high", "low"]),
    ({"top_driver_groups": ["Billing", "Support"]}, ["at-threshold", "just-below", "no-renewal", "no-expansion-score"]),
    ({"top_driver_groups": []}, []),
    ({"segments": ["Enterprise"]}, ["high", "no-renewal", "no-expansion-score"]),
    ({"segments": ["SMB", "Mid-Market"]}, ["at-threshold", "just-below", "renewal-passed", "low"]),
    ({"max_days_to_renewal": 30}, ["at-threshold", "high"]),  # inclusive, today included, passed excluded
    ({"max_days_to_renewal": 0}, ["high"]),
    ({"max_days_to_renewal": 1000}, ["at-threshold", "just-below", "high", "low", "no-expansion-score"]),  # no date: never
    ({"min_p_expansion": 0.3}, ["at-threshold", "high", "renewal-passed", "no-renewal"]),  # inclusive
    ({"min_p_expansion": 0.0}, SCORED_ACTIVE[:-1]),  # no expansion score: never a match
    ({"min_p_expansion": 1.0}, []),
    ({"risk_bands": ["medium", "high"], "min_p_churn": 0.5, "max_days_to_renewal": 30, "segments": ["SMB"]},
     ["at-threshold"]),  # every criterion at once: all must hold
])
def test_rule_criteria_at_their_edges(frame, rule, expected):
    assert matched(frame, rule) == expected


def test_numbers_stored_as_text_compare_as_numbers(frame):
    as_text = frame.assign(p_churn=frame["p_churn"].map(lambda v: None if math.isnan(v) else str(v)),
                           p_expansion=frame["p_expansion"].astype(str), days_to_renewal=frame["days_to_renewal"].astype(str))
    assert matched(as_text, {"min_p_churn": 0.5}) == ["at-threshold", "high", "renewal-passed", "no-renewal"]
    assert matched(as_text, {"min_p_expansion": 0.3}) == ["at-threshold", "high", "renewal-passed", "no-renewal"]
    assert matched(as_text, {"max_days_to_renewal": 30}) == ["at-threshold", "high"]


def test_values_that_are_not_numbers_never_match(frame):
    garbled = frame.astype({"p_churn": object, "p_expansion": object, "days_to_renewal": object})
    garbled.loc[garbled["account_id"] == "high", ["p_churn", "p_expansion", "days_to_renewal"]] = "n/a"
    assert "high" not in matched(garbled, {"min_p_churn": 0.5})
    assert "high" not in matched(garbled, {"min_p_expansion": 0.3})
    assert matched(garbled, {"max_days_to_renewal": 30}) == ["at-threshold"]


def _playbook(*steps: dict):
    return SimpleNamespace(steps=list(steps))


def _ctx(csm: str | None = "Maya Patel", contacts: dict | None = None) -> dict:
    return {"account": {"account_id": "A1", "csm": csm}, "contacts": contacts or {}}


TASK = {"type": "task", "title": "Call"}
EMAIL_CHAMPION = {"type": "email", "to": "champion"}
EMAIL_CSM = {"type": "email", "to": "csm"}
ALERT_CSM = {"type": "alert", "to": "csm"}
EMAIL_FIXED = {"type": "email", "to": "cs-team@example.com"}
WEBHOOK = {"type": "webhook", "url": "https://hooks.example.com/x"}


@pytest.mark.parametrize(("steps", "ctx", "expected"), [
    ((TASK,), _ctx(csm=None), True),  # a task always has someone: the queue
    ((EMAIL_CSM,), _ctx(), True),
    ((EMAIL_CSM,), _ctx(csm=None), False),
    ((ALERT_CSM,), _ctx(csm=""), False),
    ((ALERT_CSM,), _ctx(), True),
    ((TASK, ALERT_CSM), _ctx(csm=None), False),  # one step without anyone stops the playbook
    ((EMAIL_CHAMPION,), _ctx(csm=None, contacts={"billing": {"email": "b@x.example"}}), True),  # other contacts
    ((EMAIL_CHAMPION,), _ctx(contacts={}), True),  # no contact: a task for the CSM instead
    ((EMAIL_CHAMPION,), _ctx(csm=None, contacts={}), False),  # nobody at all
    ((EMAIL_FIXED,), _ctx(csm=None, contacts={}), True),  # a fixed address needs nobody
    ((WEBHOOK,), _ctx(csm=None), True),
    ((), _ctx(csm=None), True),
    (({"type": "email"},), _ctx(csm=None), False),  # an email without "to" goes to the contacts: none here
    (({"type": "email"},), _ctx(), True),
])
def test_can_act_needs_someone_for_every_step(steps, ctx, expected):
    assert can_act(_playbook(*steps), ctx) is expected


def test_can_act_without_a_contacts_key():
    assert can_act(_playbook(EMAIL_CHAMPION), {"account": {"account_id": "A1", "csm": None}}) is False
    assert can_act(_playbook(EMAIL_CHAMPION), {"account": {"account_id": "A1", "csm": "Maya Patel"}}) is True


@pytest.mark.parametrize(("viewer", "csm", "allowed"), [
    (None, "Jonas Weber", True),  # the system (rules, CLI)
    (Viewer("boss", ("manager",)), "Jonas Weber", True),
    (Viewer("root", ("admin",)), None, True),
    (Viewer("maya", ("csm",), csm="Maya Patel"), "Maya Patel", True),
    (Viewer("maya", ("csm",), csm="Maya Patel"), "Jonas Weber", False),
    (Viewer("maya", ("csm",), csm="Maya Patel"), None, False),
    (Viewer("nobook", ("csm",), csm=None), None, False),  # a CSM without a book matches no account, not the unowned
    (Viewer("ds", ("data_scientist",)), "Maya Patel", True),  # data scientists read every account
])
def test_starting_a_playbook_stays_in_the_viewers_book(viewer, csm, allowed):
    ctx = _ctx(csm=csm)
    if allowed:
        assert _check_scope(viewer, ctx) is None
    else:
        with pytest.raises(NotInBook, match=r"^Account A1 is not in your book\.$"):
            _check_scope(viewer, ctx)
