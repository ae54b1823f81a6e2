"""Sign-in, the current user, the re-login cookie and sign-out.

The sign-in form checks the password with :func:`data.users.authenticate` (one bcrypt
check whether or not the username exists) behind the login throttle of
:mod:`data.signin`. A successful sign-in opens a session row in the operational store
and writes the re-login cookie: a JWT signed with the workspace's cookie key that holds
the username, the user's session version and the session id. The cookie is written by
the ``extra_streamlit_components`` cookie manager, i.e. by JavaScript in the browser, so
it cannot be HttpOnly; it is ``SameSite=Strict`` and ``Secure`` when the page is served
over HTTPS. Every run re-checks the signed-in user: removed, disabled, a changed session
version (password reset, role change, "log out everywhere") or no activity for the idle
timeout signs the session out.

Demo users (whose passwords the sign-in page shows) work only while the server is bound
to a loopback address (``server.address`` 127.0.0.1, ``::1`` or ``localhost``).
"""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime, timedelta

import extra_streamlit_components as stx
import streamlit as st

from components import sso
from components.session import settings, workspace
from data import signin
from data import sso as sso_store
from data import users as user_store
from data.access import Viewer
from data.users import ROLE_LABELS, User

COOKIE_MANAGER_KEY = "csai_cookie_manager"
_SESSION_KEYS = ("authentication_status", "username", "name", "_auth_version", "_auth_sid", "_auth_seen",
                 "_auth_touched", "_auth_cookie_pending")


# ---------------------------------------------------------------- request facts
def demo_logins_allowed() -> bool:
    """True when the server listens on a loopback address only (``--server.address 127.0.0.1``)."""
    address = (st.get_option("server.address") or "").strip().strip("[]")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _client() -> str:
    """The client the throttle counts (see :func:`data.signin.client_address`)."""
    try:
        ip = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no client context (bare runs) counts as local
        ip, forwarded = None, None
    return signin.client_address(ip if isinstance(ip, str) else None,
                                 forwarded if isinstance(forwarded, str) else None)


def _request_cookie(name: str) -> str | None:
    """The cookie the browser sent when this session connected (Streamlit never refreshes it)."""
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None


def _served_over_https() -> bool:
    url = st.context.url or ""
    proto = st.context.headers.get("X-Forwarded-Proto", "")
    return url.startswith("https://") or proto.split(",")[0].strip().lower() == "https"


def _idle_timeout() -> timedelta:
    return timedelta(hours=settings().idle_timeout_hours)


# ---------------------------------------------------------------- the signed-in user
def _start_session(user: User, sid: str | None) -> None:
    ss = st.session_state
    for key in ("_auth_signed_out", "_auth_notice", "_auth_delete_cookie"):
        ss.pop(key, None)
    ss["authentication_status"] = True
    ss["username"] = user.username
    ss["name"] = user.name
    ss["_auth_version"] = user_store.session_version(settings().auth_file, user.username)
    ss["_auth_sid"] = sid
    ss["_auth_seen"] = ss["_auth_touched"] = time.time()


def _sign_out(notice: str | None = None) -> None:
    """End this browser session's sign-in; the cookie it came with is not used again."""
    ss = st.session_state
    sid = ss.get("_auth_sid")
    if sid:
        signin.end_session(workspace().engine, sid)
    for key in _SESSION_KEYS:
        ss.pop(key, None)
    ss["_auth_signed_out"] = True
    ss["_auth_delete_cookie"] = True
    if notice:
        ss["_auth_notice"] = notice


def current_user() -> User | None:
    """The signed-in user of this session (single sign-on first), or None (signing out a revoked or idle session)."""
    ss = st.session_state
    s = settings()
    identity_user = sso.current_user()
    if identity_user is not None:
        return _checked_sso_user(identity_user)
    if not ss.get("authentication_status"):
        return None
    if sso.configured() and not sso_store.password_login_enabled(s.auth_file):
        _sign_out("Local accounts are switched off: sign in with your company account.")
        return None
    user = user_store.get_user(s.auth_file, ss.get("username", ""))
    if user is None or user.disabled or (user.demo and not demo_logins_allowed()):
        _sign_out("You were signed out: this login is no longer enabled.")
        return None
    version = user_store.session_version(s.auth_file, user.username)
    ss.setdefault("_auth_version", version)
    now = time.time()
    if ss["_auth_version"] != version:
        _sign_out("You were signed out because your sign-in was changed (new password, new role or "
                  "\"log out everywhere\"). Sign in again.")
        return None
    if now - ss.get("_auth_seen", now) > _idle_timeout().total_seconds():
        _sign_out(f"You were signed out after {s.idle_timeout_hours} hour(s) without activity. Sign in again.")
        return None
    ss["_auth_seen"] = now
    sid = ss.get("_auth_sid")
    if sid and now - ss.get("_auth_touched", 0) > signin.TOUCH_EVERY.total_seconds():
        signin.touch_session(workspace().engine, sid)
        ss["_auth_touched"] = now
    return user


