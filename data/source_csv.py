"""CSV files before DuckDB reads them: the RFC 4180 structure check, delimiter and encoding sniffing,
and the UTF-8 copy of a file in an encoding DuckDB cannot read itself.

:func:`check_csv_structure` refuses a malformed file (unterminated quote, ragged row, NUL byte,
mixed line ends, a BOM past the start) with its line number, so DuckDB then reads it with a
known delimiter and ``"`` quotes. Used by :class:`data.sources.Source`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from data.errors import UserError

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
