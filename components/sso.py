"""Single sign-on in the app: Streamlit's ``st.login`` / ``st.user``, mapped to our roles by ``data.sso``.

Streamlit (Authlib underneath) runs the OpenID Connect code flow and validates the ID token (signature
against the provider's keys, issuer, audience, expiry, nonce) before ``st.user`` says anyone is logged
in; a token that fails any check never signs anybody in. Here we only decide what the person may see.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import streamlit as st

from components.session import settings, workspace
from data import sso as sso_store
from data.errors import UserError
from data.opstore import audit
from data.users import User
from data.vocabulary import ROLES

log = logging.getLogger(__name__)

# Secrets that never leave the server: not in the Admin page, not in logs.
STAMP_EVERY = timedelta(minutes=5)  # how often an active session refreshes its stored last activity
_SECRET_KEYS = {"client_secret", "cookie_secret", "client_kwargs"}


def auth_section() -> dict:
    """The ``[auth]`` table of Streamlit's secrets, or {} when SSO is not configured."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file at all is "not configured"
        return {}
    return section.to_dict() if hasattr(section, "to_dict") else dict(section or {})


def configured() -> bool:
    section = auth_section()
    return bool(section.get("client_id") and section.get("server_metadata_url") and section.get("redirect_uri")
                and section.get("cookie_secret"))


def provider_label() -> str:
    return settings().sso.label


def public_settings() -> dict:
    """What the Admin page may show: issuer URL, client id, redirect URI and the claim mapping; no secrets."""
    section = {k: v for k, v in auth_section().items() if k not in _SECRET_KEYS and not isinstance(v, dict)}
    mapping = settings().sso
    return {
        "server_metadata_url": section.get("server_metadata_url"),
        "client_id": section.get("client_id"),
        "redirect_uri": section.get("redirect_uri"),
        "groups claim": mapping.groups_claim,
        "book claim": mapping.book_claim,
        "group → role": ", ".join(f"{k} → {v}" for k, v in mapping.group_roles.items()) or "–",
        "email domain → role": ", ".join(f"{k} → {v}" for k, v in mapping.domain_roles.items()) or "–",
        "user → role": ", ".join(f"{k} → {v}" for k, v in mapping.user_roles.items()) or "–",
    }


def _logged_in() -> bool:
    try:
        return bool(configured() and st.user.is_logged_in)
    except Exception:  # noqa: BLE001 - Streamlit raises when auth is half-configured
        return False


def current_identity() -> sso_store.SsoIdentity | None:
    """The signed-in SSO identity mapped to a user (``.user`` None: no access), or None if not signed in.

    A new app session first reads when the person was last active here (kept with what the
    Admin page shows), so the idle timeout holds across tabs and restarts, not only within one tab.
    """
    if not _logged_in():
        return None
    s = settings()
    identity = sso_store.map_identity(st.user.to_dict(), s.sso, s.auth_file)
    ss = st.session_state
    now = datetime.now(UTC)
    if ss.get("_sso_recorded") != identity.key:
        ss["_sso_recorded"] = identity.key
        previous = sso_store.last_active(s.auth_file, identity.key)
        if previous is not None:
            ss["_sso_last_active"] = previous
        ss["_sso_stamped"] = now
        sso_store.record_sign_in(s.auth_file, identity)
        with workspace().engine.begin() as conn:
            audit(conn, identity.user.username if identity.user else (identity.email or identity.subject),
                  "sso_sign_in" if identity.user else "sso_refused", identity.email or identity.subject,
                  issuer=identity.issuer, subject=identity.subject,
                  role=identity.user.role if identity.user else None, decided_by=identity.reason)
    elif now - ss.get("_sso_stamped", now) > STAMP_EVERY:
        ss["_sso_stamped"] = now
        sso_store.record_sign_in(s.auth_file, identity)  # last activity, for the idle timeout of new tabs
    return identity


