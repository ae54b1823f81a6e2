"""Training settings out of range: the library words them for people; the CLI names its own flag."""

from __future__ import annotations

import pytest

from models.registry import list_models
from models.training import TrainConfig, TrainConfigError
from tests.support.cli import cli


@pytest.mark.parametrize(("changes", "setting", "message"), [
    ({"horizon_days": 3}, "horizon_days", "The horizon must be between 7 and 730 days."),
    ({"lead_days": 400}, "lead_days", "The lead time must be between 0 and 365 days."),
    ({"target": "upsell"}, "target", "The target must be one of churn, expansion."),
    ({"algorithm": "svm"}, "algorithm", "The algorithm must be one of logreg, gbm, auto."),
])
def test_a_setting_out_of_range_is_named_in_words_not_as_a_flag(changes, setting, message):
    with pytest.raises(TrainConfigError) as caught:
        TrainConfig(**changes).validate()
    assert caught.value.setting == setting
    assert str(caught.value) == message
    assert "--" not in str(caught.value)


def test_the_cli_names_the_flag_and_trains_nothing(tiny_ws):
    proc = cli("train", "--horizon-days", "3", "--lead-days", "0", ws=tiny_ws.path)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("--horizon-days: The horizon must be between 7 and 730 days.")
    assert "Traceback" not in proc.stderr
    assert list_models(tiny_ws.engine) == []
    models_dir = tiny_ws.settings.models_dir
    assert not models_dir.exists() or not any(models_dir.iterdir())
