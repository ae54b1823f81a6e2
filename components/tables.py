"""Table helpers: column formats, risk colours and CSV export, shared by the list pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from components.charts import RISK_COLORS
from data.compat import prepared_styler
from data.export import csv_bytes
from data.readmodel import rule_bands_text

if TYPE_CHECKING:  # importing pandas.io.formats.style (and jinja2) slows a cold start
    from collections.abc import Callable

    from pandas.io.formats.style import Styler

ACCOUNT_COLUMNS = {
    "name": st.column_config.TextColumn("Account", width="medium"),
    "segment": st.column_config.TextColumn("Segment"),
    "plan": st.column_config.TextColumn("Plan"),
    "csm": st.column_config.TextColumn("CSM"),
    "region": st.column_config.TextColumn("Region"),
    "industry": st.column_config.TextColumn("Industry"),
    "arr": st.column_config.NumberColumn("ARR", format="dollar"),
    "mrr": st.column_config.NumberColumn("MRR", format="dollar"),
    "seats": st.column_config.NumberColumn("Seats", format="%d"),
    "renewal_date": st.column_config.DateColumn("Renewal", format="D MMM YYYY"),
    "tenure_days": st.column_config.NumberColumn("Tenure (days)", format="%d"),
    "status": st.column_config.TextColumn("Status"),
    "account_id": st.column_config.TextColumn("ID"),
}


# What a CSM reads first in the Accounts table, in this order (then every other column as the query gives it).
ACCOUNTS_FIRST = ("name", "risk_band", "arr", "renewal_date", "top_driver")


def lead_columns(columns, first: tuple[str, ...]) -> list[str]:
    """``columns`` reordered with ``first`` (those present) leading; a column order only, the data is untouched.

    Account names are not pinned: Streamlit draws pinned columns in a faded grey that reads
    as disabled, and with the key columns first the name stays in view anyway.
    """
    present = [c for c in first if c in columns]
    return present + [c for c in columns if c not in present]


def csv_download(df: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, label: str = "Export CSV",
                 key: str | None = None) -> None:
    """A download button with the table as CSV (what you see is what you get, formulas neutralised).

    The CSV is written when the button is clicked, not on every rerun: ``df`` is kept
    until then, so callers must not change it afterwards. ``df`` may be a function that
    builds the frame, so work only the export needs is done on the click too.
    """
    st.download_button(label, lambda: csv_bytes(df() if callable(df) else df), file_name=file_name, mime="text/csv",
                       icon=":material/download:", key=key, on_click="ignore")

RISK_BAND_LABELS = {"high": "High", "medium": "Medium", "low": "Low"}

SCORE_COLUMNS = {
    "risk_band": st.column_config.TextColumn("Risk", help="Risk band of the latest scoring"),
    "p_churn": st.column_config.ProgressColumn("p(churn)", format="percent", min_value=0.0, max_value=1.0,
                                               help="Probability of churn within the horizon"),
    "p_churn_change": st.column_config.NumberColumn("Δ since last", format="percent",
                                                    help="Change in p(churn) since the previous scoring; "
                                                         "blank on an account's first scoring"),
    "top_driver": st.column_config.TextColumn(
        "Top driver", width="large",
        help="The strongest reason raising this account's risk that your team can act on "
             "(contract terms and firmographics are listed on the account page)"),
    "p_expansion": st.column_config.NumberColumn("p(expansion)", format="percent"),
    "expected_arr_loss": st.column_config.NumberColumn("Expected loss", format="dollar",
                                                       help="p(churn) × ARR"),
}


RULE_SCORE_COLUMNS = {  # the same tables when the latest scores come from the rule health score (no model)
    "risk_band": st.column_config.TextColumn("Risk (rule)", help=rule_bands_text()),
    "health_score": st.column_config.ProgressColumn(
        "Rule health score", format="%.0f", min_value=0.0, max_value=100.0,
        help="0-100, higher is healthier: a weighted scorecard, not a probability (no model trained yet)"),
    "top_driver": st.column_config.TextColumn("Top reason", width="large",
                                              help="The rule this account fails that costs it the most health"),
}


def risk_style(frame: pd.DataFrame, column: str = "risk_band") -> Styler:
    """``frame`` with its risk band column in the risk palette (bold), for ``st.dataframe``.

    The same cell CSS as ``frame.style.map(...)``, prepared in one pass over that column.
    A plain Styler renders every cell of the table in Python first (display strings that
    ``column_config`` formats override anyway): about a second per rerun for 6,000 renewals;
    :func:`data.compat.prepared_styler` hands Streamlit the prepared CSS instead. Cells keep
    their plain values. Unknown bands stay uncoloured.
    """
    if column not in frame:
        return frame.style
    col = frame.columns.get_loc(column)
    css = {(row, col): f"color: {RISK_COLORS[band]}; font-weight: 600"
           for row, band in enumerate(frame[column].tolist()) if band in RISK_COLORS}
    return prepared_styler(frame, css)


def risk_dataframe(styled: Styler, **kwargs):
    """``st.dataframe(styled, **kwargs)`` for a :func:`risk_style` table of any size.

    pandas refuses a Styler over ``styler.render.max_elements`` cells (262,144) because it
    would render every cell in Python; ``risk_style`` never does, so the guard is lifted for
    this call (six months of renewals with monthly plans at 100,000 accounts: ~550,000 cells).
    """
    limit = max(int(pd.get_option("styler.render.max_elements")), int(styled.data.size))
    with pd.option_context("styler.render.max_elements", limit):
        return st.dataframe(styled, **kwargs, placeholder="–")
