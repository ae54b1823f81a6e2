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
"""

# Identifiers in f-string SQL below are quoted with _q and whitelisted against the source's real
# columns or our schema; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from data.errors import UserError

ROW_COLUMN = "__row"
SQL_CHUNK_ROWS = 100_000  # rows per chunk read from a database source
FILE_KINDS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16", "latin-1": "latin-1",
                    "latin1": "latin-1", "iso-8859-1": "latin-1"}
_FORBIDDEN_SQL = re.compile(
    r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|copy|attach|detach|pragma|vacuum|"
    r"call|exec|execute|replace|upsert|lock|set|load|install|into)\b",
    re.IGNORECASE,
)


def is_database_url(text: str) -> bool:
    """True when ``text`` looks like a SQLAlchemy URL (``dialect[+driver]://...``)."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+_.-]*://", str(text)))


SERVER_DIALECTS = ("postgresql", "mysql", "mariadb", "mssql", "oracle", "snowflake")


def check_database_url(url: str) -> None:
    """Refuse database URLs that would make the server read its own files; raise UserError.

    Only the server databases of :data:`SERVER_DIALECTS` are allowed (any driver), so a
    file database such as SQLite or DuckDB (the workspace's operational store, its audit
    log, the warehouse) can never be opened through an import. The host and the URL's
    query parameters may not name a file or folder either (``sslkey=``,
    ``read_default_file=``, a Unix socket folder): connect over the network.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise UserError(f"{mask_url(url)} is not a database URL; write it as "
                        "dialect+driver://user:password@host:port/database.") from None
    dialect = parsed.get_backend_name()
    if dialect not in SERVER_DIALECTS:
        raise UserError(f"Database imports read from a database server ({', '.join(SERVER_DIALECTS)}); "
                        f"{dialect!r} is not one. To import a file, upload it or pass its path instead.")
    for name, value in [("host", parsed.host), *((k, v) for k, vs in parsed.query.items()
                                                  for v in ((vs,) if isinstance(vs, str) else vs))]:
        text = str(value or "")
        if text.startswith(("/", "~", ".", "\\")) or "/" in text or "\\" in text or re.match(r"^[A-Za-z]:", text):
            raise UserError(f"The database URL's {name!r} names a file or folder on this server, which imports "
                            "may not read; connect to the database over the network (host:port).")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to print or log)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is masked by pattern instead
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


def _url_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except Exception:  # noqa: BLE001
        m = re.search(r"://[^:/@]*:([^@]*)@", str(url))
        return m.group(1) if m else None


def scrub(text: str, url: str) -> str:
    """Remove the URL and its password from a message (driver errors may echo them)."""
    out = str(text).replace(str(url), mask_url(url))
    pw = _url_password(url)
    if pw:
        out = out.replace(pw, "***")
    return out


def check_select_query(query: str) -> str:
    """Return ``query`` without a trailing ``;`` if it is one read-only SELECT/WITH statement.

    Raises UserError for anything else (several statements, DML/DDL keywords).
    """
    text = re.sub(r"--[^\n]*", " ", str(query))
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = text.strip().rstrip(";").strip()
    stripped = re.sub(r"'(?:[^']|'')*'", "''", text)
    if not text:
        raise UserError("The query is empty; write one SELECT statement.")
    if ";" in stripped:
        raise UserError("The query contains more than one statement; give exactly one SELECT statement.")
    first = stripped.split(None, 1)[0].lower()
    if first not in {"select", "with"}:
        raise UserError("Only read-only queries are allowed: the query must start with SELECT or WITH.")
    bad = _FORBIDDEN_SQL.search(re.sub(r'"[^"]*"', '""', stripped))
    if bad:
        raise UserError(f"The query uses {bad.group(0).upper()!r}; only read-only SELECT queries are allowed.")
    return text


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


DELIMITER_CANDIDATES = (",", ";", "\t", "|")
SNIFF_CHARS = 1 << 16
_LINE_ENDS = {"\r\n": "CRLF (Windows)", "\n": "LF (Unix)", "\r": "CR (old Mac)"}


def check_csv_structure(path: Path, encoding: str, delimiter: str | None, *, skip: int = 0,
                        label: str | None = None) -> str:
    """Refuse a malformed CSV file, naming the first faulty line; return the delimiter to read it with.

    The file is read once, as RFC 4180 CSV (``"`` quotes, ``""`` inside a quoted field).
    Refused, with the 1-based line number of the file (header and skipped lines counted):
    a quoted field that is never closed, a stray character after a closing quote, rows
    with more or fewer fields than the header (empty lines are allowed), NUL bytes, rows
    ended by different line ends (CRLF and LF mixed; line breaks inside quoted fields
    are data and may differ), and a byte-order mark anywhere but at the very start. A
    BOM at the start is accepted and not part of the first column's name.
    ``delimiter=None`` picks the one of :data:`DELIMITER_CANDIDATES` that splits the
    first rows into the most equal rows of more than one field.
    """
    label = label or path.name
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        head = fh.read(SNIFF_CHARS)
    if delimiter is None:
        delimiter = _sniff_delimiter(head, skip)
    if len(delimiter) != 1:
        raise UserError(f"The delimiter {delimiter!r} must be one character, e.g. ',' ';' '|' or '\\t'.")
    scan = _LineScan(path, encoding, label)
    lines = scan.lines()
    for _ in range(skip):
        if next(lines, None) is None:
            break
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    expected: int | None = None
    header_line = 0
    terminator: tuple[str, int] | None = None  # (line end, line number) of the first row
    while True:
        start = scan.line_no + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if scan.in_error is not None:
                raise scan.in_error from None
            if "field larger than field limit" in str(exc):
                raise UserError(f"{label}, line {start}: a field in the row that starts on this line is longer than "
                                f"{csv.field_size_limit():,} characters, most likely a quote that is never closed "
                                "(unterminated quote). Close the quote or remove it, then export again.") from None
            if "unexpected end of data" in str(exc) or scan.at_end:
                raise UserError(f"{label}, line {start}: a quoted field in the row that starts on this line is "
                                "never closed (unterminated quote), so the rest of the file would be read as one "
                                "value. Close the quote or remove it, then export again.") from None
            raise UserError(f"{label}, line {scan.line_no}: malformed quoting ({exc}); a quoted field must end "
                            'with " followed by the delimiter or the end of the line.') from None
        if scan.in_error is not None:
            raise scan.in_error
        if not row:
            continue
        end = scan.ending
        if end:
            if terminator is None:
                terminator = (end, scan.line_no)
            elif end != terminator[0]:
                raise UserError(
                    f"{label}, line {scan.line_no}: mixed line ends: this line ends with {_LINE_ENDS[end]}, "
                    f"line {terminator[1]} with {_LINE_ENDS[terminator[0]]}. Save the file with one kind of "
                    "line end (the file may have been joined from several exports).")
        if expected is None:
            expected, header_line = len(row), start
            continue
        if len(row) != expected:
            raise UserError(
                f"{label}, line {start}: {len(row)} field(s) where line {header_line} has {expected} "
                f"(ragged row; delimiter {delimiter!r}). Quote values that contain the delimiter, or fix the row.")
    if scan.in_error is not None:
        raise scan.in_error
    return delimiter


class _LineScan:
    """Physical lines of a CSV file for :mod:`csv`, noting each line's end and refusing NULs and late BOMs."""

    def __init__(self, path: Path, encoding: str, label: str) -> None:
        self.path, self.encoding, self.label = path, encoding, label
        self.line_no = 0
        self.ending = ""
        self.at_end = False
        self.in_error: UserError | None = None

    def lines(self) -> Iterator[str]:
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as fh:
            for line in fh:
                self.line_no += 1
                if self.line_no == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                if "\x00" in line:
                    self.in_error = UserError(
                        f"{self.label}, line {self.line_no}: the line holds a NUL byte (\\0), which is not text. "
                        "The file is damaged or not a CSV export; export it again.")
                    return
                if "\ufeff" in line:
                    self.in_error = UserError(
                        f"{self.label}, line {self.line_no}: a byte-order mark (BOM) in the middle of the file; "
                        "it was probably joined from several exports. Remove it (a BOM at the very start is fine).")
                    return
                if line.endswith("\r\n"):
                    self.ending = "\r\n"
                elif line.endswith(("\n", "\r")):
                    self.ending = line[-1]
                else:
                    self.ending = ""
                yield line
        self.at_end = True


def _sniff_delimiter(head: str, skip: int) -> str:
    """The candidate delimiter that splits the first rows of ``head`` most consistently (',' if none does)."""
    text = head.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if len(text) >= SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # probably cut
    lines = lines[skip:skip + 200]
    best, best_score = ",", (0, 0)
    for cand in DELIMITER_CANDIDATES:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(lines, delimiter=cand, quotechar='"', doublequote=True):
                if row:
                    rows.append(row)
        except csv.Error:
            pass
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows), width)
        if score > best_score:
            best, best_score = cand, score
    return best


def _sniff_encoding(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the 1 MB window
            return "utf-8"
    return "cp1252"


def _transcode(path: Path, encoding: str, label: str) -> str:
    """Copy ``path`` to a temporary UTF-8 file (for encodings DuckDB cannot read itself)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"Unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252 or utf-16.") from None
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="csai-import-")
    errors = "replace" if encoding == "cp1252" else "strict"
    try:
        with open(path, encoding=encoding, errors=errors, newline="") as src, os.fdopen(
            fd, "w", encoding="utf-8", newline=""
        ) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except UnicodeError:
        os.unlink(tmp)
        raise UserError(f"{label} is not valid {encoding} text; pass the right --encoding.") from None
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # never leave a partial copy of customer data in the temp folder
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(f"disk full while writing a UTF-8 copy of {label} to the temp folder "
                            f"({tempfile.gettempdir()}); free some space or set TMPDIR, then try again.") from None
        raise
    return tmp


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
