"""A log whose early weeks hold no churn yet: training never fits a constant model on nothing.

Before, every rolling validation block was dropped for lack of churns on one side, the calibrator
fell back to a constant, and `train --promote` registered a model that scored every account 0 %
(ROC-AUC 0.5) without a word. Now it holds accounts out when the dates alone cannot test, and refuses,
saying what to do, when nothing can.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.shapes import event_log

ROOT = Path(__file__).resolve().parents[2]


def _cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", "--workspace", str(ws), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_no_constant_model_from_blocks_without_churn(tmp_path):
    shape = event_log(tmp_path / "data")
    ws = tmp_path / "ws"
    for imp in shape.imports:
        assert _cli(ws, *imp).returncode == 0
    refused = _cli(ws, "train", "--json")  # 90-day horizon: no block has churned and retained accounts
    assert refused.returncode == 2, refused.stdout
    assert "no model can be chosen honestly yet" in refused.stderr and "health-score" in refused.stderr
    assert "Traceback" not in refused.stderr
    trained = _cli(ws, "train", "--json", "--horizon-days", "30")  # what the import summary suggests
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["metrics"]["roc_auc"] > 0.6 and summary["roc_auc_interval"][0] > 0.5
