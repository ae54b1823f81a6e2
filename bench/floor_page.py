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
    item: dict = {"kind": kind}
    try:
        if kind in TEXT_KINDS:
            item["value"] = str(node.value)
        elif kind == "metric":
            item.update(label=node.label, value=node.value, delta=getattr(node, "delta", None))
        elif kind in ("dataframe", "table"):
            item["value"] = node.value
        elif kind == "plotly_chart":
            item["spec"] = node.proto.spec
        elif kind in ("multiselect", "selectbox", "radio", "button_group"):
            item.update(label=getattr(node, "label", kind), options=list(getattr(node, "options", []) or []))
        elif kind in ("text_input", "number_input", "checkbox", "toggle", "button", "download_button",
                      "date_input", "slider", "text_area", "page_link"):
            item["label"] = getattr(node, "label", kind) or kind
        elif kind == "badge":
            item["label"] = getattr(node.proto, "body", "badge") if hasattr(node, "proto") else "badge"
        else:
            item["proto_type"] = kind
    except Exception:  # noqa: BLE001 - an element we cannot read is replayed as a caption
        item = {"kind": "caption", "value": kind}
    return item


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


def _render(node: dict, st, path: str) -> None:
    if "block" in node:
        kids = node["children"]
        kind = node["block"]
        if kind in ("main", "SpecialBlock"):
            for i, c in enumerate(kids):
                _render(c, st, f"{path}.{i}")
        elif kids and all(c.get("block") == "column" for c in kids):
            cols = st.columns(len(kids))
            for i, (col, c) in enumerate(zip(cols, kids, strict=True)):
                with col:
                    for j, g in enumerate(c["children"]):
                        _render(g, st, f"{path}.{i}.{j}")
        elif kids and all(c.get("block") == "tab" for c in kids):
            tabs = st.tabs([c.get("label") or f"Tab {i}" for i, c in enumerate(kids)])
            for i, (tab, c) in enumerate(zip(tabs, kids, strict=True)):
                with tab:
                    for j, g in enumerate(c["children"]):
                        _render(g, st, f"{path}.{i}.{j}")
        else:
            with st.container():
                for i, c in enumerate(kids):
                    _render(c, st, f"{path}.{i}")
        return
    kind, key = node["kind"], f"floor{path}"
    if kind in ("title", "header", "subheader", "markdown", "caption", "text", "error", "info", "warning", "success"):
        getattr(st, kind)(node["value"])
    elif kind == "metric":
        st.metric(node["label"], node["value"], border=True)
    elif kind in ("dataframe", "table"):
        st.dataframe(node["value"], hide_index=True)
    elif kind == "plotly_chart":
        st.plotly_chart(json.loads(node["spec"]), key=key)
    elif kind == "multiselect":
        st.multiselect(node["label"], node["options"], key=key)
    elif kind == "selectbox":
        st.selectbox(node["label"], node["options"] or ["-"], key=key)
    elif kind == "radio":
        st.radio(node["label"], node["options"] or ["-"], key=key)
    elif kind == "button_group":
        st.segmented_control(node["label"], node["options"] or ["-"], key=key)
    elif kind == "text_input":
        st.text_input(node["label"], key=key)
    elif kind == "number_input":
        st.number_input(node["label"], key=key)
    elif kind in ("checkbox", "toggle"):
        getattr(st, kind)(node["label"], key=key)
    elif kind == "button":
        st.button(node["label"], key=key)
    elif kind == "download_button":
        st.download_button(node["label"], data=b"a,b\n1,2\n", key=key)
    elif kind == "page_link":
        st.page_link("https://example.com", label=node["label"])
    elif kind == "badge":
        st.badge(str(node.get("label") or "badge"))
    elif kind == "component_instance":
        pass  # the login cookie component; the floor page has no login
    else:
        st.caption(node.get("proto_type", kind))


def render(spec: dict) -> None:
    import streamlit as st

    _render(spec, st, "")


if __name__ == "__main__":
    import streamlit as st

    st.set_page_config(page_title="Floor", layout="wide")
    with open(os.environ["BENCH_FLOOR_SPEC"], "rb") as fh:
        render(pickle.load(fh))
