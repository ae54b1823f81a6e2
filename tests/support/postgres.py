"""A throwaway PostgreSQL server for the tests, and a fresh database per test.

The server runs Debian's ``initdb``/``pg_ctl`` in a temp dir on 127.0.0.1 and a free port
(as the ``postgres`` user when the tests run as root), with password authentication.
Without a PostgreSQL installation the tests that need it skip, unless
``CSAI_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.servers import free_port

PG_PASSWORD = "pg-S3cret-never-shown"


OPSTORES = ("sqlite", "postgresql")  # the operational-store backends the store tests run on


def unavailable(reason: str):
    if os.environ.get("CSAI_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (CSAI_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (set CSAI_REQUIRE_POSTGRES=1 to make this a failure)")


def run_server() -> Iterator[str]:
    """Start a server, yield its URL (database ``postgres``, user ``csai``), stop it afterwards."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = bins[-1] if bins else shutil.which("initdb")
    if not initdb:
        unavailable("initdb was not found (apt-get install postgresql)")
    bindir = Path(initdb).parent
    as_root = os.geteuid() == 0
    run_as: list[str] = []
    if as_root:
        runuser = shutil.which("runuser")
        if not runuser:
            unavailable("running as root without runuser to switch to the postgres user")
        run_as = [runuser, "-u", "postgres", "--"]
    tmp = tempfile.mkdtemp(prefix="csai-pg-")
    data_dir, pwfile, log = f"{tmp}/data", f"{tmp}/pw", f"{tmp}/log"
    Path(pwfile).write_text(PG_PASSWORD + "\n")
    if as_root:
        shutil.chown(tmp, "postgres")
        shutil.chown(pwfile, "postgres")
    os.chmod(tmp, 0o700)
    port = free_port()
    try:
        subprocess.run([*run_as, str(initdb), "-D", data_dir, "-U", "csai", "--pwfile", pwfile, "-E", "UTF8",
                        "--auth-local=trust", "--auth-host=scram-sha-256"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", data_dir, "-l", log, "-w", "-t", "60", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c max_connections=200",
                        "start"], check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(tmp, ignore_errors=True)
        unavailable(f"the server did not start ({exc}; {detail.decode(errors='replace')[-300:]})")
    url = f"postgresql+psycopg2://csai:{PG_PASSWORD}@127.0.0.1:{port}/postgres"
    try:
        for _ in range(50):
            try:
                sa.create_engine(url).connect().close()
                break
            except sa.exc.OperationalError:
                time.sleep(0.1)
        yield url
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", data_dir, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


def new_database(server_url: str, *, template: str | None = None) -> str:
    """Create a database on the server (empty, or a copy of the database ``template``); returns its URL.

    The URL has the server's user and password. A template must have no open connection.
    """
    name = f"t_{uuid.uuid4().hex[:16]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        # generated names, not user input
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return database_url(server_url, name)


def database_url(server_url: str, name: str) -> str:
    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def migrated_template(server_url: str) -> str:
    """A database migrated to the newest revision, to copy with :func:`new_database` (``template=``); returns its name.

    Copying it (``CREATE DATABASE ... TEMPLATE``) takes a fraction of running the migrations per test.
    """
    from data.opstore import create_engine, ensure_schema

    url = new_database(server_url)
    engine = create_engine(url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    return sa.engine.make_url(url).database


def store_copy(server_url: str, template: str, source_url: str) -> str:
    """A new database on the server holding every row of the store at ``source_url``; returns its URL."""
    url = new_database(server_url, template=template)
    copy_store(source_url, url)
    return url


def copy_store(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row of the operational store at ``source_url`` into the migrated, empty store at ``target_url``.

    Tables go in foreign-key order; PostgreSQL sequences are moved past the copied ids, so new rows get new
    ids. Returns the number of rows per table.
    """
    from data.opstore import create_engine, metadata, register_tables

    register_tables()
    source, target = create_engine(source_url), create_engine(target_url)
    counts: dict[str, int] = {}
    try:
        with source.connect() as read, target.begin() as write:
            for table in metadata.sorted_tables:
                rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
                if rows:
                    write.execute(table.insert(), rows)
                counts[table.name] = len(rows)
                if target.dialect.name == "postgresql":
                    for column in table.primary_key.columns:
                        if column.autoincrement is True or (column.autoincrement == "auto"
                                                            and isinstance(column.type, sa.Integer)):
                            write.execute(sa.text(
                                "SELECT setval(pg_get_serial_sequence(:t, :c), "
                                f'COALESCE((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                                {"t": table.name, "c": column.name})
    finally:
        source.dispose()
        target.dispose()
    return counts
