"""Portfolio figures: KPIs, risk mix, renewals, score movers, MRR movements and retention curves.

Every query takes the :class:`~data.access.Viewer` and applies its scope in SQL, so a
CSM's figures count only their book. Dates are relative to the workspace's as-of date.
Definitions (docs/architecture.md section 12):

* **MRR of an account on day d**: the sum of ``mrr`` of its subscriptions with
  ``start_date <= d`` and (``end_date`` null or ``end_date > d``). ARR = 12 × MRR.
* **Monthly movements**: each account's MRR at the end of a month (or the as-of date for
  the current month) against the end of the previous month: from 0 to >0 is *new*,
  up is *expansion*, down but >0 is *contraction*, to 0 is *churn*. Contraction and
  churn are negative numbers. The movements of a window add up to end − start MRR.
* **GRR / NRR (12 months)**: the accounts paying 12 months before the as-of date, their
  MRR then against now. GRR = (start − churned − contraction) ÷ start; NRR adds the
  expansion. Accounts that started inside the window do not count.
* **Survival**: time from an account's first subscription spell start (gaps of up to
  ``gap_days`` bridged) to its end; spells still open at the as-of date are censored there.

Score figures read the results-layer tables ``scores`` and ``score_drivers`` written by
``cli.py score``; before the first scoring run they return ``None`` / empty frames and
:func:`has_scores` is False. ``expected_arr_loss`` = Σ p(churn) × ARR and the expansion
pipeline = Σ p(expansion) × ARR, both over the latest run and within the model's horizon.

One module over 400 lines on purpose: every Portfolio figure shares the viewer-scoped overview SQL and the
MRR-by-date arrays defined here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from data import readmodel
from data.access import Viewer
from data.intervals import Z95
from data.readmodel import as_of_date
from data.sqlfiles import load_sql

GROUP_COLUMNS = ("segment", "csm")
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class PortfolioKpis:
    """Headline figures of the viewer's book. Score fields are None before the first scoring run."""

    as_of: date
    accounts: int
    arr: float | None
    scored_at: datetime | None = None
    model_id: str | None = None
    scored_accounts: int = 0
    expected_arr_loss: float | None = None
    high_risk_accounts: int | None = None
    high_risk_arr: float | None = None
    expansion_pipeline: float | None = None
    grr: float | None = None
    nrr: float | None = None
    has_revenue: bool = True
    shape: str = "billing"
    expected_churned_accounts: float | None = None


