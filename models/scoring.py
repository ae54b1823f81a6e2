"""Scoring: dated snapshots of p(churn), risk band, p(expansion) and drivers, and a read API.

:func:`score_workspace` scores every active account as of the day after the last day of
history with the production models, and appends one run to the ``results`` layer of the
warehouse (a new snapshot, published atomically, so the app keeps serving meanwhile):

``scores``        scored_at, obs_date, account_id, model_id, target, p_churn, risk_band,
                  p_expansion, expansion_model_id, arr, expected_arr_loss, health_score,
                  shap_base, shap_other, shap_scale, p_base
``score_drivers`` scored_at, account_id, target, feature, label, group, value, shap,
                  sentence, rank (top reasons per account and target, by |SHAP|: never the
                  account's CSM, never a "not known" value; see :mod:`models.explain`)
``score_other_factors`` scored_at, account_id, target, kind, feature, label, group, shap
                  (the rest of each churn score: "no data" parts and one part per driver group)
``score_runs``    scored_at, obs_date, model_id, expansion_model_id, accounts, expected_arr_loss

Earlier runs are kept, so "what changed since the last scoring" can be shown. SHAP
values are log-odds contributions: ``shap_base`` + all driver SHAP values + ``shap_other``
= the log-odds, and ``shap_other`` is the sum of the account's ``score_other_factors``. With Platt calibration (``shap_scale`` "calibrated") they are scaled by
the calibration slope and the base shifted, so that sum is exactly the calibrated
log-odds of ``p_churn``; with isotonic calibration (``shap_scale`` "model") they stay on
the model's scale, and ``p_base`` holds the calibrated probability of the average account.

Pages read through :func:`latest_scores`, :func:`account_explanation` (returns an
:class:`AccountExplanation`), :func:`score_history`, and re-score edits with
:func:`what_if`.

One module over 400 lines on purpose: writing a score run and reading it back share the results-table layout
this module defines.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from data import readmodel
from data.errors import UserError
from data.metrics import attribute_metrics, catalog_for, compute_metrics
from data.opstore import now
from data.readmodel import data_end
from data.vocabulary import RISK_BANDS
from models.explain import Explanation
from models.health_score import group_scores, health_score, rule_reasons
from models.observations import active_rows, detect_mode, flat_arr, flat_label_source, inactivity_days
from models.registry import load_model, production_model

TOP_DRIVERS = 10
OTHER_FACTOR_COLUMNS = ["kind", "feature", "label", "group", "shap"]

SCORES_DDL = """CREATE TABLE IF NOT EXISTS scores (
    scored_at TIMESTAMP NOT NULL, obs_date DATE, account_id VARCHAR NOT NULL, model_id VARCHAR NOT NULL,
    target VARCHAR NOT NULL, p_churn DOUBLE, risk_band VARCHAR, p_expansion DOUBLE, expansion_model_id VARCHAR,
    arr DOUBLE, expected_arr_loss DOUBLE, health_score DOUBLE, shap_base DOUBLE, shap_other DOUBLE,
    shap_scale VARCHAR, p_base DOUBLE)"""
SCORES_MIGRATIONS = ("ALTER TABLE scores ADD COLUMN IF NOT EXISTS shap_scale VARCHAR",
                     "ALTER TABLE scores ADD COLUMN IF NOT EXISTS p_base DOUBLE")
DRIVERS_DDL = """CREATE TABLE IF NOT EXISTS score_drivers (
    scored_at TIMESTAMP NOT NULL, account_id VARCHAR NOT NULL, target VARCHAR NOT NULL, feature VARCHAR NOT NULL,
    label VARCHAR, "group" VARCHAR, value VARCHAR, shap DOUBLE, sentence VARCHAR, rank INTEGER)"""
OTHERS_DDL = """CREATE TABLE IF NOT EXISTS score_other_factors (
    scored_at TIMESTAMP NOT NULL, account_id VARCHAR NOT NULL, target VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    feature VARCHAR, label VARCHAR, "group" VARCHAR, shap DOUBLE)"""
RUNS_DDL = """CREATE TABLE IF NOT EXISTS score_runs (
    scored_at TIMESTAMP NOT NULL, obs_date DATE, model_id VARCHAR, expansion_model_id VARCHAR, accounts INTEGER,
    expected_arr_loss DOUBLE)"""


@dataclass
class ScoreRun:
    """Summary of one scoring run (the ``score --json`` object)."""

    scored_at: datetime
    obs_date: date | None
    model_id: str
    expansion_model_id: str | None
    accounts: int
    expected_arr_loss: float
    risk_bands: dict[str, int]
    seconds: float = 0.0
    expected_churned_accounts: float = 0.0
    has_revenue: bool = True

    @property
    def by_rules(self) -> bool:
        """True when the run used the rule health score (no production churn model)."""
        return readmodel.is_rule_score(self.model_id)

    def summary(self) -> dict:
        return {"scored_at": self.scored_at.isoformat(timespec="seconds"),
                "obs_date": self.obs_date.isoformat() if self.obs_date else None, "model_id": self.model_id,
                "expansion_model_id": self.expansion_model_id, "accounts": self.accounts,
                "expected_arr_loss": round(float(self.expected_arr_loss), 2) if self.has_revenue else None,
                "expected_churned_accounts": round(float(self.expected_churned_accounts), 1),
                "risk_bands": self.risk_bands, "seconds": round(self.seconds, 2),
                "score": readmodel.RULE_SCORE_NAME if self.by_rules else "churn probability"}

    def text(self) -> str:
        """One line for people: what was scored, as of when, and what is at stake."""
        when = f" as of {self.obs_date.isoformat()}" if self.obs_date else ""
        if self.by_rules:
            return (f"Scored {self.accounts:,} accounts{when} with the {readmodel.RULE_SCORE_NAME.lower()} (no production "
                    f"churn model yet): risk bands {self.risk_bands}. {readmodel.rule_bands_text()} "
                    "Train and promote a model (`cli.py train --promote`), then score again, and the model takes over.")
        stake = (f"expected ARR loss ${self.expected_arr_loss:,.0f}" if self.has_revenue else
                 f"expected churned accounts {self.expected_churned_accounts:,.1f} (no revenue data)")
        return f"Scored {self.accounts:,} accounts{when} with {self.model_id}: {stake}; risk bands {self.risk_bands}"


@dataclass
class AccountExplanation:
    """An account's latest score and why: what the pages render (one typed object).

    ``drivers`` / ``expansion_drivers`` are DataFrames with columns feature, label, group,
    value, shap, sentence, rank (rank 1 = largest |SHAP|; positive SHAP raises the
    probability); they are reasons a reader can act on (see :mod:`models.explain`).
    ``other_factors`` (kind, feature, label, group, shap) split the rest of the score into
    "no data" parts and one part per driver group; empty for scores stored before they were.
    ``changes`` are sentences on what moved since the previous scoring.
    """

    account_id: str
    scored_at: datetime
    obs_date: date | None
    model_id: str
    target: str
    p_churn: float
    risk_band: str
    p_expansion: float | None
    arr: float | None
    expected_arr_loss: float | None
    health_score: float | None
    shap_base: float
    shap_other: float
    drivers: pd.DataFrame
    expansion_drivers: pd.DataFrame
    shap_scale: str = "model"  # "calibrated": base + drivers + other = logit(p_churn) exactly
    p_base: float | None = None  # calibrated probability of the average account
    previous_scored_at: datetime | None = None
    previous_p_churn: float | None = None
    previous_drivers: pd.DataFrame | None = None
    changes: list[str] = field(default_factory=list)
    other_factors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OTHER_FACTOR_COLUMNS))

    @property
    def no_data(self) -> list[str]:
        """Labels of the metrics with no data for this account among its largest effects, largest first."""
        nd = self.other_factors[self.other_factors["kind"] == "no_data"]
        return list(nd.sort_values("shap", key=np.abs, ascending=False, kind="stable")["label"])

    @property
    def risk_drivers(self) -> pd.DataFrame:
        """Drivers that raise churn risk, strongest first."""
        return self.drivers[self.drivers["shap"] > 0].sort_values("shap", ascending=False)

    @property
    def protective_drivers(self) -> pd.DataFrame:
        """Drivers that lower churn risk, strongest first."""
        return self.drivers[self.drivers["shap"] < 0].sort_values("shap")

    def sentences(self, k: int = 5) -> list[str]:
        return list(self.drivers.sort_values("rank")["sentence"].head(k))


# --------------------------------------------------------------------------- scoring
def load_production(engine, target: str):
    """(record, trained model) of the production model of ``target``, or (None, None)."""
    record = production_model(engine, target)
    if record is None:
        return None, None
    return record, load_model(record)


def features_as_of(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Metric frame of the accounts to score: active accounts as of the day after the history (time mode;
    without billing data, the accounts with activity in the inactivity window) or the accounts not labelled
    churned (flat mode: those that left are already known, not at risk)."""
    mode = detect_mode(con)
    if mode == "flat":
        source = flat_label_source(con)
        exclude = (source,) if source and source != "account_labels" else ()
        frame = attribute_metrics(con, account_ids, exclude_attributes=exclude).frame
        state = readmodel.account_state(con, account_ids=account_ids)
        active = state.loc[state["status"] == "active", "account_id"]
        return frame[frame["account_id"].isin(active)].reset_index(drop=True)
    end = data_end(con)
    obs_date = end + timedelta(days=1)
    rows = active_rows(con, [obs_date], end, inactivity_days() if mode == "activity" else None)
    if account_ids is not None:
        rows = rows[rows["account_id"].isin(account_ids)]
    return compute_metrics(con, rows, data_end=end).frame


