"""Settings of the Spark engine (``CSAI_ENGINE``, ``CSAI_SPARK_*``), read by ``data.settings``.

* ``CSAI_ENGINE``: ``embedded`` (default: DuckDB + numpy in this process) or ``spark``.
* ``CSAI_SPARK_REMOTE``: a Spark Connect URL (``sc://host:15002``); wins over the master.
* ``CSAI_SPARK_MASTER``: a master URL (``local[2]`` by default, ``spark://host:7077``, ``yarn``...).
* ``CSAI_SPARK_INPUT``: a folder with one Parquet file or folder per raw table (``events.parquet``
  or ``events/``). Unset: the raw layer of the warehouse is exported there first.
* ``CSAI_SPARK_TABLES``: per-table overrides, ``events=lake.db.events,accounts=/data/acc.parquet``
  (a path, or a table name the session can read).
* ``CSAI_SPARK_OUTPUT``: where Parquet outputs are written (default ``<workspace>/spark/runs``).
* ``CSAI_SPARK_CONF``: extra Spark settings, ``key=value`` separated by ``;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from data.errors import UserError

ENGINES = ("embedded", "spark")
RAW_TABLES = ("accounts", "subscriptions", "events", "tickets", "nps", "invoices", "contacts")
_MASTER = re.compile(r"^(local(\[(\d+|\*)(,\d+)?\])?|spark://[\w.\-]+(:\d+)?(,[\w.\-]+(:\d+)?)*|yarn|k8s://\S+)$")
_REMOTE = re.compile(r"^sc://[\w.\-\[\]:]+(/.*)?$")


@dataclass(frozen=True)
class SparkSettings:
    engine: str = "embedded"
    remote: str | None = None
    master: str = "local[2]"
    input_dir: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    output_dir: str | None = None
    conf: dict[str, str] = field(default_factory=dict)


def load_spark_settings(env: dict) -> SparkSettings:
    """Validated Spark settings; a bad value raises :class:`UserError` naming the variable."""
    engine = (env.get("CSAI_ENGINE") or "embedded").strip().lower()
    if engine not in ENGINES:
        raise UserError(f"CSAI_ENGINE={engine!r} is not an engine; use one of: {', '.join(ENGINES)}.")
    remote = (env.get("CSAI_SPARK_REMOTE") or "").strip() or None
    if remote and not _REMOTE.match(remote):
        raise UserError(f"CSAI_SPARK_REMOTE={remote!r} is not a Spark Connect URL; use e.g. sc://spark-host:15002.")
    master = (env.get("CSAI_SPARK_MASTER") or "local[2]").strip()
    if not _MASTER.match(master):
        raise UserError(f"CSAI_SPARK_MASTER={master!r} is not a master URL; use e.g. local[2] or spark://host:7077.")
    tables: dict[str, str] = {}
    for part in (env.get("CSAI_SPARK_TABLES") or "").split(","):
        if not part.strip():
            continue
        name, sep, source = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in RAW_TABLES or not source.strip():
            raise UserError(f"CSAI_SPARK_TABLES: {part.strip()!r} is not table=path-or-name; tables are "
                            f"{', '.join(RAW_TABLES)}.")
        tables[name] = source.strip()
    conf: dict[str, str] = {}
    for part in (env.get("CSAI_SPARK_CONF") or "").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise UserError(f"CSAI_SPARK_CONF: {part.strip()!r} is not spark.some.key=value.")
        conf[key.strip()] = value.strip()
    return SparkSettings(engine=engine, remote=remote, master=master, input_dir=env.get("CSAI_SPARK_INPUT") or None,
                         tables=tables, output_dir=env.get("CSAI_SPARK_OUTPUT") or None, conf=conf)
