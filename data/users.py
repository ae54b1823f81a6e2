"""Users, roles and the auth file (bcrypt hashes), shared by the CLI and the Admin page.

The auth file (``workspace/auth.yaml``) holds ``cookie`` (name, signing key, expiry) and
``credentials.usernames`` with, per user, the bcrypt hash, name, email and our fields: ``roles``, ``csm``
(the ``accounts.csm`` value of a CSM's book), ``disabled`` and ``demo_user``. The cookie
key is 32 random bytes generated per workspace. ``session_versions`` (top level, kept
after a user is removed) holds a counter per username that the re-login cookie is bound
to: a password reset, a role change, disabling, removal, the end of the demo and "log out
everywhere" bump it, which signs that user out of every browser. Writes are atomic (temp file + rename) under a
file lock, so the CLI and the app can change users at the same time.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import functools
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import yaml

from data.errors import UserError
from data.vocabulary import ROLE_LABELS, ROLES  # noqa: F401  (re-exported: users are checked against them here)

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,39}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BCRYPT_ROUNDS = 12


@dataclass(frozen=True)
class User:
    """A person who can log in; ``csm`` ties a CSM to the accounts whose ``csm`` equals it."""

    username: str
    name: str
    email: str
    roles: tuple[str, ...]
    csm: str | None = None
    disabled: bool = False
    demo: bool = False

    @property
    def role(self) -> str:
        return self.roles[0] if self.roles else "csm"


# ---------------------------------------------------------------- file access
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_config() -> dict:
    return {
        "cookie": {"name": "csai_auth", "key": secrets.token_hex(32), "expiry_days": 7},
        "credentials": {"usernames": {}},
        "demo": False,
    }


# Parsed auth files by path, valid while the file's (mtime, size, inode) is unchanged: every
# write replaces the file atomically, so a change is always seen by the next read.
_auth_cache: dict[str, tuple[tuple, dict]] = {}


def load_auth(path: str | os.PathLike) -> dict:
    """Read the auth file, creating it (with a fresh 32-byte cookie key) if missing."""
    path = Path(path)
    if not path.exists():
        with _locked(path):
            if not path.exists():
                _write(path, _new_config())
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _auth_cache.get(str(path))
    if cached is not None and cached[0] == key:
        return copy.deepcopy(cached[1])
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"The auth file {path} is not valid YAML ({exc.__class__.__name__}); restore it or delete it.") from None
    config.setdefault("credentials", {}).setdefault("usernames", {})
    if not config.get("cookie", {}).get("key"):
        raise UserError(f"The auth file {path} has no cookie key; delete the file to generate a new one.")
    _auth_cache[str(path)] = (key, copy.deepcopy(config))
    return config


def _write(path: Path, config: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".auth.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(config, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@contextlib.contextmanager
def _editing(path: str | os.PathLike) -> Iterator[dict]:
    path = Path(path)
    load_auth(path)
    with _locked(path):
        config = yaml.safe_load(path.read_text())
        yield config
        _write(path, config)


# ---------------------------------------------------------------- validation
def hash_password(password: str) -> str:
    """bcrypt hash of a password after checking it is acceptable."""
    if password != password.strip():
        raise UserError("Passwords cannot start or end with a space (or another blank character); remove it.")
    if len(password) < 8:
        raise UserError("Passwords need at least 8 characters.")
    if len(password.encode()) > 72:
        raise UserError("Passwords can have at most 72 bytes (bcrypt's limit).")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], hashed.encode())
    except ValueError:
        return False


@functools.cache
def _dummy_hash() -> str:
    """Checked instead of a real hash when the username is unknown, so that both answers take one bcrypt."""
    return bcrypt.hashpw(secrets.token_hex(16).encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def authenticate(path: str | os.PathLike, username: str, password: str, *, allow_demo: bool = True) -> User | None:
    """The user when ``password`` is theirs and they may sign in, else None.

    Always runs exactly one bcrypt check (against a dummy hash for unknown usernames), so
    the time taken does not tell which usernames exist. Disabled users, and demo users
    when ``allow_demo`` is false, are refused like a wrong password.
    """
    rec = load_auth(path)["credentials"]["usernames"].get(username or "")
    hashed = rec.get("password") if rec and isinstance(rec.get("password"), str) else None
    ok = check_password(password or "", hashed or _dummy_hash())
    if not ok or rec is None or hashed is None:
        return None
    user = _to_user(username, rec)
    if user.disabled or (user.demo and not allow_demo):
        return None
    return user


def _check_username(username: str) -> str:
    if not USERNAME_RE.match(username or ""):
        raise UserError(
            f"Username {username!r} is not allowed: use 2-40 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."
        )
    return username


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    return role


# ---------------------------------------------------------------- operations
def _to_user(username: str, rec: dict) -> User:
    return User(
        username=username,
        name=rec.get("first_name", username) + (f" {rec['last_name']}" if rec.get("last_name") else ""),
        email=rec.get("email") or "",
        roles=tuple(rec.get("roles") or ()),
        csm=rec.get("csm"),
        disabled=bool(rec.get("disabled", False)),
        demo=bool(rec.get("demo_user", False)),
    )


def list_users(path: str | os.PathLike) -> list[User]:
    config = load_auth(path)
    return [_to_user(u, rec) for u, rec in sorted(config["credentials"]["usernames"].items())]


def assignable_users(path: str | os.PathLike, for_user: User) -> list[User]:
    """The enabled users ``for_user`` may assign tasks to, by username.

    Admins and managers may assign to anyone. Everyone else (CSMs) sees only the people
    they work with: themselves and the managers and admins who oversee their book; other
    CSMs' and data scientists' names are not shown to them.
    """
    enabled = [u for u in list_users(path) if not u.disabled]
    if {"admin", "manager"} & set(for_user.roles):
        return enabled
    return [u for u in enabled if u.username == for_user.username or {"admin", "manager"} & set(u.roles)]


def get_user(path: str | os.PathLike, username: str) -> User | None:
    rec = load_auth(path)["credentials"]["usernames"].get(username)
    return None if rec is None else _to_user(username, rec)


def add_user(path: str | os.PathLike, username: str, *, role: str, password: str, csm: str | None = None,
             email: str | None = None, name: str | None = None) -> User:
    """Add a user; a ``csm`` user needs ``csm`` (the name on their accounts)."""
    _check_username(username)
    _check_role(role)
    if role == "csm" and not csm:
        raise UserError("A csm user needs --csm NAME: the CSM name on the accounts in their book.")
    if email and not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not an email address.")
    hashed = hash_password(password)
    first, _, last = (name or username).partition(" ")
    with _editing(path) as config:
        users = config["credentials"]["usernames"]
        if username in users:
            raise UserError(f"User {username!r} already exists; use set-password or remove it first.")
        users[username] = {
            "email": email or f"{username}@example.com",
            "first_name": first,
            "last_name": last,
            "password": hashed,
            "roles": [role],
            "csm": csm,
            "disabled": False,
        }
    return get_user(path, username)


def set_password(path: str | os.PathLike, username: str, password: str) -> None:
    hashed = hash_password(password)
    with _editing(path) as config:
        rec = config["credentials"]["usernames"].get(username)
        if rec is None:
            raise UserError(f"No user {username!r}.")
        rec["password"] = hashed
        _bump_session_version(config, username)


def set_disabled(path: str | os.PathLike, username: str, disabled: bool) -> None:
    with _editing(path) as config:
        rec = config["credentials"]["usernames"].get(username)
        if rec is None:
            raise UserError(f"No user {username!r}.")
        if bool(rec.get("disabled")) != bool(disabled):
            _bump_session_version(config, username)
        rec["disabled"] = bool(disabled)


def set_role(path: str | os.PathLike, username: str, role: str, csm: str | None = None) -> None:
    """Give ``username`` the single role ``role``; a ``csm`` keeps its book unless ``csm`` names a new one.

    Any other role clears the CSM book: a manager or admin sees every account anyway, and a
    stale book would come back unnoticed if the user were made a CSM again.
    """
    _check_role(role)
    with _editing(path) as config:
        rec = config["credentials"]["usernames"].get(username)
        if rec is None:
            raise UserError(f"No user {username!r}.")
        if role == "csm" and not (csm or rec.get("csm")):
            raise UserError("A csm user needs a CSM name: the name on the accounts in their book.")
        if rec.get("roles") != [role] or (csm and csm != rec.get("csm")):
            _bump_session_version(config, username)
        rec["roles"] = [role]
        if role != "csm":
            rec["csm"] = None
        elif csm:
            rec["csm"] = csm


def remove_user(path: str | os.PathLike, username: str) -> None:
    with _editing(path) as config:
        if config["credentials"]["usernames"].pop(username, None) is None:
            raise UserError(f"No user {username!r}.")
        _bump_session_version(config, username)


def _bump_session_version(config: dict, username: str) -> None:
    versions = config.setdefault("session_versions", {})
    versions[username] = int(versions.get(username, 0)) + 1


def session_version(path: str | os.PathLike, username: str) -> int:
    """The counter the user's sign-ins are bound to; a sign-in made under an older value is refused."""
    return int((load_auth(path).get("session_versions") or {}).get(username, 0))


