"""Export warehouse tables to files (format chosen by the file's extension)."""

from __future__ import annotations

from pathlib import Path

from data.errors import UserError
from data.warehouse import Warehouse

FORMATS = {".csv": "FORMAT CSV, HEADER", ".parquet": "FORMAT PARQUET"}


def known_tables(warehouse: Warehouse) -> list[str]:
    with warehouse.reader() as con:
        rows = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'memory' AND NOT internal "
            "UNION SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'"
        ).fetchall()
    return sorted(r[0] for r in rows)


def export_table(warehouse: Warehouse, table: str, file: str | Path) -> int:
    """Write ``table`` to ``file`` (.csv or .parquet); returns the number of rows."""
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
        con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{target}' ({fmt})")  # noqa: S608 - checked name
    return n
