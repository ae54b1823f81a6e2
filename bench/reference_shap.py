"""Reference explainer: ``shap.TreeExplainer`` on scikit-learn's HistGradientBoostingClassifier.

Not product code. The classifier keeps scikit-learn's defaults; it is fitted on the same
observation rows the product trains on (every labelled date before the test slice) and
scored on the product's test slice, so its ROC-AUC sits beside the product model's. The
feature matrix is the product's own encoding (:class:`models.features.FeatureEncoder`),
so both explain the same columns.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import shap
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from models.features import FeatureEncoder


def run(train_frame: pd.DataFrame, test_frame: pd.DataFrame, score_frame: pd.DataFrame, *, numeric: list[str],
        categorical: list[str], label: str = "label_churn", seed: int = 0) -> dict:
    """Fit HGB (defaults), AUC on ``test_frame``, then time SHAP values for every row of ``score_frame``."""
    enc = FeatureEncoder(numeric=numeric, categorical=categorical, max_levels=30).fit(train_frame)
    x_train = enc.transform(train_frame).to_numpy(dtype=np.float64)
    t = time.perf_counter()
    clf = HistGradientBoostingClassifier(random_state=seed).fit(x_train, train_frame[label].to_numpy(dtype=int))
    fit_s = time.perf_counter() - t
    y_test = test_frame[label].to_numpy(dtype=int)
    auc = float(roc_auc_score(y_test, clf.predict_proba(enc.transform(test_frame).to_numpy(dtype=np.float64))[:, 1]))
    del x_train
    t = time.perf_counter()
    x_score = enc.transform(score_frame).to_numpy(dtype=np.float64)
    explainer = shap.TreeExplainer(clf)
    values = explainer.shap_values(x_score, check_additivity=False)
    explain_s = time.perf_counter() - t
    return {"fit_s": round(fit_s, 3), "explain_s": round(explain_s, 3), "auc": round(auc, 4),
            "rows_explained": int(len(score_frame)), "n_iter": int(clf.n_iter_),
            "shap_shape": list(np.shape(values))}
