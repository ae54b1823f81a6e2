"""A workspace: settings plus the warehouse and operational store they point at."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from data.opstore import get_engine
from data.settings import Settings, load_settings
from data.warehouse import Warehouse


@dataclass(frozen=True)
class Workspace:
    settings: Settings

    @cached_property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse_dir)

    @cached_property
    def engine(self) -> sa.Engine:
        return get_engine(self.settings.database_url)

    @property
    def path(self):
        return self.settings.workspace


def open_workspace(path: str | None = None) -> Workspace:
    """Load settings (``path`` wins over ``CSAI_WORKSPACE``) and open the workspace."""
    return Workspace(load_settings(path))
