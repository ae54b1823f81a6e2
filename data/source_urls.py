"""Database sources: which URLs an import may open, passwords kept out of messages, read-only queries.

A database URL must name a server database (:func:`check_database_url`), never a file on this
machine; :func:`mask_url` and :func:`scrub` keep passwords out of everything shown or logged;
:func:`check_select_query` accepts one read-only SELECT. Used by :class:`data.sources.Source`.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from data.errors import UserError

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

