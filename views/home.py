"""Landing: send the user to the first page their role may open (URL paths stay explicit)."""

from __future__ import annotations

import streamlit as st

from components import auth
from components.pages import landing_page

st.switch_page(landing_page(auth.current_user().roles).file)
