"""Calibration figures that mean something at churn base rates, and account-clustered intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from models import uncertainty
from models.calibration import PlattCalibrator, choose_calibrator_blocks
from models.evaluation import classification_metrics, expected_calibration_error, top_decile_lift


def _churn_sample(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    p_true = np.clip(rng.lognormal(np.log(0.03), 0.9, n), 0, 0.6)
    y = (rng.random(n) < p_true).astype(int)
    return p_true, y


def test_underpredicting_model_is_flagged_by_oe_ratio_and_ece():
    p_true, y = _churn_sample()
    under = 0.55 * p_true  # predicts 45 % too few churns
    m_good, m_bad = classification_metrics(y, p_true), classification_metrics(y, under)
    assert 0.9 < m_good["oe_ratio"] < 1.1
    assert m_bad["oe_ratio"] > 1.6  # O:E far from 1
    assert m_bad["ece"] > 3 * m_good["ece"]
    assert m_bad["log_loss"] > m_good["log_loss"]


def test_quantile_bins_see_a_miscalibration_equal_width_bins_average_away():
    p_true, y = _churn_sample(seed=1)
    # Right on average, but too timid: high risks under-, low risks over-predicted. Nearly every
    # prediction sits in the first equal-width bin, where the errors cancel.
    squeezed = 0.3 * p_true + 0.7 * p_true.mean()
    assert (squeezed < 0.1).mean() > 0.9
    equal_width = _equal_width_ece(y, squeezed)
    assert expected_calibration_error(y, squeezed) > 3 * equal_width
    assert expected_calibration_error(y, squeezed) > 5 * expected_calibration_error(y, p_true)


def _equal_width_ece(y, p, bins=10):
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return sum((idx == b).sum() * abs(y[idx == b].mean() - p[idx == b].mean()) for b in range(bins) if (idx == b).any()) / len(y)


def test_calibrator_is_chosen_over_several_blocks_and_fitted_on_all():
    rng = np.random.default_rng(2)
    blocks = []
    for _ in range(3):
        s = rng.normal(-3, 1, 3000)
        y = (rng.random(3000) < 1 / (1 + np.exp(-(0.8 * s + 0.2)))).astype(int)
        blocks.append((s, y))
    cal, report = choose_calibrator_blocks(blocks)
    assert report["blocks"] == 3 and report["positives"] == sum(int(b[1].sum()) for b in blocks)
    assert isinstance(cal, PlattCalibrator)  # the truth is a logistic curve
    assert cal.a_ == pytest.approx(0.8, abs=0.15)
    assert {"platt", "isotonic", "platt_log_loss", "isotonic_log_loss"} <= set(report)


# --------------------------------------------------------------------------- intervals
def test_weighted_metrics_equal_scikit_learn_on_resamples():
    rng = np.random.default_rng(3)
    n = 1500
    y = (rng.random(n) < 0.07).astype(int)
    s = np.round(rng.normal(size=n) + 0.9 * y, 1)  # ties on purpose
    clusters = rng.integers(0, 300, n)
    w = uncertainty.cluster_weights(clusters, draws=4, seed=1)
    for b in range(4):
        assert uncertainty.weighted_roc_auc(y, s, w[b:b + 1])[0] == pytest.approx(
            roc_auc_score(y, s, sample_weight=w[b]), abs=1e-12)
        assert uncertainty.weighted_average_precision(y, s, w[b:b + 1])[0] == pytest.approx(
            average_precision_score(y, s, sample_weight=w[b]), abs=1e-12)
        expanded = np.repeat(np.arange(n), w[b].astype(int))
        assert uncertainty.weighted_top_decile_lift(y, s, w[b:b + 1])[0] == pytest.approx(
            top_decile_lift(y[expanded], s[expanded]), abs=1e-9)


def _clustered_test_set(rng, accounts=250, rows_per_account=4):
    """Accounts with a persistent frailty: their rows share the outcome risk and the score."""
    frailty = rng.normal(size=accounts)
    acc = np.repeat(np.arange(accounts), rows_per_account)
    logit = -2.5 + 1.2 * frailty[acc]
    y = (rng.random(acc.size) < 1 / (1 + np.exp(-logit))).astype(int)
    score = frailty[acc] + rng.normal(0, 1.0, acc.size)
    return y, score, acc


def test_clustered_interval_covers_the_true_auc():
    rng = np.random.default_rng(4)
    y_pop, s_pop, _ = _clustered_test_set(rng, accounts=100_000, rows_per_account=1)
    truth = roc_auc_score(y_pop, s_pop)
    covered, widths = 0, []
    reps = 40
    for r in range(reps):
        y, s, acc = _clustered_test_set(rng)
        iv = uncertainty.bootstrap_metrics(y, {"m": s}, acc, metrics=("roc_auc",), draws=300, seed=r)["scores"]["m"][
            "roc_auc"]
        covered += iv.low <= truth <= iv.high
        widths.append(iv.high - iv.low)
    assert covered >= 0.85 * reps  # nominal 95 %
    assert 0.02 < np.mean(widths) < 0.3


def test_difference_interval_contains_zero_for_equal_scores_and_names_a_clear_winner():
    rng = np.random.default_rng(5)
    y, s, acc = _clustered_test_set(rng, accounts=400)
    noise_a, noise_b = rng.normal(0, 1, y.size), rng.normal(0, 1, y.size)
    res = uncertainty.bootstrap_metrics(y, {"a": s + noise_a, "b": s + noise_b, "weak": rng.normal(size=y.size)},
                                        acc, pairs=[("a", "b"), ("a", "weak")])
    same = res["differences"]["a - b"]["roc_auc"]
    assert same.contains_zero and uncertainty.verdict(same, "roc_auc", "a", "b") is None
    clear = res["differences"]["a - weak"]["roc_auc"]
    assert uncertainty.verdict(clear, "roc_auc", "a", "weak") == "a"
