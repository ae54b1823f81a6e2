"""Fixtures for the data-layer tests."""

from __future__ import annotations

import pytest

from data.warehouse import Warehouse
from tests.support.workspaces import write_tiny


@pytest.fixture()
def tiny_warehouse(tmp_path) -> Warehouse:
    """A fresh snapshot warehouse holding the hand-made three-account company (:func:`write_tiny`)."""
    wh = Warehouse(tmp_path / "warehouse")
    write_tiny(wh)
    return wh
