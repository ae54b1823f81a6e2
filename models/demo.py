"""Demo step: train churn and expansion models on the sample company, promote them, score.

Called by ``cli.py demo`` after the sample data is written, so the app starts with
scores. Churn gets the full ``auto`` search (the model CSMs read); expansion the LightGBM grid
and a short backtest, so the demo build stays quick.
"""

from __future__ import annotations

import time

from data.vocabulary import TARGETS
from models.observations import build_observations
from models.registry import promote, register_model
from models.scoring import score_workspace
from models.training import TrainConfig, train


def train_and_score_demo(ws, say) -> None:
    """Train churn (auto) and expansion (gradient boosting), promote both, score every active account."""
    t0 = time.perf_counter()
    with ws.warehouse.reader() as con:
        obs = build_observations(con, horizon_days=90)
        for target in TARGETS:
            config = TrainConfig(target=target, algorithm="auto" if target == "churn" else "gbm", backtest_cutoffs=2 if target == "churn" else 1,
                                 leakage_check=target == "churn")
            result = train(con, config, observations=obs)
            record = register_model(ws.engine, ws.settings.models_dir, result, actor="demo")
            promote(ws.engine, record.id, actor="demo")
            m = result.metrics
            say(f"  {target} model {record.id}: ROC-AUC {m['roc_auc']:.3f}, ECE {m['ece']:.3f} "
                f"({result.seconds:.1f}s)")
    score_workspace(ws, say=say)
    say(f"  models trained and accounts scored in {time.perf_counter() - t0:.1f}s")