def has_scores(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the ``scores`` and ``score_drivers`` tables exist and hold at least one run."""
    found = {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE view_name IN ('scores', 'score_drivers') "
        "UNION SELECT table_name FROM duckdb_tables() WHERE table_name IN ('scores', 'score_drivers')").fetchall()}
    if found != {"scores", "score_drivers"}:
        return False
    return con.execute("SELECT count(*) FROM scores").fetchone()[0] > 0


def _overview_sql(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> tuple[str, dict]:
    """The read model's account state (one row per scoped account) as a subquery, with its named
    parameters except ``as_of`` and ``inactive_days`` (see :func:`data.readmodel.state_params`)."""
    sql, params = readmodel.account_state_sql(con, viewer)
    return f"({sql})", params


def _latest(con: duckdb.DuckDBPyConnection) -> str:
    """``latest AS (...)``: the read model's latest scores (``data/sql/latest_scores.sql``) as a CTE."""
    return f"latest AS ({readmodel.latest_scores_sql(con)})"


# --------------------------------------------------------------------------- KPIs
def kpis(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None,
         retention: dict | None = None) -> PortfolioKpis:
    """Accounts, ARR, expected ARR loss, high-risk accounts, expansion pipeline, GRR and NRR.

    ``retention`` is :func:`retention_12m` for the same viewer and as-of date when the caller
    already has it (it is the costliest part); otherwise it is computed here.
    """
    as_of = as_of or as_of_date(con)
    overview, params = _overview_sql(con, viewer)
    params.update(readmodel.state_params(con, as_of))
    accounts, arr, revenue = readmodel.execute(
        con, f"SELECT count(*) FILTER (WHERE status = 'active'), coalesce(sum(arr), 0), "  # noqa: S608 - our SQL
             f"coalesce(bool_or(has_revenue), FALSE) FROM {overview} ov", params).fetchall()[0]
    shape = readmodel.data_shape(con)
    revenue = bool(revenue) or shape == "billing"
    retention = retention if retention is not None else retention_12m(con, viewer, as_of)
    out = dict(as_of=as_of, accounts=int(accounts), arr=float(arr) if revenue else None, grr=retention["grr"],
               nrr=retention["nrr"], has_revenue=revenue, shape=shape)
    if has_scores(con):
        scope, sparams = viewer.scope_sql("a")
        row = con.execute(f"""
            WITH {_latest(con)}
            SELECT max(s.scored_at), max(s.model_id), count(*),
                   sum(s.expected_arr_loss),
                   count(*) FILTER (WHERE s.risk_band = 'high'),
                   coalesce(sum(s.arr) FILTER (WHERE s.risk_band = 'high'), 0),
                   sum(s.p_expansion * s.arr), sum(s.p_churn)
            FROM latest s JOIN accounts a ON a.account_id = s.account_id
            WHERE {scope}""", sparams).fetchone()  # noqa: S608 - scope is our SQL
        scored_at, model_id, n, loss, high, high_arr, pipeline, churners = row
        if n:
            out.update(expected_churned_accounts=float(churners or 0.0),
                       scored_at=scored_at, model_id=model_id, scored_accounts=int(n), expected_arr_loss=float(loss or 0.0),
                       high_risk_accounts=int(high), high_risk_arr=float(high_arr),
                       expansion_pipeline=None if pipeline is None else float(pipeline))
    return PortfolioKpis(**out)


# --------------------------------------------------------------------------- MRR movements
def month_ends(as_of: date, months: int) -> list[date]:
    """Snapshot dates: the end of the month before the window, each month's end, the as-of date last."""
    current = pd.Timestamp(as_of).to_period("M")
    ends = [(current - k).to_timestamp(how="end").date() for k in range(months, 0, -1)]
    return [*ends, as_of]


def _mrr_by_date(con: duckdb.DuckDBPyConnection, viewer: Viewer, dates: list[date]) -> np.ndarray:
    """Each scoped account's MRR on each of ``dates``: an (accounts, dates) array, one row per account
    with a subscription overlapping the dates (rows of zeros change no sum).

    MRR on day d follows the module definition (``start_date <= d`` and no end or ``end_date > d``).
    Computed in numpy, one pass per date, in place of a slower SQL range join and window (the
    figure is in the README, *Performance*, "Why the code is written this way").
    """
    scope, params = viewer.scope_sql("a")
    subs = con.execute(f"""
        SELECT dense_rank() OVER (ORDER BY s.account_id) - 1 AS account, s.start_date,
               coalesce(s.end_date, DATE '9999-12-31') AS end_date, s.mrr
        FROM subscriptions s JOIN accounts a ON a.account_id = s.account_id
        WHERE {scope} AND s.start_date <= ? AND (s.end_date IS NULL OR s.end_date > ?)""",  # noqa: S608 - our SQL
        [*params, max(dates), min(dates)]).fetchnumpy()
    account = np.asarray(subs["account"], dtype=np.int64)
    if not len(account):
        return np.zeros((0, len(dates)))
    start = np.asarray(subs["start_date"]).astype("datetime64[D]")
    end = np.asarray(subs["end_date"]).astype("datetime64[D]")
    mrr = np.asarray(subs["mrr"], dtype=float)
    accounts = int(account.max()) + 1
    out = np.zeros((accounts, len(dates)))
    for i, day in enumerate(np.array(dates, dtype="datetime64[D]")):
        active = (start <= day) & (end > day)
        out[:, i] = np.bincount(account[active], weights=mrr[active], minlength=accounts)
    return out


MOVEMENT_COLUMNS = ["month", "start_mrr", "new", "expansion", "contraction", "churn", "net", "end_mrr"]


def _movements(mrr: np.ndarray, dates: list[date]) -> pd.DataFrame:
    """:func:`mrr_movements` from the MRR per account (rows) on each of ``dates`` (columns)."""
    if not len(mrr):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c == "month" else float) for c in MOVEMENT_COLUMNS})
    rows = []
    for i, day in enumerate(dates[1:], start=1):
        prev, cur = mrr[:, i - 1], mrr[:, i]
        rows.append({
            "month": pd.Timestamp(day.year, day.month, 1),
            "start_mrr": prev.sum(),
            "new": cur[(prev == 0) & (cur > 0)].sum(),
            "expansion": (cur - prev)[(prev > 0) & (cur > prev)].sum(),
            "contraction": -(prev - cur)[(cur > 0) & (cur < prev)].sum(),
            "churn": -prev[(prev > 0) & (cur == 0)].sum(),
            "end_mrr": cur.sum(),
        })
    df = pd.DataFrame(rows).groupby("month", as_index=False, sort=True).sum()
    df["net"] = df["end_mrr"] - df["start_mrr"]
    df["month"] = df["month"].astype("datetime64[us]")
    return df[MOVEMENT_COLUMNS]