def _checked_sso_user(user: User) -> User | None:
    """A single sign-on session under the same rules as a password one: revocable and idle-limited.

    An admin's override for the person, or their "log out everywhere", bumps the session version
    kept for their username (the email); a session begun under an older version is logged out.
    """
    ss = st.session_state
    s = settings()
    version = user_store.session_version(s.auth_file, user.username)
    ss.setdefault("_sso_version", version)
    if ss["_sso_version"] != version or sso.idle_expired(_idle_timeout()):
        ss.pop("_sso_version", None)
        sso.logout()
        return None
    return user


def viewer(user: User) -> Viewer:
    return Viewer(username=user.username, roles=user.roles, csm=user.csm)


def _login_from_cookie() -> bool:
    """Sign in from the re-login cookie when it is signed, unexpired, unrevoked and not idle."""
    if st.session_state.get("_auth_signed_out"):
        return False
    s = settings()
    config = user_store.load_auth(s.auth_file)
    token = _request_cookie(config["cookie"]["name"])
    if not token or token == st.session_state.get("_auth_refused_token"):
        return False
    claims = signin.read_token(config["cookie"]["key"], token)
    user = user_store.get_user(s.auth_file, claims["username"]) if claims else None
    ok = (user is not None and not user.disabled and (demo_logins_allowed() or not user.demo)
          and claims["sv"] == user_store.session_version(s.auth_file, user.username)
          and signin.session_is_live(workspace().engine, claims["sid"], user.username, _idle_timeout()))
    if not ok:
        st.session_state["_auth_refused_token"] = token
        st.session_state["_auth_delete_cookie"] = True
        return False
    _start_session(user, claims["sid"])
    signin.touch_session(workspace().engine, claims["sid"])
    return True


def require_login() -> User:
    """Return the signed-in user, or render the sign-in form and stop the run."""
    user = current_user()
    if user is None and _login_from_cookie():
        st.rerun()
    if user is None:
        _login_screen()
        st.stop()
    _sync_cookie()
    return user


# ---------------------------------------------------------------- the sign-in page
def _try_password(username: str, password: str) -> tuple[User | None, str | None]:
    """Check one sign-in through the throttle; returns the user or the message to show."""
    engine = workspace().engine
    client = _client()
    blocked = signin.lockout(engine, username, client)
    if blocked is not None:
        return None, blocked.message()
    user = user_store.authenticate(settings().auth_file, username, password, allow_demo=demo_logins_allowed())
    signin.record_attempt(engine, username, client, user is not None)
    if user is None:
        blocked = signin.lockout(engine, username, client)
        return None, blocked.message() if blocked else "Username or password is incorrect."
    return user, None


# The cookie manager is a browser component: rendering it makes the browser report its cookies,
# which reruns the app. It is rendered only while a cookie must be written or deleted, never on a
# plain sign-in page (a rerun there can swallow the click on "Sign in").
def _cookie_manager() -> stx.CookieManager:
    return stx.CookieManager(key=COOKIE_MANAGER_KEY)


def _queue_cookie(user: User, sid: str) -> None:
    """Prepare this sign-in's re-login cookie; it is written from this run on until the browser has it."""
    config = user_store.load_auth(settings().auth_file)
    days = float(config["cookie"].get("expiry_days", 7))
    expires = datetime.now() + timedelta(days=days)
    token = signin.make_token(config["cookie"]["key"], user.username, st.session_state["_auth_version"], sid, expires)
    st.session_state["_auth_cookie_pending"] = {"name": config["cookie"]["name"], "token": token,
                                                "expires": expires, "secure": _served_over_https()}


