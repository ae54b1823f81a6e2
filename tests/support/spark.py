"""Whether a local Spark can run here (PySpark installed, a Java runtime on the path)."""

from __future__ import annotations


def spark_missing() -> str | None:
    """Why a local Spark cannot start here, or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install -r requirements-spark.txt)"
    from data.engines.spark_session import java_available

    if not java_available():
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None
