"""Table helpers: the prepared risk colours match what pandas' Styler gives Streamlit."""

from __future__ import annotations

import pandas as pd
from streamlit.elements.lib.pandas_styler_utils import marshall_styler
from streamlit.proto.ArrowData_pb2 import ArrowData

from components.charts import RISK_COLORS
from components.tables import risk_style


def _css(styler) -> str:
    proto = ArrowData()
    marshall_styler(proto, styler.set_uuid("t"), "t")
    return proto.styler.styles


def test_risk_style_colours_the_same_cells_as_a_pandas_styler():
    frame = pd.DataFrame({
        "name": ["Acme", "Globex", "Initech", "Umbrella", "Hooli"],
        "risk_band": ["medium", "high", None, "low", "high"],
        "arr": [3000.5, 216000.25, 0.0, 12.0, 99.9],
        "renewal_date": pd.to_datetime(["2026-09-01", "2026-10-01", None, "2026-11-15", "2026-12-01"]),
    })

    def color(band):
        return f"color: {RISK_COLORS[band]}; font-weight: 600" if band in RISK_COLORS else ""

    expected = _css(frame.style.map(color, subset=["risk_band"]))
    assert expected and _css(risk_style(frame)) == expected
    assert "row2_col1" not in _css(risk_style(frame))  # an unscored row stays uncoloured


def test_risk_style_without_a_risk_column_is_a_plain_styler():
    assert _css(risk_style(pd.DataFrame({"name": ["Acme"]}))) == ""
