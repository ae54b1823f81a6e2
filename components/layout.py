"""Page chrome shared by every view: settings check, sidebar, access denial, errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from components import auth, styles
from components.formatting import plural
from components.session import data_version, settings, workspace
from data.errors import UserError
from data.migrations import migrate_workspace
from data.settings import SettingsError
from data.users import ROLE_LABELS, User


def check_settings() -> None:
    """Load and validate settings once and migrate the workspace's schemas once per process.

    Raises SettingsError (an unreachable or unknown ``CSAI_DATABASE_URL``, a schema newer
    than the code) with a one-line fix.
    """
    try:
        _migrated(str(settings().workspace), settings().database_url)
    except SettingsError:
        raise
    except UserError as exc:  # e.g. a warehouse snapshot newer than the code
        raise SettingsError(str(exc)) from None


@st.cache_resource(show_spinner=False, max_entries=4)
def _migrated(workspace_path: str, url: str) -> bool:
    """Keyed by both arguments (no leading underscore: Streamlit leaves those out of the cache key)."""
    migrate_workspace(settings())  # an exception is not cached: the next run tries again
    workspace().engine  # noqa: B018 - opens the migrated store for this process
    return True


def sidebar(user: User) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{user.name or user.username}** · {ROLE_LABELS.get(user.role, user.role)}"
                   + (f" · book of {user.csm}" if user.csm and user.role == "csm" else ""))
        auth.logout_button()
        styles.narrow_sidebar()


def denied(spec, user: User) -> None:
    st.title(spec.title)
    st.warning(f"Your role ({ROLE_LABELS.get(user.role, user.role)}) cannot open {spec.title}. "
               "Ask an admin if you need access.")


def has_data() -> bool:
    """True when the warehouse holds at least one account; checked once per data version, not per rerun."""
    return _has_data(str(workspace().warehouse.root), data_version())


@st.cache_resource(show_spinner=False, max_entries=4)
def _has_data(root: str, version: str) -> bool:
    return workspace().warehouse.has_data()


def no_data_notice() -> None:
    st.info("This workspace has no data yet. An admin or data scientist can load it on the Data page.")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show a :class:`UserError` as a clear message instead of a traceback."""
    try:
        yield
    except UserError as exc:
        st.error(str(exc))
        st.stop()


def money(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:,.1f}M"
    if abs(value) >= 10_000:
        return f"${value / 1_000:,.0f}k"
    return f"${value:,.0f}"


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "–"
    return f"{value * 100:.{digits}f}%"


def health_warnings(warnings: list[tuple[str, str]], ok_message: str) -> None:
    """The data-health warnings (table, sentence) a data scientist should read before training."""
    if warnings:
        with st.container(border=True):
            st.markdown(f"**{plural(len(warnings), 'thing')} to check before training**")
            for table, warning in warnings:
                st.markdown(f":orange[:material/warning:] **{table}**: {warning}")
    else:
        st.success(ok_message, icon=":material/check_circle:")
