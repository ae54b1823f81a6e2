"""Model lab, Data health tab: are the tables present, fresh and wide enough to train on?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import cached, cached_models, layout, training_inputs
from components import formatting as fmt
from views._model_lab.common import Lab


def render(lab: Lab) -> None:
    """Draw the Data health tab (``views/model_lab.py`` calls it while the tab is open)."""
    as_of = cached.as_of()
    health = cached_models.health(as_of)
    accounts = health["accounts"]
    events = health.get("events")
    subs = health.get("subscriptions")
    warnings = [(t, w) for t, h in health.items() for w in h.warnings]
    c = st.columns(4)
    c[0].metric("Accounts", f"{accounts.rows:,}", border=True)
    c[1].metric("Usage events", f"{events.rows:,}" if events else "–", border=True)
    fresh = events.freshness_days if events and events.freshness_days is not None else None
    c[2].metric("Newest event", f"{fmt.plural(fresh, 'day')} old" if fresh is not None else "–", border=True,
                help=f"Measured against {as_of:%d %b %Y}, the date this workspace's data describes.")
    c[3].metric("Warnings", f"{len(warnings)}", border=True)
    layout.health_warnings(warnings, "No data-health warnings: every table is present, fresh and covers the "
                                     "accounts, and there are enough churned accounts to train on.")
    summary = pd.DataFrame([{
        "table": t, "rows": h.rows, "coverage": h.coverage,
        "first": pd.Timestamp(h.first) if h.first is not None else pd.NaT,
        "last": pd.Timestamp(h.last) if h.last is not None else pd.NaT,
        "freshness": h.freshness_days, "warnings": len(h.warnings)} for t, h in health.items()])
    for col in ("first", "last"):
        summary[col] = pd.to_datetime(summary[col])
    summary["freshness"] = summary["freshness"].astype("Int64")
    st.dataframe(summary, hide_index=True, key="lab_health_table", column_config={
        "table": "Table", "rows": st.column_config.NumberColumn("Rows", format="localized"),
        "coverage": st.column_config.ProgressColumn("Share of accounts", format="percent", min_value=0,
                                                    max_value=1),
        "first": st.column_config.DateColumn("From", format="D MMM YYYY"),
        "last": st.column_config.DateColumn("To", format="D MMM YYYY"),
        "freshness": st.column_config.NumberColumn("Newest row (days old)", format="%d"),
        "warnings": st.column_config.NumberColumn("Warnings", format="%d")}, placeholder="–")
    st.caption("The Data page has per-table detail (rows per day, empty columns). "
               f"Churn history comes from {'subscriptions' if subs and subs.rows else 'the imported label'}.")
    left_out = training_inputs.left_out_columns("time" if subs and subs.rows else "flat")
    if left_out:
        st.markdown("**Account columns left out of training unless you keep them** (Train tab)")
        st.dataframe(pd.DataFrame({"column": list(left_out), "why": list(left_out.values())}), hide_index=True,
                     key="lab_left_out", column_config={"column": "Column", "why": "Why"}, placeholder="–")
