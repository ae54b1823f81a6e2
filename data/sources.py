"""Import sources: CSV, Parquet, Excel files and SQLAlchemy databases, loaded into DuckDB.

A :class:`Source` says where rows come from; :meth:`Source.load` puts them into a
table of a DuckDB connection (the import's private staging database) through DuckDB's
own readers (CSV, Parquet) or a DataFrame hand-over (Excel, databases). Nothing is
read row by row in Python.

A CSV file is first checked as RFC 4180 CSV by :func:`check_csv_structure`: a malformed
file (unterminated quote, ragged row, NUL byte, mixed line ends, a BOM past the start) is
refused with its line number, and DuckDB then reads it with that delimiter and ``"``
quotes, so quoted fields never keep their quotes. Database URLs must name a server
database (:func:`check_database_url`), never a file on this machine.

CSV columns are loaded as text (``all_varchar``) so identifiers like ``007`` keep their
leading zeros; the mapping step casts them to the canonical types and counts what does
not parse. Every loaded table gets a ``__row`` column: the 1-based data row number
that validation reports point at.

Database URLs may carry passwords: every message built here uses :func:`mask_url`
and scrubs the password from driver errors.

The CSV checks live in :mod:`data.source_csv`, the database URL and query rules in
:mod:`data.source_urls`; this module loads the rows.
"""

# Identifiers in f-string SQL below are quoted with _q and whitelisted against the source's real
# columns or our schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

from data.errors import UserError
from data.source_csv import _sniff_encoding, _transcode, check_csv_structure
from data.source_urls import check_database_url, check_select_query, is_database_url, mask_url, scrub

__all__ = [  # check_select_query and mask_url are re-exported for the Data and Admin pages
    "DUCKDB_ENCODINGS", "FILE_KINDS", "ROW_COLUMN", "SQL_CHUNK_ROWS", "Source", "SourcePreview",
    "check_csv_structure", "check_database_url", "check_select_query", "mask_url", "preview_source", "scrub",
]

ROW_COLUMN = "__row"
SQL_CHUNK_ROWS = 100_000  # rows per chunk read from a database source
FILE_KINDS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16", "latin-1": "latin-1",
                    "latin1": "latin-1", "iso-8859-1": "latin-1"}

