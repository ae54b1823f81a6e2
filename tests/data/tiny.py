"""Shim: the tiny company moved to ``tests/support/workspaces.py`` (kept for branches that import it here)."""

from tests.support.workspaces import TINY_END, write_tiny  # noqa: F401
