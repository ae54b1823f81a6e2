"""Entry point: page config, login gate, role-aware navigation. Nothing else.

Pages live in ``views/`` (not ``pages/``) and are all registered here on every run,
so a deep link such as ``/account?id=A000123`` survives the login.

No traceback reaches a browser: a :class:`UserError` raised anywhere in a run is shown as
its message, and any other exception is logged (logger ``csai.pages``, with a reference)
and shown as a plain message with that reference. ``client.showErrorDetails = "none"``
in ``.streamlit/config.toml`` covers anything that escapes this.
"""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from components import auth, layout, styles
from components.pages import DEFAULT_PAGE, PAGES, allowed
from data.compat import limit_threads
from data.errors import UserError
from data.settings import SettingsError

limit_threads()  # one BLAS/OpenMP thread per process (CSAI_BLAS_THREADS); once, not on every rerun
log = logging.getLogger("csai.pages")

st.set_page_config(page_title="Customer Success AI", page_icon=":material/monitoring:", layout="wide")
styles.apply()


def main() -> None:
    """Check settings, build the navigation, gate on login and role, run the chosen page."""
    layout.check_settings()
    user = auth.current_user()
    roles = user.roles if user else ()
    pages = {
        spec.url_path: st.Page(
            spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path,
            default=spec.url_path == DEFAULT_PAGE,
            visibility="visible" if (spec.in_menu and allowed(spec, roles)) else "hidden",
        )
        for spec in PAGES
    }
    sections: dict[str, list] = {}
    for spec in PAGES:
        sections.setdefault(spec.section, []).append(pages[spec.url_path])
    current = st.navigation(sections, position="sidebar" if user else "hidden")

    user = auth.require_login()
    layout.sidebar(user)
    spec = next(s for s in PAGES if pages[s.url_path] is current)
    if not allowed(spec, user.roles):
        layout.denied(spec, user)
        st.stop()
    current.run()


try:
    main()
except SettingsError as exc:
    st.error(f"Settings problem: {exc}", icon=":material/error:")
except UserError as exc:
    st.error(str(exc), icon=":material/error:")
except Exception:  # noqa: BLE001 - the last line of defence: log it, show no internals
    reference = uuid.uuid4().hex[:8]
    log.exception("unexpected error while showing a page (reference %s, user %s)", reference,
                  st.session_state.get("username"))
    st.error("Something went wrong while showing this page. Try again or open another page; if it keeps "
             f"happening, give your admin this reference: **{reference}** (the details are in the server log).",
             icon=":material/error:")
