"""Settings, read once from the environment (and `.streamlit/secrets.toml`), validated.

Every setting has a default that works for the demo. A bad value raises
:class:`SettingsError` with one line that says which variable to fix.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from data.errors import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(UserError):
    """A setting has a value the app cannot start with."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    sender: str = "cs-platform@localhost"


@dataclass(frozen=True)
class Settings:
    """Where the workspace lives and how to reach the operational store."""

    workspace: Path
    database_url: str
    max_upload_mb: int = 200
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    idle_timeout_hours: int = 8

    @property
    def warehouse_dir(self) -> Path:
        return self.workspace / "warehouse"

    @property
    def models_dir(self) -> Path:
        return self.workspace / "models"

    @property
    def auth_file(self) -> Path:
        return self.workspace / "auth.yaml"

    @property
    def content_dir(self) -> Path:
        return self.workspace / "content"

    @property
    def uploads_dir(self) -> Path:
        return self.workspace / "uploads"


def _secrets() -> dict:
    path = REPO_ROOT / ".streamlit" / "secrets.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f".streamlit/secrets.toml is not valid TOML ({exc}); fix or remove it.") from exc
    section = data.get("csai", {})
    return {f"CSAI_{str(k).upper()}": str(v) for k, v in section.items()}


def _int(env: dict, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it to a number between {low} and {high}.") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range; set it to a number between {low} and {high}.")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a yes/no value; use true or false.")


def load_settings(workspace: str | os.PathLike | None = None, environ: dict | None = None) -> Settings:
    """Read and validate settings.

    ``workspace`` (e.g. from ``cli.py --workspace``) wins over ``CSAI_WORKSPACE``.
    Environment variables win over the ``[csai]`` table of ``.streamlit/secrets.toml``.
    Creates the workspace folder if it does not exist.
    """
    env = {**_secrets(), **(os.environ if environ is None else environ)}
    ws_raw = str(workspace) if workspace is not None else env.get("CSAI_WORKSPACE") or str(REPO_ROOT / "workspace")
    ws = Path(ws_raw).expanduser()
    if not ws.is_absolute():
        ws = (Path.cwd() / ws).resolve()
    if ws.exists() and not ws.is_dir():
        raise SettingsError(f"CSAI_WORKSPACE={ws} is a file, not a folder; point it at a folder.")
    try:
        ws.mkdir(parents=True, exist_ok=True)
        # A probe name of its own per call: concurrent sessions probing one shared name
        # deleted each other's file and reported a writable folder as not writable.
        probe = ws / f".write-test-{os.getpid()}-{uuid.uuid4().hex}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise SettingsError(f"CSAI_WORKSPACE={ws} is not writable ({exc.strerror}); choose a folder you can write to.") from None

    url = env.get("CSAI_DATABASE_URL") or f"sqlite:///{ws / 'operational.sqlite'}"
    try:
        from sqlalchemy.engine import make_url

        make_url(url)
    except Exception:  # noqa: BLE001 - any parse failure is the same user error
        raise SettingsError(
            "CSAI_DATABASE_URL is not a valid SQLAlchemy URL; use e.g. sqlite:///path/to/ops.sqlite "
            "or postgresql+psycopg2://user@host/db."
        ) from None

    smtp = SmtpSettings(
        host=env.get("CSAI_SMTP_HOST") or None,
        port=_int(env, "CSAI_SMTP_PORT", 25, 1, 65535),
        user=env.get("CSAI_SMTP_USER") or None,
        password=env.get("CSAI_SMTP_PASSWORD") or None,
        tls=_bool(env, "CSAI_SMTP_TLS", False),
        sender=env.get("CSAI_SMTP_FROM") or "cs-platform@localhost",
    )
    return Settings(
        workspace=ws,
        database_url=url,
        max_upload_mb=_int(env, "CSAI_MAX_UPLOAD_MB", 200, 1, 100_000),
        smtp=smtp,
        idle_timeout_hours=_int(env, "CSAI_IDLE_TIMEOUT_HOURS", 8, 1, 24 * 30),
    )
