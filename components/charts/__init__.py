"""Pure chart builders: DataFrame in, plotly Figure out. No queries, no ``st.*`` calls.

One module per page area: :mod:`~components.charts.base` (layout, colours by meaning,
empty figure, deck title), :mod:`~components.charts.portfolio`,
:mod:`~components.charts.account`, :mod:`~components.charts.model` (Model lab),
:mod:`~components.charts.outcomes` (playbook outcomes) and
:mod:`~components.charts.data_quality` (Data page). Every public name is re-exported
here, so ``from components import charts; charts.fig_roc(...)`` works as before.
"""

from __future__ import annotations

from components.charts.account import (
    MODEL_SCALE_NOTE,
    PLAIN_SCALE_NOTE,
    fig_active_users,
    fig_score_history,
    fig_shap_waterfall,
    fig_timeline,
    fig_usage_by_type,
    fig_what_if,
    shap_steps,
)
from components.charts.base import (
    DECK_TITLE_CHARS,
    FONT,
    RISK_COLORS,
    SERIES_COLORS,
    TONE_COLORS,
    base_layout,
    deck_title,
    empty_figure,
)
from components.charts.data_quality import (
    fig_events_per_day,
    fig_null_rates,
)
from components.charts.model import (
    GROUP_COLORS,
    fig_backtest,
    fig_beeswarm,
    fig_cohorts,
    fig_confusion,
    fig_dependence,
    fig_gains,
    fig_importance,
    fig_lift,
    fig_pr,
    fig_psi,
    fig_reliability,
    fig_roc,
)
from components.charts.outcomes import (
    effect_tone,
    fig_outcome_rates,
    fig_outcomes_forest,
)
from components.charts.portfolio import (
    MOVEMENT_COLORS,
    MOVEMENT_LABELS,
    fig_mrr_bridge,
    fig_mrr_waterfall,
    fig_renewals,
    fig_risk_by_group,
    fig_risk_distribution,
    fig_survival,
    mrr_bridge_caption,
    mrr_bridge_steps,
)

__all__ = [
    "DECK_TITLE_CHARS",
    "FONT",
    "GROUP_COLORS",
    "MODEL_SCALE_NOTE",
    "MOVEMENT_COLORS",
    "MOVEMENT_LABELS",
    "PLAIN_SCALE_NOTE",
    "RISK_COLORS",
    "SERIES_COLORS",
    "TONE_COLORS",
    "base_layout",
    "deck_title",
    "effect_tone",
    "empty_figure",
    "fig_active_users",
    "fig_backtest",
    "fig_beeswarm",
    "fig_cohorts",
    "fig_confusion",
    "fig_dependence",
    "fig_events_per_day",
    "fig_gains",
    "fig_importance",
    "fig_lift",
    "fig_mrr_bridge",
    "fig_mrr_waterfall",
    "fig_null_rates",
    "fig_outcome_rates",
    "fig_outcomes_forest",
    "fig_pr",
    "fig_psi",
    "fig_reliability",
    "fig_renewals",
    "fig_risk_by_group",
    "fig_risk_distribution",
    "fig_roc",
    "fig_score_history",
    "fig_shap_waterfall",
    "fig_survival",
    "fig_timeline",
    "fig_usage_by_type",
    "fig_what_if",
    "mrr_bridge_caption",
    "mrr_bridge_steps",
    "shap_steps",
]
