"""Login (streamlit-authenticator), the current user, and which pages a role may open."""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth

from components import sso
from components.session import settings
from data import sso as sso_store
from data import users as user_store
from data.access import Viewer
from data.users import ROLE_LABELS, User


def _authenticator() -> stauth.Authenticate:
    """Built on every run *after* ``st.navigation`` (building it before loses deep links)."""
    s = settings()
    config = user_store.load_auth(s.auth_file)
    return stauth.Authenticate(
        user_store.active_credentials(s.auth_file),
        config["cookie"]["name"],
        config["cookie"]["key"],
        float(config["cookie"].get("expiry_days", 7)),
        auto_hash=False,
    )


def require_login() -> User:
    """Return the logged-in user, or render the login form and stop the run."""
    s = settings()
    auth = _authenticator()
    st.session_state["_authenticator"] = auth
    user = current_user()
    if user is None:
        _login_screen(auth, s)
        st.stop()
    return user


def current_user() -> User | None:
    """The logged-in, enabled user from the session (single sign-on first), or None."""
    sso_user = sso.current_user()
    if sso_user is not None:
        return sso_user
    if not st.session_state.get("authentication_status"):
        return None
    if sso.configured() and not sso_store.password_login_enabled(settings().auth_file):
        return None  # local accounts are switched off: their old sessions and cookies end too
    user = user_store.get_user(settings().auth_file, st.session_state.get("username", ""))
    if user is None or user.disabled:
        for key in ("authentication_status", "username", "name"):
            st.session_state.pop(key, None)
        return None
    return user


def viewer(user: User) -> Viewer:
    return Viewer(username=user.username, roles=user.roles, csm=user.csm)


def _login_screen(auth: stauth.Authenticate, s) -> None:
    left, mid, right = st.columns([1, 2, 1])
    with mid:
        st.markdown("## Customer Success AI")
        st.caption("Churn risk you can trust, reasons you can read, playbooks whose effect is measured.")
        if sso.configured():
            sso.login_button()
            if not sso_store.password_login_enabled(s.auth_file):
                return
            st.caption("or sign in with a local account:")
        try:
            auth.login(location="main", fields={"Form name": "Sign in", "Username": "Username",
                                                "Password": "Password", "Login": "Sign in"}, key="login")
        except stauth.utilities.exceptions.LoginError as exc:
            st.error(str(exc))
        if st.session_state.get("authentication_status") is False:
            st.error("Username or password is incorrect.")
        if st.session_state.get("authentication_status"):
            # Do not rerun here: the re-login cookie is written by a browser component rendered in
            # this run, and a rerun now can drop it. The component reruns the app once it is set.
            st.success("Signed in. Opening your page…")
            st.session_state["_just_signed_in"] = True
        if user_store.is_demo(s.auth_file):
            _demo_logins()


def _demo_logins() -> None:
    with st.container(border=True):
        st.markdown("**Demo workspace.** These logins exist only in the demo:")
        rows = []
        for u in user_store.demo_users(settings().auth_file):
            rows.append({"Role": ROLE_LABELS.get(u.role, u.role), "Username": u.username,
                         "Password": user_store.demo_password(u.username), "Book": u.csm or "all accounts"})
        st.dataframe(rows, hide_index=True)


def logout_button() -> None:
    if sso.current_identity() is not None:
        if st.sidebar.button("Log out", key="sso_logout_button"):
            sso.logout()
        return
    auth = st.session_state.get("_authenticator")
    if auth is not None:
        auth.logout("Log out", location="sidebar", key="logout_button")
