"""Export warehouse tables and page tables to files (format chosen by the file's extension).

Every CSV this app writes goes through here, so none carries a spreadsheet formula:
a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
(OWASP's CSV-injection rule) is written with a single quote in front, which a
spreadsheet shows as text instead of running it. Numbers, dates and booleans are
written as they are, so a negative amount stays a number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data.errors import UserError
from data.warehouse import Warehouse

FORMATS = {".csv": "FORMAT CSV, HEADER", ".parquet": "FORMAT PARQUET"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a CSV cell as a formula."""


def neutralise_cell(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as formulas.

    Only text is touched: numeric, date and boolean columns keep their values, so -5
    in an amount column is still -5.
    """
    out = frame.rename(columns=lambda c: neutralise_cell(c) if isinstance(c, str) else c)
    for i in range(out.shape[1]):
        values = out.iloc[:, i]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        elif not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        cells = values.to_numpy(dtype=object, copy=True)
        risky = [isinstance(v, str) and v.startswith(FORMULA_START) for v in cells]
        if any(risky):
            for row in (r for r, bad in enumerate(risky) if bad):
                cells[row] = "'" + cells[row]
            out.isetitem(i, cells)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV (no index), formulas neutralised: what the pages' download buttons serve.

    Rows end in CRLF (RFC 4180), so a cell holding a carriage return is quoted and
    cannot split its row.
    """
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` to a CSV file like :func:`csv_bytes` (no index, formulas neutralised, CRLF rows)."""
    neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\r\n")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _neutralised_select(con, table: str) -> str:
    """``SELECT`` of ``table`` for a CSV ``COPY``: text columns get the guard of :func:`neutralise_cell`."""
    starts = ", ".join("'" + c.replace("'", "''") + "'" for c in FORMULA_START)  # our own constants
    columns = []
    for name, column_type, *_ in con.execute(f"DESCRIBE SELECT * FROM {_quoted(table)}").fetchall():  # noqa: S608
        col, label = _quoted(name), _quoted(neutralise_cell(name))
        if column_type == "VARCHAR":
            columns.append(f"CASE WHEN left({col}, 1) IN ({starts}) THEN chr(39) || {col} ELSE {col} END AS {label}")
        else:
            columns.append(f"{col} AS {label}")
    return f"SELECT {', '.join(columns)} FROM {_quoted(table)}"  # noqa: S608 - names from the warehouse catalog


def known_tables(warehouse: Warehouse) -> list[str]:
    with warehouse.reader() as con:
        rows = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'memory' AND NOT internal "
            "UNION SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'"
        ).fetchall()
    return sorted(r[0] for r in rows)


def export_table(warehouse: Warehouse, table: str, file: str | Path) -> int:
    """Write ``table`` to ``file`` (.csv or .parquet); returns the number of rows.

    CSV text cells are neutralised against formulas (see the module docstring); Parquet
    keeps every value as it is.
    """
    path = Path(file)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"Cannot export to {path.name!r}: use a file name ending in .csv or .parquet.")
    tables = known_tables(warehouse)
    if table not in tables:
        raise UserError(f"Unknown table {table!r}. Known tables: {', '.join(tables)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.reader() as con:
        # ``table`` was checked against the warehouse's own table names above.
        n = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]  # noqa: S608
        target = str(path).replace("'", "''")
        select = (_neutralised_select(con, table) if path.suffix.lower() == ".csv"
                  else f"SELECT * FROM {_quoted(table)}")  # noqa: S608 - checked name
        con.execute(f"COPY ({select}) TO '{target}' ({fmt})")  # noqa: S608 - checked name
    return n
