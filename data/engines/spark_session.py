"""Open a SparkSession from :class:`data.engines.spark_settings.SparkSettings`.

Spark Connect (``CSAI_SPARK_REMOTE=sc://host:15002``) wins over a master URL
(``CSAI_SPARK_MASTER``, default ``local[2]``). The project's ``data`` and ``models``
packages are shipped to the executors (a zip added as a Python file) unless the master
is local, where the workers import them from this checkout. Executors need the packages
of ``requirements.txt`` (pandas, numpy, lightgbm, pyarrow) installed.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import zipfile
from pathlib import Path
from shutil import which
from urllib.parse import urlsplit

from data.engines.spark_settings import SparkSettings
from data.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PACKAGES = ("data", "models")
DEFAULT_CONF = {
    "spark.sql.session.timeZone": "UTC",  # day numbers of timestamps are taken in UTC, as DuckDB does
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    # Adaptive execution merges shuffle partitions by their input size, but the metric layer's joins multiply
    # each account's rows (observation dates x day bins): at 100,000 accounts 20 partitions were merged into 4
    # and a task ran out of heap. Partitions stay as many as spark.sql.shuffle.partitions says.
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
    # No broadcast joins: the planner broadcast a side whose size grows with the accounts, and at 100,000
    # accounts a 1 GB heap ran out in that join even with 5,000 accounts per task; without broadcasts the
    # peak stays that of 20,000 accounts (1.8 GB for local[2]). Every join of the metric layer is by account.
    "spark.sql.autoBroadcastJoinThreshold": "-1",
}


def require_pyspark():
    """The ``pyspark`` module, or a :class:`UserError` saying how to install it."""
    try:
        import pyspark  # deferred: optional dependency (pyspark, requirements-spark.txt)
    except ImportError:
        raise UserError("The Spark engine needs PySpark: pip install -r requirements-spark.txt "
                        "(and a Java 17 runtime, e.g. apt-get install openjdk-17-jre-headless).") from None
    return pyspark


def java_available() -> bool:
    return bool(os.environ.get("JAVA_HOME") or which("java"))


def spark_session(settings: SparkSettings, *, app_name: str = "csai-batch", conf: dict | None = None):
    """A SparkSession for the settings (``getOrCreate``: an open local session is reused)."""
    require_pyspark()
    from pyspark.sql import SparkSession  # deferred: optional dependency (pyspark, requirements-spark.txt)

    options = {**DEFAULT_CONF, **settings.conf, **(conf or {})}
    if settings.remote:
        _reachable(settings.remote)  # the Connect client retries for minutes before it gives up
        builder = SparkSession.builder.remote(settings.remote).appName(app_name)
    else:
        if not java_available():
            raise UserError("The Spark engine needs a Java 17 runtime: apt-get install openjdk-17-jre-headless "
                            "(or set JAVA_HOME), or use Spark Connect (CSAI_SPARK_REMOTE=sc://host:15002).")
        if settings.master.startswith("local"):
            _local_workers_import_checkout()
            options.setdefault("spark.driver.memory", "1g")
        builder = SparkSession.builder.master(settings.master).appName(app_name)
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Py4J / gRPC errors are many types; one line for the user
        where = settings.remote or settings.master
        raise UserError(f"Could not start Spark at {where}: {str(exc).splitlines()[0][:300]}") from None
    if settings.remote or not settings.master.startswith("local"):
        ship_code(spark)
    return spark


def _reachable(url: str, timeout: float = 10.0) -> None:
    """Raise a :class:`UserError` unless a TCP connection to the Spark Connect URL's host and port opens."""
    parts = urlsplit(url.replace("sc://", "http://", 1))
    host, port = parts.hostname or "localhost", parts.port or 15002
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise UserError(f"Spark Connect server {host}:{port} is not reachable ({exc.strerror or exc}); start it "
                        "(sbin/start-connect-server.sh) or fix CSAI_SPARK_REMOTE.") from None


def _local_workers_import_checkout() -> None:
    """Local Python workers inherit the driver's environment: run them on this interpreter (its
    packages) and let them import ``data`` and ``models`` from this checkout."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO_ROOT) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *paths])


def ship_code(spark) -> Path:
    """Zip the ``data`` and ``models`` packages and add them to the session's Python path."""
    target = Path(tempfile.mkdtemp(prefix="csai-spark-")) / "csai_code.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in SHIPPED_PACKAGES:
            for path in sorted((REPO_ROOT / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".sql"):
                    zf.write(path, path.relative_to(REPO_ROOT).as_posix())
    if hasattr(spark, "addArtifacts"):  # Spark Connect
        spark.addArtifacts(str(target), pyfile=True)
    else:
        spark.sparkContext.addPyFile(str(target))
    return target
