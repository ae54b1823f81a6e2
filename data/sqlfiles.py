"""The SQL files under ``data/sql/`` (the read model's marts, the metric layer's staging, labels), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"


@cache
def load_sql(name: str) -> str:
    """Text of ``data/sql/<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text()
