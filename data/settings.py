"""Settings, read once from the environment (and `.streamlit/secrets.toml`), validated.

Every setting has a default that works for the demo. A bad value raises
:class:`SettingsError` with one line that says which variable to fix.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from data.engines.spark_settings import SparkSettings, load_spark_settings
from data.errors import UserError
from data.schedule import ScoreSchedule, parse_schedule
from data.sso import SsoSettings, load_sso_settings

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
    ca_file: Path | None = None  # CA bundle that verifies the server's STARTTLS certificate (private CAs)


@dataclass(frozen=True)
class Settings:
    """Where the workspace lives and how to reach the operational store."""

    workspace: Path
    database_url: str
    max_upload_mb: int = 200
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sso: SsoSettings = field(default_factory=SsoSettings)
    webhook_allow_hosts: tuple[str, ...] = ()  # host or host:port webhooks may reach on private addresses
    idle_timeout_hours: int = 8
    spark: SparkSettings = field(default_factory=SparkSettings)  # CSAI_ENGINE, CSAI_SPARK_* (batch engine)
    score_schedule: ScoreSchedule | None = None  # CSAI_SCORE_SCHEDULE: when `cli.py score --if-due` scores

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


def _ca_file(env: dict, name: str) -> Path | None:
    raw = env.get(name)
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SettingsError(f"{name}={raw} is not a file; point it at the PEM file of the CA that signed the "
                            "mail server's certificate.")
    return path


def _allow_hosts(env: dict, name: str) -> tuple[str, ...]:
    """``host[:port]`` entries, comma-separated, lower-cased; IPv6 hosts in brackets (``[fd00::1]:8080``)."""
    out = []
    for raw in (env.get(name) or "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else (None if not rest else "bad")
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        if not host or "/" in host or " " in host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
            raise SettingsError(f"{name}: {raw.strip()!r} is not a host or host:port; list entries such as "
                                "hooks.internal.example, 10.0.0.5:8080 or [fd00::5]:443, separated by commas.")
        out.append(f"{host}:{port}" if port else host)
    return tuple(dict.fromkeys(out))


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
        from sqlalchemy.engine import make_url  # deferred: import time (sqlalchemy; most readers need no URL)

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
        ca_file=_ca_file(env, "CSAI_SMTP_CA_FILE"),
    )
    try:
        sso = load_sso_settings(env)
        spark = load_spark_settings(env)
        score_schedule = parse_schedule(env.get("CSAI_SCORE_SCHEDULE"))
    except UserError as exc:
        raise SettingsError(str(exc)) from None
    return Settings(
        workspace=ws,
        sso=sso,
        database_url=url,
        max_upload_mb=_int(env, "CSAI_MAX_UPLOAD_MB", 200, 1, 100_000),
        smtp=smtp,
        webhook_allow_hosts=_allow_hosts(env, "CSAI_WEBHOOK_ALLOW_HOSTS"),
        idle_timeout_hours=_int(env, "CSAI_IDLE_TIMEOUT_HOURS", 8, 1, 24 * 30),
        spark=spark,
        score_schedule=score_schedule,
    )


@dataclass(frozen=True)
class ReadModelSettings:
    """Settings of the read model (``data/readmodel.py``).

    ``as_of``: ``CSAI_AS_OF`` (YYYY-MM-DD), the workspace's as-of date when set, over the end of
    the data stored at import. ``inactive_churn_days``: ``CSAI_INACTIVE_CHURN_DAYS`` (default 60),
    days without activity after which an account without billing data counts as churned.
    ``train_max_accounts``: ``CSAI_TRAIN_MAX_ACCOUNTS`` (default 150,000), the most accounts whose
    history training observes; beyond it a fixed random share of accounts (by a hash of the id) is
    observed at every date, so the observation set's memory stays bounded (about 2 GB per 100,000 accounts).
    """

    as_of: date | None = None
    inactive_churn_days: int = 60
    train_max_accounts: int = 150_000


def read_model_settings(environ: dict | None = None) -> ReadModelSettings:
    """Read and validate the read model's settings (environment over ``.streamlit/secrets.toml``)."""
    env = {**_secrets(), **(os.environ if environ is None else environ)}
    raw = (env.get("CSAI_AS_OF") or "").strip()
    as_of = None
    if raw:
        try:
            as_of = date.fromisoformat(raw)
        except ValueError:
            raise SettingsError(f"CSAI_AS_OF={raw!r} is not a date; use YYYY-MM-DD, or unset it to use "
                                "the end of the data.") from None
    return ReadModelSettings(as_of=as_of, inactive_churn_days=_int(env, "CSAI_INACTIVE_CHURN_DAYS", 60, 1, 3650),
                             train_max_accounts=_int(env, "CSAI_TRAIN_MAX_ACCOUNTS", 150_000, 100, 100_000_000))
