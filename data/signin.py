"""Sign-in bookkeeping in the operational store: the login throttle and the re-login sessions.

* ``login_attempts``: one row per checked sign-in (username as typed, client, success).
  After :data:`MAX_FAILURES` failures within :data:`WINDOW` for one username, or from one
  client, further attempts are refused until :data:`COOLDOWN` has passed since the last
  failure. A success ends the run of failures for that username and that client. The
  rows live in the shared store, so a restart or a new browser session does not reset them.
* ``auth_sessions``: one row per sign-in. The re-login cookie names its row (``sid``)
  and the user's session version (see :func:`data.users.session_version`); a cookie is
  accepted only while its row is open, was used within the idle timeout and the
  version still matches. Logging out closes the row.

Times are naive UTC (:func:`data.opstore.now`). Nothing here imports streamlit.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
import sqlalchemy as sa

from data.opstore import metadata, now

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
COOLDOWN = timedelta(minutes=15)
TOUCH_EVERY = timedelta(minutes=5)
KEEP_ATTEMPTS = timedelta(days=1)
KEEP_SESSIONS = timedelta(days=60)  # longer than any cookie (7 days) or idle timeout (at most 30 days)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("client", sa.String(200), nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempts_username_at", "username", "at"),
    sa.Index("ix_login_attempts_client_at", "client", "at"),
)

auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    sa.Column("sid", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(200), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=False), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=False), nullable=True),
)


def client_address(remote_ip: str | None, forwarded_for: str | None) -> str:
    """The client the throttle counts, from the connection's address and its X-Forwarded-For header.

    Behind a reverse proxy on the same host or network (the connection comes from a loopback or
    private address, or Streamlit reports none for localhost) the client is the last
    X-Forwarded-For entry: the address that proxy saw, which a client cannot forge. Otherwise it
    is the connection's own address; "local" when there is neither.
    """
    def parse(text: str | None):
        try:
            return ipaddress.ip_address((text or "").strip().strip("[]"))
        except ValueError:
            return None

    remote = parse(remote_ip)
    if forwarded_for and (remote is None or remote.is_loopback or remote.is_private):
        last = parse(forwarded_for.split(",")[-1])
        if last is not None:
            return str(last)
    return str(remote) if remote is not None else "local"


def _norm_username(username: str) -> str:
    return (username or "").strip().lower()[:200]


# ---------------------------------------------------------------- throttle
@dataclass(frozen=True)
class Lockout:
    """Sign-in is refused until ``until`` (naive UTC) for ``reason`` ("username" or "client")."""

    until: datetime
    reason: str

    def message(self, at: datetime | None = None) -> str:
        minutes = max(1, math.ceil((self.until - (at or now())).total_seconds() / 60))
        who = "for this username" if self.reason == "username" else "from this computer"
        return (f"Too many failed sign-ins {who}. Sign-in is paused for {minutes} more minute(s); "
                "try again later, or ask an admin to reset your password.")


def _lockout_for(conn: sa.Connection, column: sa.Column, value: str, at: datetime) -> datetime | None:
    last_ok = conn.execute(
        sa.select(sa.func.max(login_attempts.c.at)).where(column == value, login_attempts.c.succeeded.is_(True))
    ).scalar()
    since = at - WINDOW - COOLDOWN
    if last_ok is not None and last_ok > since:
        since = last_ok
    failures = [r[0] for r in conn.execute(
        sa.select(login_attempts.c.at)
        .where(column == value, login_attempts.c.succeeded.is_(False), login_attempts.c.at > since)
        .order_by(login_attempts.c.at)
    )]
    for i in range(len(failures) - MAX_FAILURES + 1):
        if failures[i + MAX_FAILURES - 1] - failures[i] <= WINDOW:
            until = failures[-1] + COOLDOWN
            return until if until > at else None
    return None


def lockout(engine: sa.Engine, username: str, client: str, at: datetime | None = None) -> Lockout | None:
    """The current lockout for this username or this client, or None when sign-in may be tried."""
    at = at or now()
    with engine.connect() as conn:
        for reason, column, value in (("username", login_attempts.c.username, _norm_username(username)),
                                      ("client", login_attempts.c.client, client)):
            until = _lockout_for(conn, column, value, at)
            if until is not None:
                return Lockout(until, reason)
    return None


def record_attempt(engine: sa.Engine, username: str, client: str, succeeded: bool) -> None:
    """Write one checked sign-in (refused attempts during a lockout are not recorded).

    Rows older than :data:`KEEP_ATTEMPTS` are deleted on the way: the throttle never reads them.
    """
    at = now()
    with engine.begin() as conn:
        conn.execute(login_attempts.insert().values(
            at=at, username=_norm_username(username), client=client[:200], succeeded=bool(succeeded)))
        conn.execute(login_attempts.delete().where(login_attempts.c.at < at - KEEP_ATTEMPTS))


# ---------------------------------------------------------------- sessions
def open_session(engine: sa.Engine, username: str) -> str:
    """Start a sign-in session and return its id (random, 32 hex characters)."""
    sid = secrets.token_hex(16)
    at = now()
    with engine.begin() as conn:
        conn.execute(auth_sessions.insert().values(sid=sid, username=username, created_at=at, last_seen_at=at))
        conn.execute(auth_sessions.delete().where(auth_sessions.c.last_seen_at < at - KEEP_SESSIONS))
    return sid


def session_is_live(engine: sa.Engine, sid: str, username: str, idle: timedelta) -> bool:
    """True when session ``sid`` of ``username`` is open and was used within ``idle``."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(auth_sessions).where(auth_sessions.c.sid == sid)).first()
    return (row is not None and row.username == username and row.ended_at is None
            and now() - row.last_seen_at <= idle)


def touch_session(engine: sa.Engine, sid: str) -> None:
    """Record activity on an open session (keeps its cookie valid for another idle period)."""
    with engine.begin() as conn:
        conn.execute(auth_sessions.update().where(auth_sessions.c.sid == sid, auth_sessions.c.ended_at.is_(None))
                     .values(last_seen_at=now()))


def end_session(engine: sa.Engine, sid: str) -> None:
    with engine.begin() as conn:
        conn.execute(auth_sessions.update().where(auth_sessions.c.sid == sid, auth_sessions.c.ended_at.is_(None))
                     .values(ended_at=now()))


def end_all_sessions(engine: sa.Engine, username: str) -> None:
    """Close every open session of ``username`` (its cookies stop working)."""
    with engine.begin() as conn:
        conn.execute(auth_sessions.update()
                     .where(auth_sessions.c.username == username, auth_sessions.c.ended_at.is_(None))
                     .values(ended_at=now()))


# ---------------------------------------------------------------- cookie token
def make_token(key: str, username: str, version: int, sid: str, expires_at: datetime) -> str:
    """The signed re-login token (HS256 with the workspace's cookie key)."""
    return jwt.encode({"username": username, "sv": int(version), "sid": sid,
                       "exp": int(expires_at.timestamp())}, key, algorithm="HS256")


def read_token(key: str, token: str | None) -> dict | None:
    """The token's claims when its signature and expiry are valid and it has every claim, else None."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("username"), str) or not isinstance(claims.get("sv"), int) \
            or not isinstance(claims.get("sid"), str):
        return None
    return claims
