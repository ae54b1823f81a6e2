"""Entry point: page config, login gate, role-aware navigation. Nothing else.

Pages live in ``views/`` (not ``pages/``) and are all registered here on every run,
so a deep link such as ``/account?id=A000123`` survives the login.
"""

from __future__ import annotations

import streamlit as st

from components import auth, layout, styles
from components.pages import DEFAULT_PAGE, PAGES, allowed
from data.settings import SettingsError

st.set_page_config(page_title="Customer Success AI", page_icon=":material/monitoring:", layout="wide")
styles.apply()

try:
    layout.check_settings()
except SettingsError as exc:
    st.error(f"Settings problem: {exc}")
    st.stop()

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