def _retention(prev: np.ndarray, cur: np.ndarray, start: date, as_of: date) -> dict:
    """:func:`retention_12m` from each account's MRR on ``start`` (``prev``) and on ``as_of`` (``cur``)."""
    paying = prev > 0
    start_mrr = float(prev[paying].sum())
    churn = -float(prev[paying & (cur == 0)].sum())
    contraction = -float((prev - cur)[paying & (cur > 0) & (cur < prev)].sum())
    expansion = float((cur - prev)[paying & (cur > prev)].sum())
    grr = (start_mrr + churn + contraction) / start_mrr if start_mrr else None
    nrr = (start_mrr + churn + contraction + expansion) / start_mrr if start_mrr else None
    return {"start": start, "end": as_of, "start_mrr": start_mrr, "churn": churn, "contraction": contraction,
            "expansion": expansion, "grr": grr, "nrr": nrr}


def _retention_start(as_of: date) -> date:
    return (pd.Timestamp(as_of) - pd.DateOffset(months=12)).date()


def mrr_movements(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None,
                  months: int = 12) -> pd.DataFrame:
    """MRR movements per month for the last ``months`` months (the current, possibly partial, month last).

    Columns: month (first day), start_mrr, new, expansion, contraction, churn, net, end_mrr.
    ``contraction`` and ``churn`` are negative; ``start_mrr + net == end_mrr``. Empty when no
    scoped account paid anything in the window.
    """
    as_of = as_of or as_of_date(con)
    dates = month_ends(as_of, months)
    return _movements(_mrr_by_date(con, viewer, dates), dates)


def retention_12m(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None) -> dict:
    """GRR and NRR over the 12 months to the as-of date, with their parts (MRR, churn/contraction negative).

    Keys: start, end (dates), start_mrr, churn, contraction, expansion, grr, nrr (None when nothing
    was paying 12 months ago).
    """
    as_of = as_of or as_of_date(con)
    start = _retention_start(as_of)
    mrr = _mrr_by_date(con, viewer, [start, as_of])
    return _retention(mrr[:, 0], mrr[:, 1], start, as_of)


