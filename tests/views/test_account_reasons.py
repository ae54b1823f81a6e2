"""Reasons fit for the person reading them (issue 19, item 5), through the pages on the sample workspace.

The sample's churn model uses the CSM column, and some accounts have no CSAT or champion
data: the model may use both, but a reader is never shown "Customer success manager is ..."
or "...: not known" as a reason.
"""

from __future__ import annotations

import base64
import shutil

import numpy as np
import plotly.io as pio
import pytest

from data.users import get_user
from models.scoring import features_as_of, latest_scores, load_production, score_workspace
from tests.support.apptest import run_app

ACCOUNTS = "views/accounts.py"
ACCOUNT = "views/account.py"
NOT_REASONS = ("Customer success manager", "not known")


@pytest.fixture()
def demo_env(sample_workspace, monkeypatch):
    monkeypatch.setenv("CSAI_WORKSPACE", str(sample_workspace.path))
    return sample_workspace


@pytest.fixture(scope="module")
def csm_account(sample_workspace) -> dict:
    """An account in csm1's book whose own CSM and a "not known" value are among its ten largest effects."""
    csm = get_user(sample_workspace.settings.auth_file, "csm1").csm
    _, trained = load_production(sample_workspace.engine, "churn")
    with sample_workspace.warehouse.reader() as con:
        frame = features_as_of(con)
    frame = frame[frame["csm"] == csm].reset_index(drop=True)
    expl = trained.explain(frame)
    top = np.argsort(-np.abs(expl.values.to_numpy()), axis=1)[:, :10]
    names = np.array(list(expl.values.columns))
    best = None
    for i in range(len(frame)):
        feats = set(names[top[i]])
        unknown = [f for f in feats if f != "csm" and f in frame and frame[f].isna().iat[i]
                   and not f.startswith("days_since_champion") and f != "days_to_renewal"]
        if "csm" in feats:
            candidate = {"account_id": frame["account_id"].iat[i], "csm": csm, "unknown": unknown}
            if unknown:
                return candidate
            best = best or candidate
    assert best, "the sample model uses the CSM for some account of csm1"
    return best


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or numpy's base64 form {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def _waterfall(at):
    return pio.from_json(at.get("plotly_chart")[0].proto.spec).data[0]


def test_csm_reads_reasons_without_their_own_name_or_unknown_values(demo_env, csm_account):
    at = run_app("csm1", page=ACCOUNT, params={"id": csm_account["account_id"]})
    assert not at.exception
    words = "\n".join(m.value for m in at.markdown)
    assert "raises risk" in words or "lowers risk" in words
    for text in NOT_REASONS:
        assert text not in words
    bars = _waterfall(at)
    labels = [str(y) for y in bars.y]
    assert "CSM" not in labels and "All other factors" not in labels
    assert not any(csm_account["csm"] in str(t) for t in bars.customdata)
    assert not any("not known" in str(t) for t in bars.customdata)
    deltas = [abs(x) for x, m in zip(_array(bars.x), bars.measure, strict=True) if m == "relative"]
    relative = [y for y, m in zip(labels, bars.measure, strict=True) if m == "relative"]
    assert relative[int(np.argmax(deltas))] != "All other factors"
    if csm_account["unknown"]:  # listed apart, as "no data"
        assert "**No data**" in words
        caption = "\n".join(c.value for c in at.caption)
        assert "No data for this account" in caption
        assert any(label.endswith(": no data") for label in labels)


def test_accounts_top_driver_never_names_the_csm_or_an_unknown_value(demo_env):
    at = run_app("manager", page=ACCOUNTS, params={"status": "All"})
    assert not at.exception
    shown = at.dataframe[0].value["top_driver"].dropna().astype(str)
    assert len(shown) > 0
    for text in NOT_REASONS:
        assert not shown.str.contains(text).any()
    stored = latest_scores(demo_env.warehouse)["top_driver"].dropna()
    assert not stored.str.contains("|".join(NOT_REASONS)).any()


def test_playbook_triggers_by_top_driver_never_see_the_csm(demo_env):
    from playbooks import context

    drivers = context.top_drivers(demo_env.warehouse, n=context.TOP_DRIVERS_FOR_RULES)
    assert len(drivers) > 0
    assert "csm" not in set(drivers["feature"])
    assert not drivers["sentence"].str.contains("|".join(NOT_REASONS)).any()
    frame, scored = context.eligibility_frame(demo_env.warehouse)
    assert scored
    relationship = drivers[drivers["group"] == "Relationship"]
    for account_id, groups in zip(frame["account_id"], frame["top_driver_groups"], strict=True):
        if "Relationship" in groups:  # only for a relationship reason a CSM can act on
            assert account_id in set(relationship["account_id"])


def test_csm_view_has_no_model_id_or_calibration_but_the_data_scientist_does(demo_env, csm_account):
    model_id = latest_scores(demo_env.warehouse)["model_id"].iloc[0]
    at = run_app("csm1", page=ACCOUNT, params={"id": csm_account["account_id"]})
    assert not at.exception
    captions = "\n".join(c.value for c in at.caption)
    assert "Scores predict churn within the next" in captions
    assert model_id not in captions and "calibrat" not in captions.lower()
    title = pio.from_json(at.get("plotly_chart")[0].proto.spec).layout.title.text or ""
    assert "calibrat" not in title.lower()
    ds = run_app("datasci", page=ACCOUNT, params={"id": csm_account["account_id"]})
    assert not ds.exception
    assert model_id in "\n".join(c.value for c in ds.caption)


def test_probability_history_shows_only_from_the_second_scoring(demo_env, csm_account, tmp_path, monkeypatch):
    at = run_app("csm1", page=ACCOUNT, params={"id": csm_account["account_id"]})
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1  # the waterfall; one scoring is not a history
    assert "Probability history" not in [s.value for s in at.subheader]

    copy = tmp_path / "ws"
    shutil.copytree(demo_env.path, copy)
    from data.workspace import open_workspace

    score_workspace(open_workspace(str(copy)))
    monkeypatch.setenv("CSAI_WORKSPACE", str(copy))
    again = run_app("csm1", page=ACCOUNT, params={"id": csm_account["account_id"]})
    assert not again.exception
    assert "Probability history" in [s.value for s in again.subheader]
    assert len(again.get("plotly_chart")) == 2


def test_what_if_reasons_leave_out_the_csm(demo_env):
    from models.scoring import what_if

    _, trained = load_production(demo_env.engine, "churn")
    with demo_env.warehouse.reader() as con:
        frame = features_as_of(con)
    values = trained.explain(frame).values
    top5 = values.abs().rank(axis=1, ascending=False, method="first")["csm"] <= 5
    assert top5.any(), "the CSM is among the five largest effects of some account"
    row = frame[top5.to_numpy()].head(1).reset_index(drop=True)
    result = what_if(trained, row, {"tickets_30d": 0})
    assert len(result["drivers"]) == 5
    assert all(f != "csm" for f, _, _ in result["drivers"])
    assert not any(t in sentence for _, _, sentence in result["drivers"] for t in NOT_REASONS)
