"""AppTest helpers for the security tests: the whole page as text, and a clean ``__main__`` afterwards."""

from __future__ import annotations

import sys

import pytest
from streamlit.testing.v1.element_tree import Dataframe


def all_text(at) -> str:
    """Every element of the page as text (protobufs, and table cells as CSV)."""
    out: list[str] = []

    def walk(node) -> None:
        if isinstance(node, Dataframe):
            out.append(node.value.to_csv())
        elif getattr(node, "proto", None) is not None:
            out.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


@pytest.fixture(autouse=True)
def restore_main_module():
    """Put ``sys.modules['__main__']`` back after the test.

    AppTest leaves the page script installed as ``__main__``; a later test that starts a
    ``spawn`` process would then make the child run ``app.py`` instead of its target.
    Import this fixture into every module that uses AppTest.
    """
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
