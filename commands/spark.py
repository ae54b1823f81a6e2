"""``cli.py attach-results RUN_FOLDER``: attach a Spark scoring run's Parquet outputs to the warehouse.

``cli.py --engine spark score`` runs the whole job and attaches its outputs itself; this
command attaches a run folder written elsewhere (a cluster job that ran
``models.spark_scoring.score_on_spark`` and wrote ``features``, ``results`` and ``run.json``)
as one new results snapshot, so the app serves it without a restart.
"""

from __future__ import annotations

import argparse
import json

from data.workspace import open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attach-results", help="attach a Spark scoring run (Parquet) to the warehouse")
    p.add_argument("run_folder", help="the run folder written by the Spark job (features/, results/, run.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_attach)


def run_attach(args: argparse.Namespace) -> int:
    from models.spark_scoring import attach_results  # deferred: import time (the CLI loads every command)

    ws = open_workspace(args.workspace)
    run = attach_results(ws, args.run_folder)
    s = run.summary()
    if args.json:
        print(json.dumps(s))
    else:
        print(f"Attached {s['accounts']:,} scores as of {s['obs_date']} (scored {s['scored_at']}) with "
              f"{s['model_id']}: expected ARR loss ${s['expected_arr_loss']:,.0f}; risk bands {s['risk_bands']}")
    return 0
