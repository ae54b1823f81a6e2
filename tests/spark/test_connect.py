"""``cli.py --engine spark score`` through Spark Connect (``CSAI_SPARK_REMOTE=sc://host:port``).

The test starts a Spark Connect server (``local[2]``, from PySpark's own jars) as a
separate process and runs the command line against it, like a team whose cluster offers
Spark Connect: the project's code reaches the executors as a shipped zip, and the
scores equal the embedded engine's.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.cli import ROOT
from tests.support.servers import free_port
from tests.support.spark import spark_missing

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory):
    reason = spark_missing()
    if reason is None:
        try:
            import grpc  # noqa: F401
        except ImportError:
            reason = "the Spark Connect client packages are missing (pip install -r requirements-spark.txt)"
    if reason:
        if os.environ.get("CSAI_REQUIRE_SPARK") == "1":
            pytest.fail(f"Spark is required (CSAI_REQUIRE_SPARK=1) but {reason}")
        pytest.skip(f"Spark Connect test needs PySpark and Java: {reason}")
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": ""}
    with open(log, "w") as fh:
        server = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[2]", "--conf", "spark.driver.memory=1g", "--conf", "spark.sql.shuffle.partitions=4",
             "--conf", "spark.ui.enabled=false", "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1", "spark-internal"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=tmp_path_factory.getbasetemp())
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"the Spark Connect server exited: {log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        else:
            pytest.fail("the Spark Connect server did not start within 4 minutes")
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_score_through_spark_connect_matches_the_embedded_engine(connect_url, sample_workspace_path, tmp_path):
    from data.workspace import open_workspace

    ws_path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, ws_path)
    env = {**os.environ, "CSAI_ENGINE": "spark", "CSAI_SPARK_REMOTE": connect_url,
           "CSAI_SPARK_OUTPUT": str(tmp_path / "runs")}
    result = subprocess.run([sys.executable, "cli.py", "--workspace", str(ws_path), "score", "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "run.json").exists() and list((runs[0] / "features").glob("*.parquet"))
    with open_workspace(str(ws_path)).warehouse.reader() as con:
        scores = con.execute("SELECT scored_at, obs_date, account_id, p_churn, p_expansion, shap_other, p_base, "
                             "shap_scale FROM scores ORDER BY account_id").df()
        others = con.execute("SELECT scored_at, count(*) AS n, sum(shap) AS shap FROM score_other_factors "
                             "GROUP BY scored_at ORDER BY scored_at").df()
    first, spark_at = scores["scored_at"].min(), pd.Timestamp(summary["scored_at"])
    assert first != spark_at
    a = scores[scores["scored_at"] == first].set_index("account_id")
    b = scores[scores["scored_at"] == spark_at].set_index("account_id")
    assert len(a) > 200 and a.index.equals(b.index)
    for c in ("p_churn", "p_expansion", "shap_other", "p_base"):
        assert np.allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-6, atol=1e-9, equal_nan=True), c
    assert (a["obs_date"] == b["obs_date"]).all() and (a["shap_scale"] == b["shap_scale"]).all()
    # the other factors were attached too: as many rows, the same total SHAP, as the embedded run's
    assert len(others) == 2 and others["n"].iloc[0] == others["n"].iloc[1] > 0
    assert others["shap"].iloc[0] == pytest.approx(others["shap"].iloc[1], rel=1e-6, abs=1e-9)


def test_an_unreachable_spark_connect_server_is_one_line(sample_workspace_path, tmp_path):
    ws_path = tmp_path / "ws"
    shutil.copytree(sample_workspace_path, ws_path)
    before = sorted(p.name for p in (ws_path / "warehouse").iterdir())
    env = {**os.environ, "CSAI_SPARK_REMOTE": f"sc://127.0.0.1:{free_port()}"}
    result = subprocess.run([sys.executable, "cli.py", "--workspace", str(ws_path), "--engine", "spark", "score"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: ") and "Spark" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in (ws_path / "warehouse").iterdir()) == before, "nothing was written"
