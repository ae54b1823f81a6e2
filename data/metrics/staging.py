"""DuckDB side of the metric build: frames registered under connection-unique names, and query results as numpy."""

from __future__ import annotations

import contextlib
import re

import duckdb
import numpy as np
import pandas as pd

from data.sqlfiles import load_sql


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict[str, np.ndarray]:
    """Query result as plain numpy columns (NULL -> NaN in any numeric column that has one)."""
    out = {}
    for name, col in con.execute(sql, params or {}).fetchnumpy().items():
        if isinstance(col, np.ma.MaskedArray):
            col = col.astype(float).filled(np.nan) if col.mask.any() else col.data
        out[name] = np.asarray(col)
    return out


def _register_obs(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame) -> str:
    global _view_counter
    _view_counter += 1
    name = f"obs_{_view_counter}"
    con.register(name, obs)
    return name


_view_counter = 0


class _SqlFiles:
    """Text of ``data/sql`` files with the names of registered frames made connection-unique."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")

    def __call__(self, name: str) -> str:
        return self._pattern.sub(lambda m: self._names[m.group(1)], load_sql(name))

    def queries(self, name: str) -> dict[str, str]:
        """The ``-- name: <query>`` sections of one file, by query name."""
        parts = re.split(r"^-- name: (\w+)\s*$", self(name), flags=re.M)
        return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame):
    """Register ``frames`` under connection-unique names; yields a :class:`_SqlFiles` whose
    SQL text reads them (their names in the files are replaced)."""
    global _view_counter
    _view_counter += 1
    names = {name: f"{name}_{_view_counter}" for name in frames}
    for name, frame in frames.items():
        con.register(names[name], frame)
    try:
        yield _SqlFiles(names)
    finally:
        for name in names.values():
            con.unregister(name)