def movements_and_retention(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None,
                            months: int = 12) -> tuple[pd.DataFrame, dict]:
    """(:func:`mrr_movements`, :func:`retention_12m`) from one read of the subscriptions."""
    as_of = as_of or as_of_date(con)
    dates, start = month_ends(as_of, months), _retention_start(as_of)
    every = sorted({*dates, start, as_of})
    mrr = _mrr_by_date(con, viewer, every)
    column = {day: i for i, day in enumerate(every)}
    return (_movements(mrr[:, [column[d] for d in dates]], dates),
            _retention(mrr[:, column[start]], mrr[:, column[as_of]], start, as_of))


# --------------------------------------------------------------------------- risk
def risk_distribution(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Accounts and ARR of the latest scoring per p(churn) bin and risk band.

    Columns: bin_start, bin_end (probabilities), risk_band, accounts, arr. The bin width
    adapts to the largest probability (1, 2 or 5 points) so the bars stay readable.
    Empty before the first scoring run.
    """
    if not has_scores(con):
        return pd.DataFrame(columns=["bin_start", "bin_end", "risk_band", "accounts", "arr"])
    scope, params = viewer.scope_sql("a")
    return con.execute(f"""
        WITH {_latest(con)},
        mine AS (SELECT s.* FROM latest s JOIN accounts a ON a.account_id = s.account_id WHERE {scope}),
        width AS (SELECT CASE WHEN max(p_churn) <= 0.3 THEN 0.01 WHEN max(p_churn) <= 0.6 THEN 0.02
                              ELSE 0.05 END AS w FROM mine),
        binned AS (SELECT least(floor(p_churn / w + 1e-9), round(1 / w) - 1) * w AS bin_start, w, risk_band, arr
                   FROM mine, width)
        SELECT round(bin_start, 4) AS bin_start, round(bin_start + w, 4) AS bin_end, risk_band,
               count(*) AS accounts, coalesce(sum(arr), 0) AS arr
        FROM binned GROUP BY ALL ORDER BY bin_start, risk_band""", params).df()  # noqa: S608 - our SQL


def risk_by_group(con: duckdb.DuckDBPyConnection, viewer: Viewer, by: str) -> pd.DataFrame:
    """Accounts, ARR and expected ARR loss of the latest scoring per ``by`` (segment or csm) and risk band.

    Columns: group, risk_band, accounts, arr, expected_arr_loss. Empty before the first scoring run.
    """
    if by not in GROUP_COLUMNS:
        raise ValueError(f"cannot group the portfolio by {by!r}")
    if not has_scores(con):
        return pd.DataFrame(columns=["group", "risk_band", "accounts", "arr", "expected_arr_loss"])
    scope, params = viewer.scope_sql("a")
    return con.execute(f"""
        WITH {_latest(con)}
        SELECT coalesce(a.{by}, {"'unassigned'" if by == "csm" else "'no segment'"}) AS "group", s.risk_band, count(*) AS accounts,
               coalesce(sum(s.arr), 0) AS arr,
               coalesce(sum(s.expected_arr_loss), 0) AS expected_arr_loss
        FROM latest s JOIN accounts a ON a.account_id = s.account_id
        WHERE {scope}
        GROUP BY ALL ORDER BY 1, 2""", params).df()  # noqa: S608 - whitelisted column, our SQL


# --------------------------------------------------------------------------- renewals
def renewals(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None,
             days: int = 180) -> pd.DataFrame:
    """Active accounts renewing within ``days`` of the as-of date, soonest first, with their latest risk.

    Columns: account_id, name, segment, csm, billing_period, renewal_date, days_to_renewal, arr,
    p_churn, risk_band, expected_arr_loss (score columns null before the first scoring run).
    """
    as_of = as_of or as_of_date(con)
    overview, params = _overview_sql(con, viewer)
    params.update(readmodel.state_params(con, as_of))
    params["days"] = int(days)
    scored = has_scores(con)
    score_cte = f"WITH {_latest(con)}" if scored else (
        "WITH latest AS (SELECT NULL::VARCHAR AS account_id, NULL::DOUBLE AS p_churn, NULL::VARCHAR AS risk_band, "
        "NULL::DOUBLE AS expected_arr_loss, NULL::DOUBLE AS arr, NULL::VARCHAR AS model_id WHERE FALSE)")
    params["rule_model_id"] = readmodel.RULE_MODEL_ID  # the rule health score: no probability, no expected loss
    return readmodel.execute(con, f"""
        {score_cte}
        SELECT ov.account_id, ov.name, ov.segment, ov.csm, ov.billing_period, ov.renewal_date,
               datediff('day', CAST($as_of AS DATE), ov.renewal_date) AS days_to_renewal, ov.arr,
               s.p_churn, s.risk_band,
               CASE WHEN s.model_id = $rule_model_id THEN NULL
                    ELSE coalesce(s.expected_arr_loss, s.p_churn * ov.arr) END AS expected_arr_loss
        FROM {overview} ov
        LEFT JOIN latest s ON s.account_id = ov.account_id
        WHERE ov.status = 'active' AND ov.renewal_date >= CAST($as_of AS DATE)
          AND ov.renewal_date <= CAST($as_of AS DATE) + CAST($days AS INTEGER)
        ORDER BY ov.renewal_date, ov.arr DESC, ov.account_id""",  # noqa: S608 - our SQL
        params).df()


# --------------------------------------------------------------------------- movers
MOVER_COLUMNS = ["direction", "account_id", "name", "segment", "csm", "arr", "p_before", "p_now", "change",
                 "risk_band", "driver", "driver_group", "driver_sentence", "driver_shap_change",
                 "scored_at", "previous_scored_at"]


def top_movers(con: duckdb.DuckDBPyConnection, viewer: Viewer, n: int = 10, min_change: float = 0.005) -> pd.DataFrame:
    """Accounts whose p(churn) moved most between the two latest scoring runs: ``n`` up and ``n`` down.

    Per account, ``driver`` is the churn driver whose SHAP value moved most in the direction of
    the change (a driver missing from one run's stored top drivers counts as 0 there).
    Columns: ``MOVER_COLUMNS``; ``direction`` is 'up' or 'down'. Empty with fewer than two runs.
    """
    if not has_scores(con):
        return pd.DataFrame(columns=MOVER_COLUMNS)
    scope, params = viewer.scope_sql("a")
    return con.execute(f"""
        WITH ranked AS (
            SELECT scored_at, row_number() OVER (ORDER BY scored_at DESC) AS k
            FROM (SELECT DISTINCT scored_at FROM scores)
        ),
        cur AS (SELECT s.* FROM scores s JOIN ranked r ON r.scored_at = s.scored_at AND r.k = 1),
        prev AS (SELECT s.* FROM scores s JOIN ranked r ON r.scored_at = s.scored_at AND r.k = 2),
        moves AS (
            SELECT cur.account_id, prev.p_churn AS p_before, cur.p_churn AS p_now,
                   cur.p_churn - prev.p_churn AS change, cur.risk_band, cur.arr,
                   cur.scored_at, prev.scored_at AS previous_scored_at
            FROM cur JOIN prev ON prev.account_id = cur.account_id
            JOIN accounts a ON a.account_id = cur.account_id
            WHERE {scope} AND abs(cur.p_churn - prev.p_churn) >= ?
        ),
        d_cur AS (SELECT d.* FROM score_drivers d JOIN ranked r ON r.scored_at = d.scored_at AND r.k = 1
                  WHERE d.target = 'churn'),
        d_prev AS (SELECT d.* FROM score_drivers d JOIN ranked r ON r.scored_at = d.scored_at AND r.k = 2
                   WHERE d.target = 'churn'),
        driver_moves AS (
            SELECT coalesce(c.account_id, p.account_id) AS account_id, coalesce(c.feature, p.feature) AS feature,
                   coalesce(c.label, p.label) AS label, coalesce(c."group", p."group") AS driver_group,
                   coalesce(c.sentence, p.sentence) AS sentence,
                   coalesce(c.shap, 0) - coalesce(p.shap, 0) AS shap_change
            FROM d_cur c FULL OUTER JOIN d_prev p ON p.account_id = c.account_id AND p.feature = c.feature
        ),
        top_driver AS (
            SELECT dm.*, row_number() OVER (PARTITION BY dm.account_id
                                            ORDER BY dm.shap_change * sign(m.change) DESC, dm.feature) AS k
            FROM driver_moves dm JOIN moves m ON m.account_id = dm.account_id
        ),
        ordered AS (
            SELECT CASE WHEN m.change > 0 THEN 'up' ELSE 'down' END AS direction,
                   row_number() OVER (PARTITION BY m.change > 0 ORDER BY abs(m.change) DESC, m.account_id) AS k,
                   m.*, t.label AS driver, t.driver_group, t.sentence AS driver_sentence,
                   t.shap_change AS driver_shap_change
            FROM moves m LEFT JOIN top_driver t ON t.account_id = m.account_id AND t.k = 1
        )
        SELECT o.direction, o.account_id, a.name, a.segment, a.csm, o.arr, o.p_before, o.p_now, o.change,
               o.risk_band, o.driver, o.driver_group, o.driver_sentence, o.driver_shap_change,
               o.scored_at, o.previous_scored_at
        FROM ordered o JOIN accounts a ON a.account_id = o.account_id
        WHERE o.k <= ?
        ORDER BY o.direction DESC, abs(o.change) DESC, o.account_id""",  # noqa: S608 - our SQL
        [*params, float(min_change), int(n)]).df()


def scoring_runs(con: duckdb.DuckDBPyConnection) -> list[datetime]:
    """Timestamps of the scoring runs, newest first (empty before the first run)."""
    if not has_scores(con):
        return []
    return [r[0] for r in con.execute("SELECT DISTINCT scored_at FROM scores ORDER BY 1 DESC").fetchall()]


# --------------------------------------------------------------------------- survival
def survival_data(con: duckdb.DuckDBPyConnection, viewer: Viewer, as_of: date | None = None,
                  gap_days: int = 30) -> pd.DataFrame:
    """One row per account that ever paid: its first subscription spell as a survival observation.

    Columns: account_id, segment, cohort ('2025 Q1', the quarter the spell started), start_date,
    duration_days (start to churn, or to the as-of date when still active = censored),
    churned (True = the spell ended on or before the as-of date).
    """
    as_of = as_of or as_of_date(con)
    scope, params = viewer.scope_sql("a")
    spells = load_sql("subscription_spells").replace("$gap_days", "CAST(? AS INTEGER)")
    return con.execute(f"""
        WITH spells AS ({spells}
        ),
        first_spell AS (SELECT account_id, spell_start, spell_end FROM spells WHERE spell = 1)
        SELECT a.account_id, coalesce(a.segment, 'no segment') AS segment,
               strftime(f.spell_start, '%Y') || ' Q' || quarter(f.spell_start) AS cohort,
               f.spell_start AS start_date,
               datediff('day', f.spell_start, least(f.spell_end, CAST(? AS DATE))) AS duration_days,
               f.spell_end <= CAST(? AS DATE) AS churned
        FROM first_spell f JOIN accounts a ON a.account_id = f.account_id
        WHERE f.spell_start <= CAST(? AS DATE) AND {scope}
        ORDER BY a.account_id""",  # noqa: S608 - our SQL
        [int(gap_days), as_of, as_of, as_of, *params]).df()


KM_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "ci_low", "ci_high"]


def kaplan_meier(durations, events) -> pd.DataFrame:
    """Kaplan–Meier survival estimate with its 95 % confidence band.

    ``durations``: time to the event or to censoring; ``events``: True where the event (churn)
    was observed, False where the observation is censored. Returns one row per distinct time,
    starting with time 0: time, at_risk (in the risk set just before ``time``), events,
    censored, survival (S(t) after the events at ``time``), ci_low and ci_high. Censored
    observations at a time with events stay in that time's risk set (the usual convention).

    The band is Greenwood's variance on the log(-log S) scale ("exponential Greenwood", the
    default of lifelines and of R's ``survival`` with ``conf.type="log-log"``), so it stays
    inside [0, 1]; ``tests/data/test_portfolio.py`` checks it against lifelines' figures.
    lifelines itself is not a dependency: its releases require pandas < 3 (README, *Dependencies*).
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(t) == 0:
        return pd.DataFrame({"time": [0.0], "at_risk": [0], "events": [0], "censored": [0], "survival": [1.0],
                             "ci_low": [1.0], "ci_high": [1.0]})
    frame = pd.DataFrame({"time": t, "event": e})
    table = frame.groupby("time")["event"].agg(events="sum", total="size").sort_index()
    table["censored"] = table["total"] - table["events"]
    table["at_risk"] = len(t) - table["total"].cumsum().shift(fill_value=0)
    table["survival"] = (1.0 - table["events"] / table["at_risk"]).cumprod()
    table = table.reset_index()
    if table["time"].iloc[0] > 0:
        start = pd.DataFrame({"time": [0.0], "at_risk": [len(t)], "events": [0], "censored": [0], "survival": [1.0]})
        table = pd.concat([start, table], ignore_index=True)
    table["ci_low"], table["ci_high"] = _greenwood_band(table["at_risk"].to_numpy(float),
                                                        table["events"].to_numpy(float), table["survival"].to_numpy())
    return table[KM_COLUMNS].astype({"at_risk": int, "events": int, "censored": int})


def _greenwood_band(at_risk: np.ndarray, events: np.ndarray, survival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % band of S(t) from Greenwood's sum on the log(-log S) scale (1 before any event, 0 once S is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0))
        log_s = np.log(survival)
        spread = Z95 * np.sqrt(greenwood) / log_s
        low = np.exp(-np.exp(np.log(-log_s) - spread))
        high = np.exp(-np.exp(np.log(-log_s) + spread))
    low = np.where(survival >= 1.0, 1.0, np.where(survival <= 0.0, 0.0, low))
    high = np.where(survival >= 1.0, 1.0, np.where(survival <= 0.0, 0.0, high))
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)


def median_survival(curve: pd.DataFrame) -> float | None:
    """The first time at which the estimated survival is at or below one half (``None``: not reached yet)."""
    reached = curve.loc[curve["survival"] <= 0.5, "time"]
    return float(reached.iloc[0]) if len(reached) else None


def survival_curves(data: pd.DataFrame, by: str, min_accounts: int = 10,
                    groups: list[str] | None = None) -> pd.DataFrame:
    """Kaplan–Meier curves of :func:`survival_data` per value of ``by`` (segment or cohort).

    Groups with fewer than ``min_accounts`` accounts are left out; ``groups`` picks and orders
    them. Columns: group, accounts, time (days), months, at_risk, events, censored, survival,
    ci_low, ci_high (the 95 % band), median_months (the group's median survival; NaN while over half remain).
    """
    parts = []
    names = groups if groups is not None else sorted(data[by].dropna().unique())
    for name in names:
        part = data[data[by] == name]
        if len(part) < min_accounts:
            continue
        curve = kaplan_meier(part["duration_days"], part["churned"])
        median = median_survival(curve)
        curve["median_months"] = np.nan if median is None else median / DAYS_PER_MONTH
        curve.insert(0, "accounts", len(part))
        curve.insert(0, "group", name)
        parts.append(curve)
    if not parts:
        return pd.DataFrame(columns=["group", "accounts", "time", "months", *KM_COLUMNS[1:], "median_months"])
    out = pd.concat(parts, ignore_index=True)
    out.insert(3, "months", out["time"] / DAYS_PER_MONTH)
    return out