def sign_out_everywhere(path: str | os.PathLike, username: str) -> None:
    """Invalidate every sign-in of ``username`` (open sessions and re-login cookies)."""
    with _editing(path) as config:
        if username not in config["credentials"]["usernames"]:
            raise UserError(f"No user {username!r}.")
        _bump_session_version(config, username)


def active_credentials(path: str | os.PathLike) -> dict:
    """The ``credentials`` dict of enabled users only (``{"usernames": {name: record}}``)."""
    config = load_auth(path)
    users = {u: dict(rec) for u, rec in config["credentials"]["usernames"].items() if not rec.get("disabled")}
    return {"usernames": users}


def is_demo(path: str | os.PathLike) -> bool:
    return bool(load_auth(path).get("demo"))


def end_demo(path: str | os.PathLike) -> list[str]:
    """Clear the demo mark and disable the demo users (their passwords are public); returns their names.

    Called when real data is first imported into a demo workspace. Does nothing (and does
    not create an auth file) when the workspace is not a demo.
    """
    path = Path(path)
    if not path.exists() or not is_demo(path):
        return []
    disabled: list[str] = []
    with _editing(path) as config:
        config["demo"] = False
        for username, rec in config["credentials"]["usernames"].items():
            if rec.get("demo_user") and not rec.get("disabled"):
                rec["disabled"] = True
                _bump_session_version(config, username)
                disabled.append(username)
    return disabled