RULE_SOURCES = {  # the table a rule's metric is read from: without any row there, the rule is not known
    "contacts": ("active_champions", "champions_left_90d"),
    "tickets": ("high_priority_tickets_90d", "open_tickets"),
    "invoices": ("failed_payments_180d", "overdue_invoices"),
    "nps": ("nps_latest",),
    "subscriptions": ("seat_utilisation",),
}


def rule_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`features_as_of` for the rule health score: a rule whose source table is empty in this
    workspace (no contacts, tickets, invoices, NPS or seats imported) reads "not known" and is skipped,
    never "0 champions" or "no tickets"."""
    frame = features_as_of(con)
    for table, metrics in RULE_SOURCES.items():
        if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchall()[0][0]:  # noqa: S608 - fixed names
            for m in metrics:
                if m in frame:
                    frame[m] = np.nan
    return frame


def rule_health_now(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The rule health score of every account that would be scored now, least healthy first.

    Needs no model and no labelled history (it reads the same metrics as of the day after the
    data's end): what a team has while its history is too short to train. Columns:
    account_id, obs_date, health_score (0-100, higher is healthier), one 0-100 column per group.
    """
    frame = rule_frame(con)
    if frame.empty:
        raise UserError("No active accounts to score.")
    groups = group_scores(frame).round(1)
    out = pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "obs_date": frame["obs_date"].to_numpy(),
                        "health_score": health_score(frame).round(1).to_numpy()})
    out = pd.concat([out, groups.reset_index(drop=True)], axis=1)
    return out.sort_values(["health_score", "account_id"], kind="stable").reset_index(drop=True)


