"""Single sign-on: how provider claims map to a role and a book, and what admins override."""

from __future__ import annotations

import pytest

from data import sso
from data import users as user_store
from data.errors import UserError

MAPPING = {"CSAI_SSO_GROUP_ROLES": "cs-managers=manager, cs-team=csm, cs-admins=admin",
           "CSAI_SSO_DOMAIN_ROLES": "corp.example=data_scientist",
           "CSAI_SSO_USER_ROLES": "boss@elsewhere.example=admin"}


@pytest.fixture()
def auth_file(tmp_path):
    path = tmp_path / "auth.yaml"
    user_store.add_user(path, "priya", role="csm", password="priya-password", csm="Priya Shah",
                        email="priya@corp.example")
    return path


def claims(sub: str, email: str, groups=(), **extra) -> dict:
    return {"iss": "https://idp.example", "sub": sub, "email": email, "email_verified": True, "name": sub.title(),
            "groups": list(groups), **extra}


def mapped(auth_file, c, env=MAPPING):
    return sso.map_identity(c, sso.load_sso_settings(env), auth_file)


def test_groups_pick_the_most_privileged_role(auth_file):
    ident = mapped(auth_file, claims("m", "m@corp.example", ["cs-team", "cs-managers"]))
    assert ident.user.roles == ("manager",) and ident.reason == "group cs-managers"
    assert ident.user.username == "m@corp.example"


def test_user_rule_beats_groups_and_domain_applies_last(auth_file):
    assert mapped(auth_file, claims("b", "boss@elsewhere.example", ["cs-team"])).user.role == "admin"
    ident = mapped(auth_file, claims("d", "dee@corp.example"))
    assert ident.user.role == "data_scientist" and ident.reason == "email domain"


def test_a_csm_book_comes_from_the_claim_or_a_local_user_with_the_same_email(auth_file):
    from_claim = mapped(auth_file, claims("c", "c@x.example", ["cs-team"], csm_book="Avery Chen"))
    assert from_claim.user.csm == "Avery Chen"
    from_local = mapped(auth_file, claims("p", "Priya@Corp.example", ["cs-team"]))
    assert from_local.user.csm == "Priya Shah"
    no_book = mapped(auth_file, claims("n", "n@x.example", ["cs-team"]))
    assert no_book.user is None and "no book" in no_book.reason


def test_a_person_no_rule_covers_gets_no_access(auth_file):
    ident = mapped(auth_file, claims("x", "x@other.example", ["marketing"]))
    assert ident.user is None and ident.reason == "no rule maps this person to a role"


def test_an_unverified_email_selects_nothing(auth_file):
    c = claims("p", "priya@corp.example", email_verified=False)
    ident = mapped(auth_file, c, env={"CSAI_SSO_DOMAIN_ROLES": "corp.example=admin"})
    assert ident.user is None


def test_admin_overrides_win_and_can_refuse(auth_file):
    sso.set_override(auth_file, "m@corp.example", role="csm", csm="Jordan Patel")
    ident = mapped(auth_file, claims("m", "m@corp.example", ["cs-admins"]))
    assert ident.user.roles == ("csm",) and ident.user.csm == "Jordan Patel" and ident.reason == "admin override"
    sso.set_override(auth_file, "m@corp.example", disabled=True)
    assert mapped(auth_file, claims("m", "m@corp.example", ["cs-admins"])).user is None
    sso.set_override(auth_file, "m@corp.example")  # cleared
    assert mapped(auth_file, claims("m", "m@corp.example", ["cs-admins"])).user.role == "admin"


def test_bad_mapping_and_bad_overrides_are_refused_with_the_reason(auth_file):
    with pytest.raises(UserError, match="CSAI_SSO_GROUP_ROLES: 'owner' is not a role"):
        sso.load_sso_settings({"CSAI_SSO_GROUP_ROLES": "cs=owner"})
    with pytest.raises(UserError, match="is not of the form NAME=ROLE"):
        sso.load_sso_settings({"CSAI_SSO_DOMAIN_ROLES": "corp.example"})
    with pytest.raises(UserError, match="A CSM needs a book"):
        sso.set_override(auth_file, "a@corp.example", role="csm")
    assert sso.seen_identities(auth_file) == []
    assert "sso_overrides" not in user_store.load_auth(auth_file)


def test_sign_ins_are_remembered_for_the_admin_page(auth_file):
    ident = mapped(auth_file, claims("m", "m@corp.example", ["cs-managers"]))
    sso.record_sign_in(auth_file, ident)
    sso.record_sign_in(auth_file, mapped(auth_file, claims("x", "x@other.example")))
    rows = {r["subject"]: r for r in sso.seen_identities(auth_file)}
    assert rows["m"]["role"] == "manager" and rows["m"]["issuer"] == "https://idp.example"
    assert rows["x"]["role"] is None and rows["x"]["decided_by"] == "no rule maps this person to a role"
