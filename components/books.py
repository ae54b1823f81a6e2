"""Choosing a CSM book on the Admin page: the CSM names in the data, with their account counts.

A CSM user sees the accounts whose ``csm`` column equals their CSM name exactly, so the
admin picks the name from the data; a name typed by hand (a CSM whose accounts arrive with
the next import) is accepted with a warning when no account carries it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import layout
from components.session import cursor, data_version
from data.access import Viewer
from data.books import book_warning, csm_books

__all__ = ["book_input", "book_warning", "books"]


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _books(version: str, viewer_key: str, _viewer: Viewer) -> pd.DataFrame:
    return csm_books(cursor(), _viewer)


def books(viewer: Viewer) -> pd.DataFrame:
    """:func:`data.books.csm_books` for ``viewer``, once per data version (empty before any data)."""
    if not layout.has_data():
        return pd.DataFrame(columns=["csm", "accounts"])
    return _books(data_version(), viewer.cache_key, viewer)


def book_input(container, books_frame: pd.DataFrame, *, pick_key: str, text_key: str, current: str | None = None,
               text_help: str = "") -> str | None:
    """A list of the data's CSM names (with account counts) and a box for a name not in the data yet.

    Returns the typed name if any, else the picked one, else ``None``. Drawn in ``container``
    (a column of the caller's form).
    """
    counts = dict(zip(books_frame["csm"].astype(str), books_frame["accounts"].astype(int), strict=True))
    names = list(counts)
    picked = container.selectbox(
        "CSM book", names, index=names.index(current) if current in counts else None, key=pick_key,
        format_func=lambda n: f"{n} · {counts[n]:,} account{'' if counts[n] == 1 else 's'}",
        placeholder="Choose a CSM name from the data" if names else "No accounts loaded yet",
        help="The CSM names on the accounts; the user sees the accounts with that name.")
    typed = container.text_input("…or type a name not in the data yet", key=text_key, max_chars=200,
                                 help=text_help or "Used instead of the list; it must match the accounts' CSM "
                                                   "column exactly.")
    return typed.strip() or picked or None