def score_with_rules(ws, *, scored_at: datetime | None = None, say=None) -> ScoreRun:
    """Score every active account with the rule health score and append the run to ``results``.

    What ``score`` does while there is no production churn model (a history too short to train, or
    nothing trained yet). The run is stamped with :data:`data.readmodel.RULE_MODEL_ID`; ``p_churn``
    holds the rule risk ``(100 - health) / 100`` (a ranking, not a probability: no expected ARR loss
    is stored), ``risk_band`` the rule's own bands, and ``score_drivers`` the failed rules in words.
    A later run with a promoted model takes over as the latest scores.
    """
    say = say or (lambda _m: None)
    t0 = time.perf_counter()
    scored_at = scored_at or next_run_time(ws)
    with ws.warehouse.reader() as con:
        frame = rule_frame(con)
        catalog = catalog_for(con)
        shape = readmodel.data_shape(con)
    if frame.empty:
        raise UserError("No active accounts to score.")
    health = health_score(frame).round(1).to_numpy()
    risk = np.clip((100.0 - health) / 100.0, 0.0, 1.0)
    arr = _arr(frame, shape)
    obs_date = frame["obs_date"].iloc[0] if "obs_date" in frame and frame["obs_date"].notna().any() else None
    model_id = readmodel.RULE_MODEL_ID
    scores = pd.DataFrame({
        "scored_at": scored_at, "obs_date": obs_date, "account_id": frame["account_id"].astype(str).to_numpy(),
        "model_id": model_id, "target": "churn", "p_churn": risk, "risk_band": readmodel.rule_risk_band(health),
        "p_expansion": np.nan, "expansion_model_id": None, "arr": arr, "expected_arr_loss": np.nan,
        "health_score": health, "shap_base": 0.0, "shap_other": 0.0, "shap_scale": "rule", "p_base": np.nan,
    })
    drivers = rule_reasons(frame, catalog)
    drivers.insert(0, "scored_at", scored_at)
    drivers.insert(2, "target", "churn")
    run = pd.DataFrame([{"scored_at": scored_at, "obs_date": obs_date, "model_id": model_id,
                         "expansion_model_id": None, "accounts": len(scores), "expected_arr_loss": None}])
    scored_at = _append_run(ws, {"scores": scores, "score_drivers": drivers, "score_runs": run})
    bands = {b: int((scores["risk_band"] == b).sum()) for b in RISK_BANDS}
    result = ScoreRun(scored_at=scored_at, obs_date=obs_date, model_id=model_id, expansion_model_id=None,
                      accounts=len(scores), expected_arr_loss=0.0, risk_bands=bands,
                      seconds=time.perf_counter() - t0, has_revenue=bool(np.isfinite(arr).any()))
    say(f"  scored {len(scores):,} accounts with the {readmodel.RULE_SCORE_NAME.lower()} in {result.seconds:.1f}s")
    return result