def _sync_cookie() -> None:
    """Write this sign-in's cookie, or delete a signed-out one, until the browser reports it done.

    Called once per run (one cookie manager per run). Rendered again on the reruns the
    component itself causes, so a rerun cannot remove it before the browser has run it.
    """
    pending = st.session_state.get("_auth_cookie_pending")
    delete = st.session_state.get("_auth_delete_cookie")
    if not pending and not delete:
        return
    manager = _cookie_manager()
    if pending:
        if manager.cookies.get(pending["name"]) == pending["token"]:
            st.session_state.pop("_auth_cookie_pending", None)
        else:
            manager.set(pending["name"], pending["token"], key="csai_cookie_set", expires_at=pending["expires"],
                        secure=True if pending["secure"] else None, same_site="strict")
        return
    name = user_store.load_auth(settings().auth_file)["cookie"]["name"]
    if manager.cookies and name not in manager.cookies:
        st.session_state.pop("_auth_delete_cookie", None)
        return
    try:
        manager.delete(name, key="csai_cookie_delete")
    except KeyError:
        pass  # the browser had not reported its cookies yet; the delete was sent all the same


def _login_screen() -> None:
    left, mid, right = st.columns([1, 2, 1])
    with mid:
        st.markdown("## Customer Success AI")
        st.caption("Churn risk you can trust, reasons you can read, playbooks whose effect is measured.")
        if notice := st.session_state.pop("_auth_notice", None):
            st.info(notice, icon=":material/logout:")
        password_form = True
        if sso.configured():
            sso.login_button()
            password_form = sso_store.password_login_enabled(settings().auth_file)
            if password_form:
                st.caption("or sign in with a local account:")
        if password_form:
            with st.form("login", clear_on_submit=False):
                st.subheader("Sign in")
                username = st.text_input("Username", autocomplete="username", max_chars=200)
                password = st.text_input("Password", type="password", autocomplete="current-password", max_chars=200)
                submitted = st.form_submit_button("Sign in")
        else:
            username, password, submitted = "", "", False
        if submitted and not (username.strip() and password):
            st.session_state["authentication_status"] = False
            st.error("Enter your username and password.")
        elif submitted:
            user, problem = _try_password(username.strip(), password)
            if user is None:
                st.session_state["authentication_status"] = False
                st.error(problem)
            else:
                sid = signin.open_session(workspace().engine, user.username)
                _start_session(user, sid)
                _queue_cookie(user, sid)
                # No rerun here: the cookie component rendered below reruns the app once the browser
                # has run it (a rerun now would remove it before that).
                st.success("Signed in. Opening your page…")
        if password_form and user_store.is_demo(settings().auth_file) and demo_logins_allowed():
            _demo_logins()
    _sync_cookie()


def _demo_logins() -> None:
    with st.container(border=True):
        st.markdown("**Demo workspace.** These logins exist only in the demo:")
        rows = []
        for u in user_store.demo_users(settings().auth_file):
            rows.append({"Role": ROLE_LABELS.get(u.role, u.role), "Username": u.username,
                         "Password": user_store.demo_password(u.username), "Book": u.csm or "all accounts"})
        st.dataframe(rows, hide_index=True, placeholder="–")


# ---------------------------------------------------------------- signing out
def sign_out_everywhere(username: str) -> None:
    """Invalidate every sign-in of ``username``: open sessions and re-login cookies, in every browser."""
    user_store.sign_out_everywhere(settings().auth_file, username)
    signin.end_all_sessions(workspace().engine, username)


def logout_button() -> None:
    """The sidebar's "Log out" and "Log out everywhere" buttons (single sign-on: also the provider's logout)."""
    identity = sso.current_identity()
    if st.sidebar.button("Log out", key="logout_button"):
        _sign_out()
        if identity is not None:
            sso.logout()  # the browser goes to the provider's logout; no rerun, which would cancel that
            return
        st.rerun()
    if st.sidebar.button("Log out everywhere", key="logout_everywhere_button", type="tertiary",
                         help="Sign out of this app in every browser and device, e.g. after using a shared computer."):
        username = st.session_state.get("username")
        if username:
            sign_out_everywhere(username)
        _sign_out("You were signed out in every browser.")
        if identity is not None and identity.user is not None:
            sso_store.sign_out_everywhere(settings().auth_file, identity.user.username)
            sso.logout()
            return
        st.rerun()
