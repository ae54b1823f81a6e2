"""Floor page: a Streamlit script that renders a captured page's elements from constant data.

``make bench`` renders a real page with AppTest, captures its element tree with
:func:`capture` (kinds, layout blocks, texts, table frames, chart specs) and pickles it.
Run as a script (``BENCH_FLOOR_SPEC=<pickle>``), this file replays the same number and
kinds of elements with no queries, no caches and no computation, so its render time is
what Streamlit itself needs for that page: the floor the app's own overhead is measured
against.
"""

from __future__ import annotations

import json
import os
import pickle

import plotly.graph_objects as go
import streamlit as st

TEXT_KINDS = {"title", "header", "subheader", "markdown", "caption", "text", "error", "info", "warning", "success",
              "exception", "code", "latex"}


def capture(node) -> dict:
    """The element tree under an AppTest block as plain data (see module docstring)."""
    children = getattr(node, "children", None)
    kind = getattr(node, "type", None) or type(node).__name__
    if children is not None:
        out = {"block": kind, "children": [capture(c) for c in children.values()]}
        if kind == "tab":
            out["label"] = getattr(node, "label", "Tab")
        return out
    try:
        return {"kind": kind, **_element_data(node, kind)}
    except Exception:  # noqa: BLE001 - an element we cannot read is replayed as a caption
        return {"kind": "caption", "value": kind}


def _element_data(node, kind: str) -> dict:
    # One flat ``match`` (not an if/elif chain): Streamlit's script transform re-walks every
    # nested branch, and this file is compiled on every floor run.
    match kind:
        case _ if kind in TEXT_KINDS:
            return {"value": str(node.value)}
        case "metric":
            return {"label": node.label, "value": node.value, "delta": getattr(node, "delta", None)}
        case "dataframe" | "table":
            return {"value": node.value}
        case "plotly_chart":
            return {"spec": node.proto.spec, "config": node.proto.config or "{}"}
        case "multiselect" | "selectbox" | "radio" | "button_group":
            return {"label": getattr(node, "label", kind), "options": list(getattr(node, "options", []) or [])}
        case ("text_input" | "number_input" | "checkbox" | "toggle" | "button" | "download_button" | "date_input"
              | "slider" | "text_area" | "page_link"):
            return {"label": getattr(node, "label", kind) or kind}
        case "badge":
            return {"label": getattr(node.proto, "body", "badge") if hasattr(node, "proto") else "badge"}
        case _:
            return {"proto_type": kind}


def count_elements(spec: dict) -> dict[str, int]:
    """Element kinds -> count in a captured tree (blocks counted by their kind too)."""
    counts: dict[str, int] = {}

    def visit(n):
        k = n.get("block") or n.get("kind")
        counts[k] = counts.get(k, 0) + 1
        for c in n.get("children", []):
            visit(c)

    visit(spec)
    return counts


def _layout(node: dict) -> str:
    kids = node["children"]
    if node["block"] in ("main", "SpecialBlock"):
        return "flat"
    if kids and all(c.get("block") == "column" for c in kids):
        return "columns"
    if kids and all(c.get("block") == "tab" for c in kids):
        return "tabs"
    return "container"


def _render_children(children: list, st, path: str) -> None:
    for i, c in enumerate(children):
        _render(c, st, f"{path}.{i}")


def _render_block(node: dict, st, path: str) -> None:
    kids = node["children"]
    match _layout(node):
        case "flat":
            _render_children(kids, st, path)
        case "columns":
            for i, (col, c) in enumerate(zip(st.columns(len(kids)), kids, strict=True)):
                with col:
                    _render_children(c["children"], st, f"{path}.{i}")
        case "tabs":
            tabs = st.tabs([c.get("label") or f"Tab {i}" for i, c in enumerate(kids)])
            for i, (tab, c) in enumerate(zip(tabs, kids, strict=True)):
                with tab:
                    _render_children(c["children"], st, f"{path}.{i}")
        case _:
            with st.container():
                _render_children(kids, st, path)


def _render(node: dict, st, path: str) -> None:
    if "block" in node:
        _render_block(node, st, path)
        return
    kind, key = node["kind"], f"floor{path}"
    match kind:
        case "title" | "header" | "subheader" | "markdown" | "caption" | "text" | "error" | "info" | "warning" | "success":
            getattr(st, kind)(node["value"])
        case "metric":
            st.metric(node["label"], node["value"], border=True)
        case "dataframe" | "table":
            st.dataframe(node["value"], hide_index=True)
        case "plotly_chart":
            # The pages hand Streamlit built Figures, which it serialises as they are; a dict would be
            # validated trace by trace first, a cost the pages do not pay. So: a Figure, built unvalidated.
            figure = go.Figure(json.loads(node["spec"]), _validate=False)
            st.plotly_chart(figure, key=key, config=json.loads(node.get("config") or "{}"))
        case "multiselect":
            st.multiselect(node["label"], node["options"], key=key)
        case "selectbox":
            st.selectbox(node["label"], node["options"] or ["-"], key=key)
        case "radio":
            st.radio(node["label"], node["options"] or ["-"], key=key)
        case "button_group":
            st.segmented_control(node["label"], node["options"] or ["-"], key=key)
        case "text_input":
            st.text_input(node["label"], key=key)
        case "number_input":
            st.number_input(node["label"], key=key)
        case "checkbox" | "toggle":
            getattr(st, kind)(node["label"], key=key)
        case "button":
            st.button(node["label"], key=key)
        case "download_button":
            st.download_button(node["label"], data=b"a,b\n1,2\n", key=key)
        case "page_link":
            st.page_link("https://example.com", label=node["label"])
        case "badge":
            st.badge(str(node.get("label") or "badge"))
        case "component_instance":
            pass  # the login cookie component; the floor page has no login
        case _:
            st.caption(node.get("proto_type", kind))


def render(spec: dict) -> None:
    _render(spec, st, "")


if __name__ == "__main__":
    st.set_page_config(page_title="Floor", layout="wide")
    with open(os.environ["BENCH_FLOOR_SPEC"], "rb") as fh:
        render(pickle.load(fh))