def idle_expired(timeout: timedelta, now: datetime | None = None) -> bool:
    """True once a signed-in SSO session has been idle longer than ``timeout`` (then it is logged out)."""
    now = now or datetime.now(UTC)
    last = st.session_state.get("_sso_last_active")
    st.session_state["_sso_last_active"] = now
    return last is not None and now - last > timeout


def current_user() -> User | None:
    """The mapped user of a signed-in SSO session; a person without access sees only the refusal."""
    identity = current_identity()
    if identity is None:
        return None
    if identity.user is None:
        no_access(identity)
        st.stop()
    return identity.user


def no_access(identity: sso_store.SsoIdentity) -> None:
    left, mid, right = st.columns([1, 2, 1])
    with mid:
        st.markdown("## No access yet")
        st.warning(f"You signed in as **{identity.email or identity.subject}**, but this workspace has no role "
                   "for you. Ask an admin to add you (a group mapping, or an override on the Admin page).")
        if st.button("Sign out", key="sso_no_access_logout"):
            st.logout()


def login_button() -> None:
    """Offer the provider's sign-in above the password form."""
    if st.button(f"Sign in with {provider_label()}", type="primary", key="sso_login", width="stretch"):
        st.login()


def logout() -> None:
    """End the app session; Streamlit then sends the browser to the provider's logout when it has one."""
    for key in ("_sso_recorded", "_sso_last_active", "_sso_stamped"):
        st.session_state.pop(key, None)
    st.logout()


def admin_panel(actor: str) -> None:
    """Admin page: read-only SSO settings, people seen through SSO, overrides, and the password-form switch."""
    s = settings()
    if not configured():
        st.info("Single sign-on is not configured. Add an `[auth]` table to `.streamlit/secrets.toml` "
                "(see the README's *Single sign-on* section) and restart the app.")
        return
    st.markdown("**Provider** (from `.streamlit/secrets.toml`; secrets are never shown)")
    st.dataframe([{"setting": k, "value": str(v or "–")} for k, v in public_settings().items()],
                 hide_index=True, width="stretch", placeholder="–")
    enabled = sso_store.password_login_enabled(s.auth_file)
    with st.form("sso_password_login"):
        keep = st.toggle("Offer the username and password form", value=enabled,
                         help="Turn off once everybody signs in through your identity provider.")
        if st.form_submit_button("Save"):
            sso_store.set_password_login(s.auth_file, keep)
            with workspace().engine.begin() as conn:
                audit(conn, actor, "sso_password_login", None, enabled=keep)
            st.success("Saved.")
    seen = sso_store.seen_identities(s.auth_file)
    st.markdown("**People seen through single sign-on**")
    if not seen:
        st.caption("Nobody has signed in through single sign-on yet.")
    else:
        st.dataframe([{"Email": r.get("email") or "–", "Name": r.get("name") or "–",
                       "Groups": ", ".join(r.get("groups") or []) or "–", "Role": r.get("role") or "no access",
                       "Book": r.get("csm") or "–", "Decided by": r.get("decided_by") or "–",
                       "Override": ("disabled" if r["override_disabled"] else r.get("override_role") or "–"),
                       "Last sign-in": r.get("last_seen") or "–"} for r in seen],
                     hide_index=True, width="stretch", placeholder="–")
    with st.form("sso_override"):
        st.markdown("**Override** one person's role or book (wins over every rule)")
        emails = sorted({r["email"] for r in seen if r.get("email")})
        email = st.selectbox("Person", emails, index=None, accept_new_options=True, placeholder="email address")
        role = st.selectbox("Role", ["(rules decide)", *ROLES])
        book = st.text_input("CSM book (for the CSM role)")
        disabled = st.checkbox("No access")
        if st.form_submit_button("Save override"):
            try:
                sso_store.set_override(s.auth_file, email or "", role=None if role.startswith("(") else role,
                                       csm=book or None, disabled=disabled)
            except UserError as exc:
                st.error(str(exc))
            else:
                with workspace().engine.begin() as conn:
                    audit(conn, actor, "sso_override", email, role=role, csm=book or None, disabled=disabled)
                st.success("Saved; it applies at the person's next page load.")