@dataclass
class Source:
    """Where import rows come from: a file (``path``) or a database (``url`` + query/table).

    CSV options: ``delimiter``, ``encoding``, ``header`` (None = sniff), ``skip`` (lines
    before the header). Excel: ``sheet`` (name or 0-based index). Database: ``query``
    (one SELECT) or ``table``.
    """

    path: str | None = None
    url: str | None = field(default=None, repr=False)
    query: str | None = None
    table: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    header: bool | None = None
    skip: int | None = None
    sheet: str | int | None = None

    @classmethod
    def from_text(cls, text: str, **options) -> Source:
        """A file path or a SQLAlchemy URL, as typed on the command line."""
        if is_database_url(text) and not Path(text).exists():
            return cls(url=text, **options)
        return cls(path=text, **options)

    @property
    def label(self) -> str:
        """Human name for messages (URLs masked)."""
        if self.url:
            what = "query" if self.query else f"table {self.table!r}"
            return f"{what} on {mask_url(self.url)}"
        return Path(self.path or "?").name

    @property
    def kind(self) -> str:
        if self.url:
            return "sql"
        suffix = Path(self.path or "").suffix.lower()
        kind = FILE_KINDS.get(suffix)
        if kind is None:
            if suffix == ".xls":
                raise UserError(f"{self.label}: old Excel .xls files are not supported; save it as .xlsx or CSV.")
            raise UserError(
                f"{self.label}: unsupported file type {suffix or '(no extension)'!r}; "
                "use .csv, .tsv, .parquet or .xlsx."
            )
        return kind

    # ---------------------------------------------------------------- loading
    def load(self, con: duckdb.DuckDBPyConnection, name: str, *, max_mb: float | None = None) -> list[str]:
        """Make the source's rows readable as ``name`` in ``con``; returns its column names.

        Parquet becomes a view over the file (nothing is copied: large files are read
        where they lie, with ``__row`` from the file's row numbers, so the file must
        not change while an import reads it); CSV, Excel and
        database rows become a temp table (database rows arrive in chunks of
        :data:`SQL_CHUNK_ROWS`). Raises UserError for missing, empty, oversize,
        unreadable or wrongly typed sources.
        """
        kind = self.kind
        if kind == "sql":
            self._load_database(con, name)
        else:
            path = self._check_file(max_mb)
            if kind == "csv":
                self._load_csv(con, name, path)
            elif kind == "parquet":
                self._load_parquet(con, name, path)
            else:
                _register_frame(con, name, self._read_excel(path))
        cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        return [c for c in cols if c != ROW_COLUMN]

    def _check_file(self, max_mb: float | None) -> Path:
        if not self.path:
            raise UserError("No file given; choose a .csv, .parquet or .xlsx file.")
        path = Path(self.path)
        if not path.exists():
            raise UserError(f"File {self.path!r} does not exist; check the path.")
        if path.is_dir():
            raise UserError(f"{self.path!r} is a folder, not a file; choose a .csv, .parquet or .xlsx file.")
        size = path.stat().st_size
        if size == 0:
            raise UserError(f"{self.label} is empty (0 bytes); export the data again.")
        if max_mb is not None and size > max_mb * 1024 * 1024:
            raise UserError(
                f"{self.label} is {size / 1024 / 1024:.1f} MB, above the {max_mb:g} MB upload limit; "
                "split the file or raise CSAI_MAX_UPLOAD_MB."
            )
        return path

    def _load_csv(self, con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
        encoding = (self.encoding or "").lower() or None
        tmp: str | None = None
        try:
            read_path = path
            if encoding is None:
                encoding = _sniff_encoding(path)
            if encoding not in DUCKDB_ENCODINGS or DUCKDB_ENCODINGS[encoding] == "utf-16":
                tmp = _transcode(path, encoding, self.label)  # utf-16 too: the structure check reads UTF-8
                read_path, encoding = Path(tmp), "utf-8"
            if self.delimiter:
                delim = self.delimiter.encode().decode("unicode_escape") if "\\" in self.delimiter else self.delimiter
            else:
                delim = "\t" if path.suffix.lower() == ".tsv" else None
            delim = check_csv_structure(read_path, DUCKDB_ENCODINGS[encoding], delim, skip=self.skip or 0,
                                        label=self.label)
            # The dialect is the one the structure check verified: RFC 4180 quotes, so a quoted field never
            # keeps its quote characters whatever DuckDB's sniffer would have guessed.
            opts = ["all_varchar = true", f"encoding = '{DUCKDB_ENCODINGS[encoding]}'", "sample_size = 20480",
                    "delim = ?", "quote = '\"'", "escape = '\"'"]
            params: list = [str(read_path), delim]
            if self.header is not None:
                opts.append(f"header = {'true' if self.header else 'false'}")
            if self.skip:
                opts.append(f"skip = {int(self.skip)}")
            sql = (
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT row_number() OVER () AS {ROW_COLUMN}, * '
                f"FROM read_csv(?, {', '.join(opts)})"
            )
            try:
                con.execute(sql, params)
            except duckdb.Error as exc:
                detail = _first_line(exc).replace(str(read_path), self.label)
                raise UserError(f"{self.label} could not be read as CSV: {detail}. "
                                "Check the delimiter and encoding (--delimiter, --encoding).") from None
        finally:
            if tmp:
                os.unlink(tmp)

    def _load_parquet(self, con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
        try:
            rel = con.read_parquet(str(path))
            if "file_row_number" in rel.columns:  # the file has a column of that name: number the rows ourselves
                con.execute(
                    f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT row_number() OVER () AS {ROW_COLUMN}, * '
                    "FROM read_parquet(?)",
                    [str(path)],
                )
                return
            rel = con.read_parquet(str(path), file_row_number=True)
            rel.project(f"file_row_number + 1 AS {ROW_COLUMN}, * EXCLUDE (file_row_number)").create_view(name)
        except duckdb.Error as exc:
            raise UserError(f"{self.label} is not a readable Parquet file ({_first_line(exc)}).") from None

    def _read_excel(self, path: Path) -> pd.DataFrame:
        try:
            df = pd.read_excel(path, sheet_name=self.sheet if self.sheet is not None else 0, engine="openpyxl",
                               header=0 if self.header is not False else None, skiprows=self.skip or None)
        except ValueError as exc:
            raise UserError(f"{self.label}: {exc}.") from None
        except Exception as exc:  # noqa: BLE001 - zip/xml errors of a broken workbook
            raise UserError(f"{self.label} is not a readable .xlsx workbook ({type(exc).__name__}); "
                            "save it again from Excel or export it as CSV.") from None
        if self.header is False:
            df.columns = [f"column{i}" for i in range(len(df.columns))]
        return df

    def _load_database(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Read the query or table in chunks into temp table ``name``.

        Column types are settled over all chunks, as if the rows had come in one frame:
        a float column whose values are all whole numbers (a nullable integer column)
        becomes BIGINT even when one chunk holds only NULLs.
        """
        parts: list[str] = []
        whole: dict[str, list[bool]] = {}  # float column -> [all values whole so far, any value seen]
        offset = 0
        try:
            for chunk in self._read_database():
                part = f"{name}__part{len(parts)}"
                _register_frame(con, part, chunk, first_row=offset + 1, whole_numbers=whole)
                parts.append(part)
                offset += len(chunk)
            cols = [r[0] for r in con.execute(f'DESCRIBE "{parts[0]}"').fetchall()]
            select = ", ".join(f'CAST("{c}" AS BIGINT) AS "{c}"' if whole.get(c, [False, False]) == [True, True]
                               else f'"{c}"' for c in cols)  # column names as DuckDB reports them
            union = " UNION ALL BY NAME ".join(f'SELECT * FROM "{p}"' for p in parts)
            try:
                con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {select} FROM ({union}) '
                            f"ORDER BY {ROW_COLUMN}")
            except duckdb.Error as exc:
                raise UserError(f"The rows of {self.label} could not be combined ({_first_line(exc)}); "
                                "cast the mixed columns to one type in the query.") from None
        finally:
            for p in parts:
                con.execute(f'DROP TABLE IF EXISTS "{p}"')

    def _read_database(self) -> Iterator[pd.DataFrame]:
        """The query's or table's rows as DataFrames of at most :data:`SQL_CHUNK_ROWS` rows (at least one)."""
        url = str(self.url)
        check_database_url(url)
        if bool(self.query) == bool(self.table):
            raise UserError("For a database source give either a query (--query) or a table (--from-table), not both.")
        try:
            engine = sa.create_engine(url)
        except Exception as exc:  # noqa: BLE001 - bad URL / missing driver
            raise UserError(f"Cannot use database URL {mask_url(url)}: {scrub(_first_line(exc), url)}") from None
        try:
            with engine.connect() as conn:
                _make_read_only(conn)
                if self.query:
                    stmt = sa.text(check_select_query(self.query))
                else:
                    schema, _, tname = str(self.table).rpartition(".")
                    names = sa.inspect(conn).get_table_names(schema=schema or None)
                    names += sa.inspect(conn).get_view_names(schema=schema or None)
                    if tname not in names:
                        shown = ", ".join(sorted(names)[:20]) or "none"
                        raise UserError(f"Table {self.table!r} was not found on {mask_url(url)}. Tables: {shown}.")
                    stmt = sa.select(sa.text("*")).select_from(sa.table(tname, schema=schema or None))
                streaming = conn.execution_options(stream_results=True)
                empty = True
                for chunk in pd.read_sql(stmt, streaming, chunksize=SQL_CHUNK_ROWS):
                    empty = False
                    yield chunk
                if empty:  # no rows: one empty frame with the columns
                    yield pd.read_sql(stmt, conn)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - connection, auth and SQL errors of any driver
            raise UserError(f"Reading from {mask_url(url)} failed: {scrub(_first_line(exc), url)}") from None
        finally:
            engine.dispose()


def _make_read_only(conn) -> None:
    """Ask the database for a read-only session where the dialect supports it."""
    name = conn.dialect.name
    if name in {"postgresql", "mysql", "mariadb"}:
        conn.execute(sa.text("SET TRANSACTION READ ONLY"))


def _register_frame(con: duckdb.DuckDBPyConnection, name: str, df: pd.DataFrame, first_row: int = 1,
                    whole_numbers: dict[str, list[bool]] | None = None) -> None:
    """Hand a DataFrame to DuckDB as temp table ``name`` (with ``__row`` counting from ``first_row``).

    A float column holding only whole numbers becomes BIGINT, unless ``whole_numbers``
    is given: then the column stays DOUBLE and ``whole_numbers[column]`` is updated to
    ``[all whole so far, any value seen]`` so the caller can decide over several chunks.
    """
    df = df.copy()
    df.columns = _unique_names([str(c) for c in df.columns])
    for col in df.columns:
        s = df[col]
        if s.dtype == object or str(s.dtype).startswith(("string", "str")):
            df[col] = s.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                            if not isinstance(v, str) else v).astype(object)
        elif pd.api.types.is_float_dtype(s) or (whole_numbers is not None and pd.api.types.is_integer_dtype(s)):
            non_null = s.dropna()
            whole = bool((non_null == non_null.round()).all() and (non_null.abs().max() < 2**53 if len(non_null)
                                                                    else True))
            if whole_numbers is not None:
                was_whole, seen = whole_numbers.get(col, [True, False])
                whole_numbers[col] = [was_whole and whole, seen or len(non_null) > 0]
            elif whole and len(non_null):
                df[col] = s.astype("Int64")
            continue
        if whole_numbers is not None and s.notna().any():  # values that are not numbers: never BIGINT
            whole_numbers[col] = [False, True]
    df.insert(0, ROW_COLUMN, range(first_row, first_row + len(df)))
    view = f"__frame_{name}"
    con.register(view, df)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        con.unregister(view)


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n.strip() or "column"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        seen.setdefault(n, 0)
        out.append(n)
    return out



def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class SourcePreview:
    """What the Data page shows before mapping: size, column types, first rows, small value sets."""

    rows: int
    columns: list[str]
    types: dict[str, str]
    head: pd.DataFrame
    few_values: dict[str, list[str]] = field(default_factory=dict)  # columns with few distinct values


def preview_source(source: Source, *, max_mb: int, rows: int = 20, few_values: int = 12) -> SourcePreview:
    """Load ``source`` into a private in-memory DuckDB and describe it (nothing is written anywhere)."""
    con = duckdb.connect()
    try:
        columns = source.load(con, "preview", max_mb=max_mb)
        rel = con.table("preview")
        types = {c: str(t) for c, t in zip(rel.columns, rel.dtypes, strict=True) if c != ROW_COLUMN}
        count = rel.aggregate("count(*)").fetchall()[0][0]
        head = rel.order(ROW_COLUMN).limit(rows).df().drop(columns=[ROW_COLUMN])
        few: dict[str, list[str]] = {}
        if count and columns:
            quoted = ['"' + c.replace('"', '""') + '"' for c in columns]  # the source's own column names
            approx = rel.aggregate(", ".join(f"approx_count_distinct({q})" for q in quoted)).fetchall()[0]
            for col, q, n in zip(columns, quoted, approx, strict=True):
                if n <= few_values:
                    values = rel.filter(f"{q} IS NOT NULL").project(f"CAST({q} AS VARCHAR)").distinct().fetchall()
                    if len(values) <= few_values:
                        few[col] = sorted(str(v[0]) for v in values)
        return SourcePreview(count, columns, types, head, few)
    finally:
        con.close()
