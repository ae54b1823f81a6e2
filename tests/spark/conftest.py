"""A local Spark (``local[2]``) for the Spark engine tests, started once per session.

Without PySpark or a Java runtime the tests skip with the reason, unless
``CSAI_REQUIRE_SPARK=1`` (``make test``, CI), where they fail instead.
"""

from __future__ import annotations

import os

import pytest

from tests.support.spark import spark_missing

SPARK_CONF = {"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "4",
              "spark.default.parallelism": "2", "spark.ui.enabled": "false"}


@pytest.fixture(scope="session")
def spark():
    reason = spark_missing()
    if reason:
        if os.environ.get("CSAI_REQUIRE_SPARK") == "1":
            pytest.fail(f"Spark is required (CSAI_REQUIRE_SPARK=1) but {reason}")
        pytest.skip(f"Spark engine tests need PySpark and Java: {reason}")
    from data.engines.spark_session import spark_session
    from data.engines.spark_settings import SparkSettings

    session = spark_session(SparkSettings(master="local[2]"), app_name="csai-tests", conf=SPARK_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
