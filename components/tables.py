"""Table helpers: column formats and CSV export, shared by the list pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

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


def csv_download(df: pd.DataFrame, file_name: str, label: str = "Export CSV", key: str | None = None) -> None:
    """A download button with the table as CSV (what you see is what you get)."""
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=file_name, mime="text/csv",
                       icon=":material/download:", key=key, on_click="ignore")
