"""The words the whole product shares, defined once: roles, risk bands, metric groups, targets.

The UI, the CLI, the charts, the playbook rules and the models import these names from here;
none of them types the lists out again (``tests/test_vocabulary.py`` greps the tree for
copies). Order matters where a list is shown: it is the order people read it in.
See ``docs/architecture.md`` sections 6, 8 and 12.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- people
#: Roles a person can have in the app (``docs/architecture.md`` section 8).
ROLES = ("admin", "manager", "csm", "data_scientist")
ROLE_LABELS = {"admin": "Admin", "manager": "Manager", "csm": "CSM", "data_scientist": "Data scientist"}
#: When several single sign-on rules match one person, the first of these wins.
ROLES_BY_PRIVILEGE = ("admin", "manager", "data_scientist", "csm")

#: Roles of a customer's contacts (who a playbook email can go to).
CONTACT_ROLES = ("champion", "executive", "admin", "billing", "user")

# ----------------------------------------------------------------------------- scores
#: Risk bands of a calibrated churn probability, lowest first (thresholds: ``data.readmodel.risk_thresholds``).
RISK_BANDS = ("low", "medium", "high")

#: What a model predicts within its horizon.
TARGETS = ("churn", "expansion")
TARGET_LABELS = {"churn": "Churn", "expansion": "Expansion"}

# ----------------------------------------------------------------------------- metrics
#: Metric groups (a driver's *driver group*), in the order pages list them.
METRIC_GROUPS = ("Usage", "Adoption", "Support", "Billing", "Relationship", "Sentiment", "Contract", "Firmographic")
#: Groups a CSM can act on (what-if and playbooks); contract terms and firmographics are not.
ACTIONABLE_GROUPS = frozenset(METRIC_GROUPS) - {"Contract", "Firmographic"}


def check_vocabulary() -> None:
    """Fail loudly on an inconsistent edit of the lists above (run by the test of this module)."""
    for name, values in (("ROLES", ROLES), ("CONTACT_ROLES", CONTACT_ROLES), ("RISK_BANDS", RISK_BANDS),
                         ("TARGETS", TARGETS), ("METRIC_GROUPS", METRIC_GROUPS)):
        if len(set(values)) != len(values):
            raise ValueError(f"{name} lists a word twice: {values}")
    if set(ROLES_BY_PRIVILEGE) != set(ROLES) or set(ROLE_LABELS) != set(ROLES):
        raise ValueError("ROLES_BY_PRIVILEGE and ROLE_LABELS must name exactly the ROLES")
    if set(TARGET_LABELS) != set(TARGETS):
        raise ValueError("TARGET_LABELS must name exactly the TARGETS")
