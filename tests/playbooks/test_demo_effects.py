"""The sample company's playbook history: planted effects are recovered by Outcomes within their intervals.

A dedicated 10,000-account sample (raw data only, ~10 s) gives each playbook ~200-500
holdout runs; the small session sample would leave the intervals too wide to say much.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from data.access import SYSTEM
from playbooks import list_runs, playbook_outcomes
from playbooks.demo import seed_playbook_history
from playbooks.store import runs
from tests.support.workspaces import open_ws

pytest.importorskip("data.sample")

ACCOUNTS = 10_000
SEED = 2


@pytest.fixture(scope="module")
def history_ws(tmp_path_factory):
    from data.sample import generate_sample, write_sample

    ws = open_ws(tmp_path_factory.mktemp("pb_effects") / "ws")
    end = date(2026, 6, 30)
    write_sample(ws.warehouse, generate_sample(n_accounts=ACCOUNTS, seed=SEED, end=end), seed=SEED, end=end)
    added = seed_playbook_history(ws, lambda _msg: None)
    assert added > 5000
    return ws


@pytest.fixture(scope="module")
def outcomes(history_ws):
    return {o.playbook: o for o in playbook_outcomes(history_ws.engine, history_ws.warehouse)}


@pytest.fixture(scope="module")
def planted(history_ws):
    from playbooks import list_playbooks

    names = {p.key: p.name for p in list_playbooks(history_ws.engine)}
    with history_ws.warehouse.reader() as con:
        rows = con.execute("SELECT playbook, hazard_multiplier, expansion_multiplier "
                           "FROM sample_truth_playbook_effects").fetchall()
    return {names[k]: (h, e) for k, h, e in rows}


def test_history_is_imported_once_with_holdouts(history_ws):
    with history_ws.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
    assert seed_playbook_history(history_ws, lambda _msg: None) == 0
    with history_ws.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one() == before
    share = list_runs(history_ws.engine, SYSTEM, limit=100_000)["holdout"].mean()
    assert 0.17 < share < 0.23


def test_planted_churn_multipliers_lie_within_the_risk_ratio_intervals(outcomes, planted):
    for name, (hazard_mult, _) in planted.items():
        churn = outcomes[name].churn
        assert churn.enough_data, name
        assert churn.ratio_low <= hazard_mult <= churn.ratio_high, (name, hazard_mult, churn)


def test_helpful_plays_show_up_and_the_null_play_does_not(outcomes, planted):
    by_effect = {name: h for name, (h, _) in planted.items()}
    null = next(name for name, h in by_effect.items() if h == 1.0 and planted[name][1] == 1.0)
    assert outcomes[null].churn.ci_low <= 0 <= outcomes[null].churn.ci_high
    strongest = min(by_effect, key=by_effect.get)
    assert outcomes[strongest].churn.ci_high < 0, outcomes[strongest].churn.statement
    assert "lowered churn" in outcomes[strongest].churn.statement


def test_expansion_play_raises_expansion(outcomes, planted):
    name = next(n for n, (_, e) in planted.items() if e > 1)
    exp = outcomes[name].expansion
    assert exp.ci_low > 0 and exp.ratio_low <= planted[name][1] <= exp.ratio_high
    assert outcomes[name].statement == exp.statement and "raised expansion" in exp.statement