def _arr(frame: pd.DataFrame, shape: str) -> np.ndarray:
    """ARR per scored account: 12 x MRR with billing data, the flat table's ARR column, else NaN (no
    revenue data: never a $0 figure)."""
    if shape == "flat":
        return flat_arr(frame)
    if shape == "billing" and "mrr" in frame:
        return 12.0 * frame["mrr"].to_numpy(dtype=float)
    return np.full(len(frame), np.nan)


def _append_run(ws, tables: dict[str, pd.DataFrame]) -> datetime:
    """Append one run's rows to the results layer (a new snapshot, published atomically); the run's time.

    Runs are told apart by ``scored_at`` (to the second). A run stamped at or before the latest stored run (two
    "Score now" clicks, or a scheduled run, in the same second) is moved to one second after it, under the
    writer lock, so two runs never share a time and mix their rows.
    """
    stamp = given = pd.Timestamp(tables["score_runs"]["scored_at"].iloc[0]).to_pydatetime()
    with ws.warehouse.writer("results") as wcon:
        for ddl in (SCORES_DDL, DRIVERS_DDL, OTHERS_DDL, RUNS_DDL, *SCORES_MIGRATIONS):
            wcon.execute(ddl)
        last = wcon.execute("SELECT max(scored_at) FROM score_runs").fetchall()[0][0]
        if last is not None and stamp <= last:
            stamp = last + timedelta(seconds=1)
        for table, df in tables.items():
            if stamp != given:  # rare: only then copy the run's rows (millions of driver rows at scale)
                df = df.assign(scored_at=stamp)
            wcon.register("_new_rows", df)
            cols = ", ".join(f'"{c}"' for c in df.columns)
            wcon.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _new_rows")  # noqa: S608 - our names
            wcon.unregister("_new_rows")
    return stamp


