"""Single sign-on: who an OpenID Connect identity is here (role, CSM book), and what admins override.

The sign-in itself is Streamlit's (``st.login`` / ``st.user``, Authlib underneath), configured in the
``[auth]`` table of ``.streamlit/secrets.toml``; the provider's ID token is validated there (signature,
issuer, audience, expiry, nonce). This module only maps the validated claims to a role and a book:

1. an admin's override for the person's email (role, book, or disabled);
2. an explicit user rule (``CSAI_SSO_USER_ROLES="ana@corp.com=admin"``);
3. the groups claim (``CSAI_SSO_GROUPS_CLAIM``, default ``groups``) through ``CSAI_SSO_GROUP_ROLES``
   (``"cs-managers=manager, cs-team=csm"``); with several matching groups the most privileged role wins;
4. the email domain through ``CSAI_SSO_DOMAIN_ROLES`` (``"corp.com=csm"``);
5. a local user with the same email (its role and book).

A CSM's book is the override's, else the book claim (``CSAI_SSO_BOOK_CLAIM``), else the local user's
with the same email. A person no rule covers, or a CSM without a book, gets no access. What was seen
(issuer, subject, email, groups, mapped role) is kept in the auth file for the Admin page.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from data.errors import UserError
from data.users import EMAIL_RE, User, _bump_session_version, _editing, list_users, load_auth
from data.vocabulary import ROLES, ROLES_BY_PRIVILEGE


@dataclass(frozen=True)
class SsoSettings:
    """Claim-to-role mapping, from ``CSAI_SSO_*`` variables (or ``sso_*`` keys of ``[csai]``)."""

    label: str = "your company account"
    groups_claim: str = "groups"
    book_claim: str = "csm_book"
    group_roles: Mapping[str, str] = field(default_factory=dict)
    domain_roles: Mapping[str, str] = field(default_factory=dict)
    user_roles: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_rules(self) -> bool:
        return bool(self.group_roles or self.domain_roles or self.user_roles)


def _pairs(env: Mapping[str, str], name: str, *, lower: bool) -> dict[str, str]:
    raw = (env.get(name) or "").strip()
    out: dict[str, str] = {}
    if not raw:
        return out
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, role = item.rpartition("=")
        key, role = key.strip(), role.strip()
        if not sep or not key:
            raise UserError(f"{name}: {item!r} is not of the form NAME=ROLE (e.g. cs-managers=manager).")
        if role not in ROLES:
            raise UserError(f"{name}: {role!r} is not a role; use one of {', '.join(ROLES)}.")
        out[key.lower() if lower else key] = role
    return out


def load_sso_settings(env: Mapping[str, str]) -> SsoSettings:
    """Parse and validate the mapping; a bad entry raises :class:`UserError` naming the variable."""
    return SsoSettings(
        label=(env.get("CSAI_SSO_LABEL") or "your company account").strip(),
        groups_claim=(env.get("CSAI_SSO_GROUPS_CLAIM") or "groups").strip(),
        book_claim=(env.get("CSAI_SSO_BOOK_CLAIM") or "csm_book").strip(),
        group_roles=_pairs(env, "CSAI_SSO_GROUP_ROLES", lower=False),
        domain_roles=_pairs(env, "CSAI_SSO_DOMAIN_ROLES", lower=True),
        user_roles=_pairs(env, "CSAI_SSO_USER_ROLES", lower=True),
    )


@dataclass(frozen=True)
class SsoIdentity:
    """A validated provider identity and what it maps to here (``user`` is None: no access)."""

    issuer: str
    subject: str
    email: str
    name: str
    groups: tuple[str, ...]
    user: User | None
    reason: str  # which rule decided, or why there is no access

    @property
    def key(self) -> str:
        return f"{self.issuer}|{self.subject}"


def _claim_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def map_identity(claims: Mapping, sso: SsoSettings, auth_file: str | os.PathLike) -> SsoIdentity:
    """Map validated ID-token claims to a :class:`User` (or to no access, with the reason)."""
    issuer = str(claims.get("iss") or "")
    subject = str(claims.get("sub") or "")
    email = str(claims.get("email") or "").strip().lower()
    name = str(claims.get("name") or email or subject)
    groups = _claim_list(claims.get(sso.groups_claim))
    if not subject:
        return SsoIdentity(issuer, subject, email, name, groups, None, "the provider sent no subject")
    if email and claims.get("email_verified") is False:
        email = ""  # an unverified address must not select a role, a book or a local user
    local = next((u for u in list_users(auth_file) if email and u.email.lower() == email and not u.disabled), None)
    override = _overrides(auth_file).get(email) if email else None

    role, reason = None, ""
    if override and override.get("disabled"):
        return SsoIdentity(issuer, subject, email, name, groups, None, "disabled by an admin")
    if override and override.get("role"):
        role, reason = override["role"], "admin override"
    elif email and email in sso.user_roles:
        role, reason = sso.user_roles[email], "user rule"
    else:
        matched = [sso.group_roles[g] for g in groups if g in sso.group_roles]
        if matched:
            role = min(matched, key=ROLES_BY_PRIVILEGE.index)
            reason = "group " + ", ".join(g for g in groups if sso.group_roles.get(g) == role)
        elif email and EMAIL_RE.match(email) and email.rpartition("@")[2] in sso.domain_roles:
            role, reason = sso.domain_roles[email.rpartition("@")[2]], "email domain"
        elif local is not None:
            role, reason = local.role, "local user with this email"
    if role is None:
        return SsoIdentity(issuer, subject, email, name, groups, None, "no rule maps this person to a role")

    book = None
    if role == "csm":
        book = ((override or {}).get("csm") or str(claims.get(sso.book_claim) or "").strip()
                or (local.csm if local is not None else None))
        if not book:
            return SsoIdentity(issuer, subject, email, name, groups, None,
                               "mapped to CSM, but no book: neither a book claim nor a local user with this email")
    user = User(username=email or f"sso:{subject}", name=name, email=email, roles=(role,), csm=book)
    return SsoIdentity(issuer, subject, email, name, groups, user, reason)


# ------------------------------------------------------------------ what the Admin page reads and edits
def _overrides(auth_file: str | os.PathLike) -> dict[str, dict]:
    return dict(load_auth(auth_file).get("sso_overrides") or {})


def record_sign_in(auth_file: str | os.PathLike, identity: SsoIdentity) -> None:
    """Remember who signed in through SSO and what they mapped to (shown on the Admin page)."""
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    with _editing(Path(auth_file)) as config:
        seen = config.setdefault("sso_seen", {})
        rec = seen.setdefault(identity.key, {"first_seen": stamp})
        rec.update({
            "issuer": identity.issuer, "subject": identity.subject, "email": identity.email, "name": identity.name,
            "groups": list(identity.groups), "role": identity.user.role if identity.user else None,
            "csm": identity.user.csm if identity.user else None, "decided_by": identity.reason, "last_seen": stamp,
        })


def last_active(auth_file: str | os.PathLike, key: str) -> datetime | None:
    """When the identity ``key`` (issuer|subject) was last active here, as UTC, or None."""
    rec = (load_auth(auth_file).get("sso_seen") or {}).get(key) or {}
    try:
        return datetime.fromisoformat(rec["last_seen"]).replace(tzinfo=UTC) if rec.get("last_seen") else None
    except ValueError:
        return None


def seen_identities(auth_file: str | os.PathLike) -> list[dict]:
    """People seen through SSO, newest first, with their mapped role and any override."""
    config = load_auth(auth_file)
    overrides = config.get("sso_overrides") or {}
    rows = []
    for rec in (config.get("sso_seen") or {}).values():
        o = overrides.get(rec.get("email") or "") or {}
        rows.append({**rec, "override_role": o.get("role"), "override_csm": o.get("csm"),
                     "override_disabled": bool(o.get("disabled"))})
    return sorted(rows, key=lambda r: r.get("last_seen") or "", reverse=True)


def set_override(auth_file: str | os.PathLike, email: str, *, role: str | None = None, csm: str | None = None,
                 disabled: bool = False) -> None:
    """Set (or, with no role, no book and not disabled, clear) an admin's override for an email."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not an email address.")
    if role is not None and role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if role == "csm" and not (csm or "").strip():
        raise UserError("A CSM needs a book: the CSM name on the accounts they own.")
    with _editing(Path(auth_file)) as config:
        _bump_session_version(config, email)  # a changed role or book applies at once: open sessions end
        overrides = config.setdefault("sso_overrides", {})
        if role is None and not csm and not disabled:
            overrides.pop(email, None)
        else:
            overrides[email] = {"role": role, "csm": (csm or "").strip() or None if role == "csm" else None,
                                "disabled": bool(disabled)}


def sign_out_everywhere(auth_file: str | os.PathLike, email: str) -> None:
    """End every single sign-on session of ``email`` here (the provider's own session is the provider's)."""
    with _editing(Path(auth_file)) as config:
        _bump_session_version(config, (email or "").strip().lower())


def password_login_enabled(auth_file: str | os.PathLike) -> bool:
    """Whether the local username/password form is offered (admins turn it off once SSO works)."""
    return bool(load_auth(auth_file).get("password_login", True))


def set_password_login(auth_file: str | os.PathLike, enabled: bool) -> None:
    with _editing(Path(auth_file)) as config:
        config["password_login"] = bool(enabled)