def demo_users(path: str | os.PathLike) -> list[User]:
    """The enabled users the demo created (their passwords are shown on the demo login page)."""
    config = load_auth(path)
    if not config.get("demo"):
        return []
    return [_to_user(u, rec) for u, rec in sorted(config["credentials"]["usernames"].items())
            if rec.get("demo_user") and not rec.get("disabled")]


DEMO_PASSWORD_SUFFIX = "-demo-pass"


def demo_logins(accounts_csms: list[str]) -> list[dict]:
    """The demo users: one per role and two CSMs (tied to the two first CSM names)."""
    first, second = (accounts_csms + ["", ""])[:2]
    return [
        {"username": "admin", "role": "admin", "name": "Alex Admin", "csm": None},
        {"username": "manager", "role": "manager", "name": "Morgan Manager", "csm": None},
        {"username": "datasci", "role": "data_scientist", "name": "Dana Scientist", "csm": None},
        {"username": "csm1", "role": "csm", "name": first, "csm": first},
        {"username": "csm2", "role": "csm", "name": second, "csm": second},
    ]


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


def create_demo_users(path: str | os.PathLike, csm_names: list[str]) -> list[tuple[str, str]]:
    """(Re)create the demo users and mark the workspace as demo; CSM logins get the first two names."""
    csms = sorted({c for c in csm_names if c})
    specs = demo_logins(csms)
    hashed = {s["username"]: hash_password(demo_password(s["username"])) for s in specs}
    with _editing(path) as config:
        users = config["credentials"]["usernames"]
        for s in specs:
            first, _, last = s["name"].partition(" ")
            users[s["username"]] = {
                "email": f"{s['username']}@demo.example.com",
                "first_name": first,
                "last_name": last,
                "password": hashed[s["username"]],
                "roles": [s["role"]],
                "csm": s["csm"],
                "disabled": False,
                "demo_user": True,
            }
        config["demo"] = True
    return [(s["username"], s["role"]) for s in specs]