def next_run_time(ws) -> datetime:
    """The time a new scoring run is stamped with: now (to the second), or one second after the latest stored
    run when that is not earlier (a run in the same second would share its time)."""
    stamp = now().replace(microsecond=0)
    if "results" not in ws.warehouse.current():
        return stamp
    with ws.warehouse.reader() as con:
        has_runs = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'score_runs'").fetchall()[0][0]
        last = con.execute("SELECT max(scored_at) FROM score_runs").fetchall()[0][0] if has_runs else None
    return max(stamp, last + timedelta(seconds=1)) if last is not None else stamp


def _drivers(expl: Explanation, frame: pd.DataFrame, target: str, scored_at: datetime,
             k: int = TOP_DRIVERS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(score_drivers rows, score_other_factors rows) of one target."""
    parts = expl.split(frame["account_id"].to_numpy(), k)
    for d in parts:
        d.insert(0, "scored_at", scored_at)
        d.insert(2, "target", target)
    return parts


def score_workspace(ws, *, scored_at: datetime | None = None, say=None) -> ScoreRun:
    """Score every active account with the production models and append the run to ``results``.

    Without a production churn model, the rule health score scores them (:func:`score_with_rules`)."""
    say = say or (lambda _m: None)
    t0 = time.perf_counter()
    churn_rec, churn = load_production(ws.engine, "churn")
    if churn is None:
        say("  no production churn model: scoring with the rule health score")
        return score_with_rules(ws, scored_at=scored_at, say=say)
    exp_rec, expansion = load_production(ws.engine, "expansion")
    scored_at = scored_at or next_run_time(ws)
    with ws.warehouse.reader() as con:
        frame = features_as_of(con)
        shape = readmodel.data_shape(con)
    if frame.empty:
        raise UserError("No active accounts to score.")
    p = churn.predict(frame)
    expl, shap_scale = churn.explain_calibrated(frame)
    p_base = churn.calibrate(expl.base_values) if shap_scale == "model" else 1 / (1 + np.exp(-expl.base_values))
    top, others = _drivers(expl, frame, "churn", scored_at)
    kept = top.groupby("account_id")["shap"].sum().reindex(frame["account_id"]).fillna(0.0).to_numpy()
    shap_other = expl.values.sum(axis=1).to_numpy() - kept
    parts = [top]
    p_exp = np.full(len(frame), np.nan)
    if expansion is not None:
        p_exp = expansion.predict(frame)
        parts.append(_drivers(expansion.explain(frame), frame, "expansion", scored_at, k=5)[0])
    arr = flat_arr(frame) if churn.mode == "flat" else _arr(frame, shape)
    obs_date = frame["obs_date"].iloc[0] if frame["obs_date"].notna().any() else None
    scores = pd.DataFrame({
        "scored_at": scored_at, "obs_date": obs_date, "account_id": frame["account_id"].to_numpy(),
        "model_id": churn_rec.id, "target": "churn", "p_churn": p, "risk_band": churn.risk_band(p),
        "p_expansion": p_exp, "expansion_model_id": exp_rec.id if exp_rec else None, "arr": arr,
        "expected_arr_loss": p * arr, "health_score": health_score(frame).to_numpy(),
        "shap_base": expl.base_values, "shap_other": shap_other, "shap_scale": shap_scale,
        "p_base": np.broadcast_to(np.asarray(p_base, dtype=float), (len(frame),)),
    })
    drivers = pd.concat(parts, ignore_index=True)
    total_loss = float(np.nansum(scores["expected_arr_loss"]))
    run = pd.DataFrame([{"scored_at": scored_at, "obs_date": obs_date, "model_id": churn_rec.id,
                         "expansion_model_id": exp_rec.id if exp_rec else None, "accounts": len(scores),
                         "expected_arr_loss": total_loss}])
    scored_at = _append_run(ws, {"scores": scores, "score_drivers": drivers, "score_other_factors": others,
                                 "score_runs": run})
    bands = {b: int((scores["risk_band"] == b).sum()) for b in RISK_BANDS}
    result = ScoreRun(scored_at=scored_at, obs_date=obs_date, model_id=churn_rec.id,
                      expansion_model_id=exp_rec.id if exp_rec else None, accounts=len(scores),
                      expected_arr_loss=total_loss, risk_bands=bands, seconds=time.perf_counter() - t0,
                      expected_churned_accounts=float(np.nansum(p)),
                      has_revenue=bool(np.isfinite(arr).any()))
    say(f"  scored {len(scores):,} accounts in {result.seconds:.1f}s")
    return result


# --------------------------------------------------------------------------- read API
@contextlib.contextmanager
def _reader(source):
    """Accept a Warehouse (open a reader) or an open DuckDB connection (use a cursor)."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        cur = source.cursor()
        try:
            yield cur
        finally:
            cur.close()
    else:
        with source.reader() as con:
            yield con


def _has_table(con, name: str) -> bool:
    rows = con.execute("SELECT 1 FROM duckdb_views() WHERE view_name = ? UNION ALL "
                       "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name, name]).fetchall()
    return bool(rows)


SCORE_COLUMNS = readmodel.LATEST_SCORE_COLUMNS


def latest_scores(warehouse, account_ids: list[str] | None = None) -> pd.DataFrame:
    """Scores of the latest run (one row per account) with the previous run's p_churn and the top risk driver.

    The read model's definition (``data/sql/latest_scores.sql``); accepts a Warehouse or a connection.
    Empty frame when nothing was scored yet.
    """
    with _reader(warehouse) as con:
        return readmodel.latest_scores(con, account_ids)


def score_history(warehouse, account_id: str) -> pd.DataFrame:
    """Every scoring of one account, oldest first: scored_at, obs_date, p_churn, risk_band, p_expansion, model_id."""
    with _reader(warehouse) as con:
        if not _has_table(con, "scores"):
            return pd.DataFrame(columns=["scored_at", "obs_date", "p_churn", "risk_band", "p_expansion", "model_id",
                                         "expected_arr_loss"])
        return con.execute(
            "SELECT scored_at, obs_date, p_churn, risk_band, p_expansion, model_id, expected_arr_loss FROM scores "
            "WHERE account_id = ? ORDER BY scored_at", [account_id]).df()


def account_explanation(warehouse, account_id: str) -> AccountExplanation | None:
    """The latest score of ``account_id`` with its drivers and what changed since the previous scoring."""
    with _reader(warehouse) as con:
        if not _has_table(con, "scores"):
            return None
        scores = con.execute("SELECT * FROM scores WHERE account_id = ? ORDER BY scored_at DESC LIMIT 2",
                             [account_id]).df()
        if scores.empty:
            return None
        times = list(scores["scored_at"])
        drivers = con.execute(
            'SELECT scored_at, target, feature, label, "group", value, shap, sentence, rank FROM score_drivers '
            "WHERE account_id = ? AND scored_at IN (SELECT unnest(?)) ORDER BY scored_at, target, rank",
            [account_id, [pd.Timestamp(t).to_pydatetime() for t in times]]).df()
        others = pd.DataFrame(columns=OTHER_FACTOR_COLUMNS)
        if _has_table(con, "score_other_factors"):
            others = con.execute(
                'SELECT kind, feature, label, "group", shap FROM score_other_factors '
                "WHERE account_id = ? AND scored_at = ? AND target = 'churn' ORDER BY kind, \"group\", feature",
                [account_id, pd.Timestamp(times[0]).to_pydatetime()]).df()
    cur = scores.iloc[0]
    cols = ["feature", "label", "group", "value", "shap", "sentence", "rank"]
    now_d = drivers[drivers["scored_at"] == cur["scored_at"]]
    churn_d = now_d[now_d["target"] == "churn"][cols].reset_index(drop=True)
    exp_d = now_d[now_d["target"] == "expansion"][cols].reset_index(drop=True)
    prev = scores.iloc[1] if len(scores) > 1 else None
    prev_d = None
    if prev is not None:
        prev_d = drivers[(drivers["scored_at"] == prev["scored_at"]) & (drivers["target"] == "churn")][cols]
        prev_d = prev_d.reset_index(drop=True)

    def opt(v):
        return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT else float(v)

    explanation = AccountExplanation(
        account_id=account_id, scored_at=pd.Timestamp(cur["scored_at"]).to_pydatetime(),
        obs_date=pd.Timestamp(cur["obs_date"]).date() if pd.notna(cur["obs_date"]) else None,
        model_id=cur["model_id"], target=cur["target"], p_churn=float(cur["p_churn"]), risk_band=cur["risk_band"],
        p_expansion=opt(cur["p_expansion"]), arr=opt(cur["arr"]), expected_arr_loss=opt(cur["expected_arr_loss"]),
        health_score=opt(cur["health_score"]), shap_base=float(cur["shap_base"]),
        shap_other=float(cur["shap_other"]), drivers=churn_d, expansion_drivers=exp_d,
        shap_scale=str(cur.get("shap_scale") or "model"), p_base=opt(cur.get("p_base")),
        previous_scored_at=pd.Timestamp(prev["scored_at"]).to_pydatetime() if prev is not None else None,
        previous_p_churn=float(prev["p_churn"]) if prev is not None else None, previous_drivers=prev_d,
        other_factors=others,
    )
    explanation.changes = _changes(explanation)
    return explanation


def _changes(e: AccountExplanation) -> list[str]:
    if e.previous_p_churn is None or e.previous_drivers is None:
        return []
    out = []
    delta = e.p_churn - e.previous_p_churn
    when = e.previous_scored_at.date().isoformat() if e.previous_scored_at else "the previous scoring"
    if abs(delta) >= 0.005:
        out.append(f"Churn risk {'rose' if delta > 0 else 'fell'} from {e.previous_p_churn:.0%} to {e.p_churn:.0%} "
                   f"since {when}")
    else:
        out.append(f"Churn risk is unchanged at {e.p_churn:.0%} since {when}")
    now_top = e.drivers[e.drivers["shap"] > 0].sort_values("shap", ascending=False).head(5)
    before = e.previous_drivers.set_index("feature")
    before_top = set(e.previous_drivers[e.previous_drivers["shap"] > 0].sort_values("shap", ascending=False)
                     .head(5)["feature"])
    for r in now_top.itertuples():
        if r.feature not in before_top:
            out.append(f"New risk driver: {r.sentence}")
        elif r.feature in before.index and before.at[r.feature, "value"] != r.value:
            out.append(f"Changed: {r.sentence} (was {before.at[r.feature, 'sentence']})")
    gone = before_top - set(now_top["feature"])
    for f in sorted(gone):
        out.append(f"No longer a top risk driver: {before.at[f, 'label']}")
    return out


def account_features(warehouse, account_id: str) -> pd.DataFrame:
    """One-row metric frame of ``account_id`` as of the scoring date (for what-if); empty if inactive."""
    with _reader(warehouse) as con:
        return features_as_of(con, [account_id])


def what_if(model, feature_row: pd.DataFrame | pd.Series, changes: dict) -> dict:
    """Re-score one account with some feature values changed.

    ``model`` is a trained model (``models.training.TrainedModel``); ``feature_row`` its
    metric row; ``changes`` maps feature -> new value. Returns ``p_before``, ``p_after``,
    ``delta`` and the new top five reasons as (feature, shap, sentence) tuples.
    """
    row = feature_row.to_frame().T if isinstance(feature_row, pd.Series) else feature_row.head(1)
    row = row.reset_index(drop=True)
    unknown = [f for f in changes if f not in model.features]
    if unknown:
        raise UserError(f"Unknown feature(s) for this model: {', '.join(unknown)}.")
    after = row.copy()
    for f, v in changes.items():
        after[f] = v
    for f in model.numeric:
        for df in (row, after):
            if f in df:
                df[f] = pd.to_numeric(df[f], errors="coerce").astype(float)
    p0 = float(model.predict(row)[0])
    p1 = float(model.predict(after)[0])
    top = model.explain(after).top_drivers(["what-if"], k=5)
    drivers = [(r.feature, float(r.shap), r.sentence) for r in top.itertuples()]
    return {"p_before": p0, "p_after": p1, "delta": p1 - p0, "drivers": drivers}
