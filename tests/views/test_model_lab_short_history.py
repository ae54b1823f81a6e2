"""AppTest: a model trained on three months of events says, in the Model lab, how sure its figures are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from data import users as user_store
from data.workspace import open_workspace
from tests.support.apptest import run_app
from tests.support.subscription_log import make_log, write_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def short_ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("short_ws") / "ws"
    ws = open_workspace(str(path))
    write_log(ws.warehouse, make_log(n=900, start=date(2023, 1, 1), end=date(2023, 3, 31), seed=5,
                                     base_hazard=0.04, decline_hazard=0.5))
    user_store.add_user(ws.settings.auth_file, "datasci", role="data_scientist", password="datasci-password")
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--workspace", str(path), "train", "--horizon-days",
                        "30", "--algorithm", "logreg", "--promote", "--json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    old = os.environ.get("CSAI_WORKSPACE")
    os.environ["CSAI_WORKSPACE"] = str(path)
    yield ws, json.loads(r.stdout)
    if old is None:
        os.environ.pop("CSAI_WORKSPACE", None)
    else:
        os.environ["CSAI_WORKSPACE"] = old


def test_evaluate_states_the_churns_behind_the_figures(short_ws):
    _, summary = short_ws
    at = run_app("datasci", "views/model_lab.py", {"tab": "Evaluate"})
    assert not at.exception, at.exception
    text = "\n".join(c.value for c in at.caption)
    assert f"{summary['positives_test']:,} churns in the test slice" in text
    assert "ROC-AUC 95% interval" in text and "no ROC-AUC interval computed" not in text  # the bootstrap fills it
    assert "labelled weekly observation dates" in text and "held out for the test (short history)" in text
