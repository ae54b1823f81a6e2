"""Estimator-like churn/expansion models: ``fit`` / ``predict_proba`` / ``explain``.

Both models take the *metric frame* (numeric and categorical metric columns, as
produced by :func:`data.metrics.compute_metrics`) and do their own encoding, so a
notebook can call them directly. Parameters are keyword-only, ``fit`` returns
``self`` and learned state ends in ``_`` (scikit-learn conventions). No I/O.

* :class:`LogisticRegressionModel` - the baseline: median imputation with missing
  indicators, standardisation, L2-regularised logistic regression. Its explanation is
  linear SHAP (coefficient x deviation from the training mean, in log-odds).
* :class:`GradientBoostingModel` - the challenger: LightGBM with an explicit thread
  count and a fixed seed (deterministic). Its explanation is exact TreeSHAP from
  LightGBM's ``pred_contrib``.
* :class:`BlendModel` - the mean log-odds of the two; ``--algorithm auto`` picks it when
  it validates better than either alone.

Explanations are in log-odds of the *uncalibrated* model and sum exactly to
``decision_function``; one-hot and missing-indicator columns are folded into their
source feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.explain import Explanation
from models.features import FeatureEncoder, fold_columns


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class _Base:
    algorithm = "base"

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Two columns, P(y=0) and P(y=1), like scikit-learn."""
        p = _sigmoid(self.decision_function(frame))
        return np.column_stack([1 - p, p])

    def get_params(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_") and not k.startswith("_")}

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class LogisticRegressionModel(_Base):
    """Regularised, standardised logistic regression (the baseline)."""

    algorithm = "logreg"

    def __init__(self, *, numeric: list[str], categorical: list[str], C: float = 0.1,
                 max_levels: int = 30, random_state: int = 0):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.C = C
        self.max_levels = max_levels
        self.random_state = random_state

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        x = self.encoder_.transform(frame)
        arr = x.to_numpy(dtype=float)
        miss = np.isnan(arr[:, self.missing_idx_]).astype(float)
        arr = np.where(np.isnan(arr), self.medians_, arr)
        arr = np.hstack([arr, miss])
        return (arr - self.means_) / self.scales_, self.design_columns_

    def fit(self, frame: pd.DataFrame, y) -> LogisticRegressionModel:
        from sklearn.linear_model import LogisticRegression  # deferred: import time (scikit-learn)

        y = np.asarray(y, dtype=int)
        self.encoder_ = FeatureEncoder(numeric=self.numeric, categorical=self.categorical,
                                       max_levels=self.max_levels).fit(frame)
        x = self.encoder_.transform(frame).to_numpy(dtype=float)
        med = np.nanmedian(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0) if len(x) else np.zeros(x.shape[1])
        self.medians_ = np.nan_to_num(med)
        self.missing_idx_ = np.where(np.isnan(x).any(axis=0))[0]
        cols = list(self.encoder_.columns_)
        self.design_columns_ = cols + [f"{cols[i]}__missing" for i in self.missing_idx_]
        self.source_ = dict(self.encoder_.source_)
        for i in self.missing_idx_:
            self.source_[f"{cols[i]}__missing"] = self.encoder_.source_[cols[i]]
        miss = np.isnan(x[:, self.missing_idx_]).astype(float)
        raw = np.hstack([np.where(np.isnan(x), self.medians_, x), miss])
        self.means_ = raw.mean(axis=0)
        sd = raw.std(axis=0)
        self.scales_ = np.where(sd > 1e-12, sd, 1.0)
        z = (raw - self.means_) / self.scales_
        clf = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
        clf.fit(z, y)
        self.coef_ = clf.coef_[0].copy()
        self.intercept_ = float(clf.intercept_[0])
        return self

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        z, _ = self._design(frame)
        return z @ self.coef_ + self.intercept_

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """Linear SHAP: coef x (z - training mean of z); z has training mean 0."""
        z, cols = self._design(frame)
        contrib = pd.DataFrame(z * self.coef_, columns=cols, index=frame.index)
        values = fold_columns(contrib, self.source_, self.features)
        base = np.full(len(frame), self.intercept_)
        return Explanation(values=values, base_values=base, data=frame[self.features])


class GradientBoostingModel(_Base):
    """LightGBM gradient-boosted trees (the challenger); deterministic for a seed."""

    algorithm = "gbm"

    def __init__(self, *, numeric: list[str], categorical: list[str], n_estimators: int = 300,
                 learning_rate: float = 0.05, num_leaves: int = 15, min_child_samples: int = 40,
                 subsample: float = 0.8, colsample_bytree: float = 0.8, reg_lambda: float = 1.0,
                 max_levels: int = 30, num_threads: int = 1, random_state: int = 0):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_levels = max_levels
        self.num_threads = num_threads
        self.random_state = random_state

    def _lgb_params(self) -> dict:
        return {
            "objective": "binary", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples, "bagging_fraction": self.subsample, "bagging_freq": 1,
            "feature_fraction": self.colsample_bytree, "lambda_l2": self.reg_lambda,
            "num_threads": self.num_threads, "seed": self.random_state, "deterministic": True,
            "force_row_wise": True, "verbosity": -1, "max_bin": 63,
        }

    def fit(self, frame: pd.DataFrame, y) -> GradientBoostingModel:
        import lightgbm as lgb  # deferred: import time (lightgbm)

        y = np.asarray(y, dtype=float)
        self.encoder_ = FeatureEncoder(numeric=self.numeric, categorical=self.categorical,
                                       max_levels=self.max_levels).fit(frame)
        x = self.encoder_.transform(frame)
        data = lgb.Dataset(x.to_numpy(dtype=np.float32), label=y, feature_name=[f"f{i}" for i in range(x.shape[1])],
                           free_raw_data=True, params={"verbosity": -1, "max_bin": 63})
        self.booster_ = lgb.train(self._lgb_params(), data, num_boost_round=self.n_estimators)
        self.columns_ = list(self.encoder_.columns_)
        return self

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return self.encoder_.transform(frame).to_numpy(dtype=np.float32)

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(self._matrix(frame), raw_score=True, num_threads=self.num_threads)

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """Exact TreeSHAP (LightGBM ``pred_contrib``), folded to source features."""
        contrib = self.booster_.predict(self._matrix(frame), pred_contrib=True, num_threads=self.num_threads)
        contrib = np.asarray(contrib)
        per_col = pd.DataFrame(contrib[:, :-1], columns=self.columns_, index=frame.index)
        values = fold_columns(per_col, self.encoder_.source_, self.features)
        return Explanation(values=values, base_values=contrib[:, -1].copy(), data=frame[self.features])

    def __getstate__(self):
        state = self.__dict__.copy()
        if "booster_" in state:
            state["booster_"] = state["booster_"].model_to_string()
        return state

    def __setstate__(self, state):
        import lightgbm as lgb  # deferred: import time (lightgbm)

        if isinstance(state.get("booster_"), str):
            state["booster_"] = lgb.Booster(model_str=state["booster_"])
        self.__dict__.update(state)


class BlendModel(_Base):
    """Mean log-odds of a logistic regression and a LightGBM model (what ``auto`` may pick).

    SHAP values are the mean of the two models' SHAP values, which is exactly the SHAP
    explanation of the mean log-odds (SHAP is linear in the model output).
    """

    algorithm = "blend"

    def __init__(self, *, numeric: list[str], categorical: list[str], logreg: dict | None = None,
                 gbm: dict | None = None, num_threads: int = 1, random_state: int = 0):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.logreg = dict(logreg or {})
        self.gbm = dict(gbm or {})
        self.num_threads = num_threads
        self.random_state = random_state

    @classmethod
    def from_fitted(cls, logreg_model: LogisticRegressionModel, gbm_model: GradientBoostingModel) -> BlendModel:
        gbm_params = {k: v for k, v in gbm_model.get_params().items()
                      if k not in ("numeric", "categorical", "num_threads", "random_state")}
        lr_params = {k: v for k, v in logreg_model.get_params().items()
                     if k not in ("numeric", "categorical", "random_state")}
        blend = cls(numeric=logreg_model.numeric, categorical=logreg_model.categorical, logreg=lr_params,
                    gbm=gbm_params, num_threads=gbm_model.num_threads, random_state=gbm_model.random_state)
        blend.models_ = [logreg_model, gbm_model]
        return blend

    def fit(self, frame: pd.DataFrame, y) -> BlendModel:
        self.models_ = [
            LogisticRegressionModel(numeric=self.numeric, categorical=self.categorical,
                                    random_state=self.random_state, **self.logreg).fit(frame, y),
            GradientBoostingModel(numeric=self.numeric, categorical=self.categorical, num_threads=self.num_threads,
                                  random_state=self.random_state, **self.gbm).fit(frame, y),
        ]
        return self

    def decision_function(self, frame: pd.DataFrame) -> np.ndarray:
        return np.mean([m.decision_function(frame) for m in self.models_], axis=0)

    def explain(self, frame: pd.DataFrame) -> Explanation:
        parts = [m.explain(frame) for m in self.models_]
        values = sum(p.values for p in parts) / len(parts)
        base = np.mean([p.base_values for p in parts], axis=0)
        return Explanation(values=values, base_values=base, data=frame[self.features])


ALGORITHMS = {"logreg": LogisticRegressionModel, "gbm": GradientBoostingModel, "blend": BlendModel}

# Small honest grids; "auto" searches all of them, a named algorithm only its own.
PARAM_GRIDS: dict[str, list[dict]] = {
    "logreg": [{"C": 0.003}, {"C": 0.03}, {"C": 0.3}],
    "gbm": [
        # shallow, heavily regularised trees: churn labels are rare and noisy (about 3 % per 90 days)
        {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 3, "min_child_samples": 400,
         "colsample_bytree": 0.5, "reg_lambda": 20.0},
        {"n_estimators": 400, "learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 100,
         "colsample_bytree": 0.5, "reg_lambda": 5.0},
        {"n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 50},
    ],
}


def make_model(algorithm: str, *, numeric: list[str], categorical: list[str], **params):
    """A new unfitted model of ``algorithm`` ('logreg', 'gbm' or 'blend')."""
    return ALGORITHMS[algorithm](numeric=numeric, categorical=categorical, **params)
