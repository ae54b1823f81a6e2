"""Model diagnostics: the figures the Model lab shows, computed without Streamlit so a notebook can use them.

One module per job: :mod:`~models.diagnostics.curves` (ROC, precision-recall, gains, confusion at
a capacity, and the :class:`~models.model_evaluation.HeldOutCurves` of a model's held-out rows),
:mod:`~models.diagnostics.comparison` (two models, or the model and the rule score, side by side
with intervals; the backtest and per-segment tables), :mod:`~models.diagnostics.cohorts`
(outcome rate per metric decile), :mod:`~models.diagnostics.drift` (PSI since training) and
:mod:`~models.diagnostics.shap_sample` (SHAP of a sample of rows). Inputs are plain arrays,
frames and :class:`~models.model_evaluation.ModelEvaluation` objects; the held-out rows they
read are stored beside each model by :mod:`models.artifacts`.
"""
