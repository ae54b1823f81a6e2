"""Observation data sets: one row per account active at an observation date, with labels.

Time mode (docs/architecture.md section 6): observation dates are the first day of every month
from ``warmup_days`` after the first recorded activity to the day after the last day of
history, or every week when the history is too short for monthly dates
(:mod:`models.history`). Each account with an active subscription on the eve of a date
is one row; its features are the metrics as of that date (rows strictly before it) and
its labels say whether it churned (expanded) within ``horizon_days`` after ``obs_date +
lead_days``. The data is right-censored at :func:`history_end`: a row is *labelled* only
when its whole window and the ``gap_days`` renewal tolerance after it lie inside the
history (``obs + lead + horizon + gap <= end``); other rows carry no label and are left
out of training and testing. A billing period that ends at or after the end of the data
is "still a customer, as far as we know", not a churn. The last (unlabelled) dates are
the ones scoring resembles.

Flat mode: the workspace holds only ``accounts`` plus a label (table ``account_labels``
or a 0/1 column such as ``churned`` on ``accounts``); one row per account, no dates.

:func:`check_leakage` recomputes features for sampled observation dates on a copy of
the data truncated at each date and asserts they are identical.

One module over 400 lines on purpose: time and flat observation sets share the leakage and label-rate checks
every training runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from data.errors import UserError
from data.metrics import (
    Metric,
    activity_spells,
    attribute_metrics,
    compute_labels,
    compute_metrics,
    event_types,
    load_sql,
    monthly_dates,
    truncate_raw_tables,
)
from data.readmodel import data_end
from data.settings import read_model_settings
from models.eligibility import snapshot_columns
from models.history import MONTHLY, Schedule, plan_schedule

FLAT_LABEL_COLUMNS = ("churned", "churn", "is_churned", "has_churned", "label", "target", "churn_flag")


@dataclass
class ObservationSet:
    """Features and labels per observation row, and how to read the columns."""

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    catalog: dict[str, Metric]
    mode: str  # "time" or "flat"
    horizon_days: int = 90
    lead_days: int = 0
    data_end: date | None = None
    dates: list[date] = field(default_factory=list)
    gap_days: int = 30
    cadence: str = MONTHLY  # "monthly" or "weekly" observation dates (models.history)
    schedule: Schedule | None = None
    label_source: str = "subscriptions"  # or "inactivity": no billing data, churn = no activity for N days
    accounts_observed: int | None = None  # accounts whose rows the set holds (time mode)
    accounts_total: int | None = None  # accounts active at some date; more than observed when sampled

    @property
    def sampled(self) -> bool:
        return bool(self.accounts_total and self.accounts_observed is not None
                    and self.accounts_observed < self.accounts_total)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def labelled(self) -> pd.DataFrame:
        """Rows whose label window has closed. When they are a prefix of ``frame`` (time mode
        sorts by date) this is a slice that shares memory with ``frame`` (copy-on-write)."""
        mask = self.frame["labelled"].to_numpy(dtype=bool)
        n = int(mask.sum())
        if mask[:n].all():
            return self.frame.iloc[:n].reset_index(drop=True)
        return self.frame[mask].reset_index(drop=True)


def detect_mode(con: duckdb.DuckDBPyConnection) -> str:
    """'time' when subscriptions exist, 'flat' when only accounts with a label exist, 'activity' when
    accounts have events but no billing data and no label (churn = no activity for N days)."""
    n_subs = con.execute("SELECT count(*) FROM subscriptions").fetchall()[0][0]
    if n_subs > 0:
        return "time"
    if flat_label_source(con) is not None:
        return "flat"
    if con.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchall()[0][0]:
        return "activity"
    raise UserError("No subscriptions and no churn label found: import subscriptions, or a flat account table "
                    "with a 0/1 churn column (e.g. 'churned'), before training.")


def flat_label_source(con: duckdb.DuckDBPyConnection) -> str | None:
    """'account_labels' or the name of a 0/1 label column on accounts, else None."""
    try:
        if con.execute("SELECT count(*) FROM account_labels").fetchall()[0][0] > 0:
            return "account_labels"
    except duckdb.Error:
        pass
    cols = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE accounts)").fetchall()]
    for c in cols:
        if c.lower() in FLAT_LABEL_COLUMNS:
            return c
    return None


def history_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day of history: labels are censored here and scoring observes the day after.

    The one place the models read the data's end: the read model's as-of date (:func:`data.readmodel.data_end`).
    """
    return data_end(con)


def observation_dates(con: duckdb.DuckDBPyConnection, *, warmup_days: int = 90, end: date | None = None) -> list[date]:
    """Monthly observation dates (first of month) through the day after the last day of history."""
    first = history_start(con)
    last = end or history_end(con)
    if first is None or last is None:
        return []
    return monthly_dates(first + timedelta(days=warmup_days), last + timedelta(days=1))


def history_start(con: duckdb.DuckDBPyConnection) -> date | None:
    """First day of recorded activity: the first event if there are events, else the first subscription.

    Imports often carry subscriptions that started long before usage was tracked; dates
    before any activity would have features but no behaviour, so they are not observed.
    """
    first_event = con.execute("SELECT min(CAST(event_time AS DATE)) FROM events").fetchall()[0][0]
    if first_event is not None:
        return first_event
    return con.execute("SELECT min(start_date) FROM subscriptions").fetchall()[0][0]


def active_rows(con: duckdb.DuckDBPyConnection, dates: list[date], end: date | None = None,
                inactive_days: int | None = None) -> pd.DataFrame:
    """(account_id, obs_date) for every account with an active subscription on the eve of each date.

    A subscription whose end date is at or after ``end`` (default :func:`history_end`) is
    still running as far as the data knows: on the day after the data's end it counts.
    With ``inactive_days`` (no billing data), an account is active on the eve of a date when it
    had activity in the ``inactive_days`` days before it (``data/sql/activity_spells.sql``).
    """
    end = end or history_end(con) or date.max
    d = pd.DataFrame({"obs_date": pd.to_datetime(pd.Series(dates)).dt.date})
    con.register("_obs_dates", d)
    try:
        if inactive_days is not None:
            con.register("_spells", activity_spells(con, inactive_days, end))
            try:
                rows = con.execute(
                    "SELECT DISTINCT s.account_id, d.obs_date FROM _obs_dates d JOIN _spells s "
                    "ON s.spell_start < d.obs_date AND s.spell_end >= d.obs_date ORDER BY d.obs_date, s.account_id").df()
            finally:
                con.unregister("_spells")
            rows["obs_date"] = pd.to_datetime(rows["obs_date"]).dt.date
            return rows
        # data/sql/active_rows.sql: the Spark engine runs the same file
        sql = load_sql("active_rows").replace("FROM obs_dates d", "FROM _obs_dates d")
        rows = con.execute(sql, {"data_end": end}).df()
    finally:
        con.unregister("_obs_dates")
    rows["obs_date"] = pd.to_datetime(rows["obs_date"]).dt.date
    return rows


def sampled_ids(ids: pd.Series, max_accounts: int) -> np.ndarray | None:
    """The ``max_accounts`` account ids (of distinct ``ids``) with the smallest hash of their text: a
    fixed, order-free random share, the same on both engines; None when there are no more than that."""
    if len(ids) <= max_accounts:
        return None
    unique = pd.Series(ids.astype(str).to_numpy())
    draw = pd.util.hash_pandas_object(unique, index=False).to_numpy()
    return unique.to_numpy()[np.argsort(draw, kind="stable")[:max_accounts]]


def sample_accounts(rows: pd.DataFrame, max_accounts: int) -> tuple[pd.DataFrame, int, int]:
    """``rows`` of at most ``max_accounts`` accounts (:func:`sampled_ids`), every row of each, in their
    order. Returns the rows, and the accounts kept and in all."""
    ids = rows["account_id"].astype(str)
    unique = pd.Series(ids.unique())
    keep = sampled_ids(unique, max_accounts)
    if keep is None:
        return rows, len(unique), len(unique)
    return rows[ids.isin(keep).to_numpy()].reset_index(drop=True), max_accounts, len(unique)


def build_observations(con: duckdb.DuckDBPyConnection, *, horizon_days: int = 90, lead_days: int = 0,
                       warmup_days: int | None = None, dates: list[date] | None = None,
                       gap_days: int = 30, expansion_ratio: float = 1.10, cadence: str = "auto",
                       max_accounts: int | None = None) -> ObservationSet:
    """The observation set of the workspace behind ``con`` (time or flat mode).

    ``cadence`` (``auto``, ``monthly``, ``weekly``) and ``warmup_days`` place the dates
    (:func:`models.history.plan_schedule`) unless ``dates`` are given. Beyond ``max_accounts``
    (default ``CSAI_TRAIN_MAX_ACCOUNTS``) a fixed share of the accounts is observed
    (:func:`sample_accounts`): every date of each, so the time split and the labels are as without it.
    """
    mode = detect_mode(con)
    if mode == "flat":
        return build_flat_observations(con)
    inactive_days = inactivity_days() if mode == "activity" else None
    if inactive_days is not None:
        gap_days = 0  # a churn by inactivity is known on its day: no renewal gap to wait for
    end = history_end(con)
    first = history_start(con)
    label_days = lead_days + horizon_days + gap_days
    schedule = None
    if dates is None and first is not None and end is not None:
        if warmup_days is not None:
            dates = monthly_dates(first + timedelta(days=warmup_days), end + timedelta(days=1))
        else:
            schedule = plan_schedule(first, end, label_days=label_days, cadence=cadence)
            dates = schedule.dates
    if not dates:
        raise UserError("Not enough history to build observation dates; import at least a few months of data.")
    rows = active_rows(con, dates, end, inactive_days)
    if rows.empty:
        if inactive_days is not None:
            raise UserError(f"No account had activity in the {inactive_days} days before any observation date; "
                            "check the events' dates, or set CSAI_INACTIVE_CHURN_DAYS.")
        raise UserError("No account has an active subscription at any observation date; check the subscriptions' "
                        "start and end dates.")
    limit = max_accounts if max_accounts is not None else read_model_settings().train_max_accounts
    rows, observed, total = sample_accounts(rows, limit)
    metrics = compute_metrics(con, rows, data_end=end)
    numeric, categorical, catalog = metrics.numeric, metrics.categorical, metrics.catalog
    labels = compute_labels(con, rows, horizon_days=horizon_days, lead_days=lead_days, gap_days=gap_days,
                            expansion_ratio=expansion_ratio, data_end=end, inactive_days=inactive_days)
    frame = metrics.frame
    del metrics
    # Both frames keep the order of ``rows``: attach the labels as columns instead of a merge,
    # which would copy every feature column (about 1 GB at 100,000 accounts).
    same_rows = (len(labels) == len(frame)
                 and (labels["account_id"].to_numpy() == frame["account_id"].to_numpy()).all()
                 and (pd.to_datetime(labels["obs_date"]).to_numpy() == pd.to_datetime(frame["obs_date"]).to_numpy()).all())
    if not same_rows:
        raise AssertionError("labels and metrics are not in the order of the observation rows")
    for c in ("churn_date", "label_churn", "label_expansion"):
        frame[c] = labels[c].to_numpy()
    # Right-censoring (labels.sql): the window plus the gap tolerance must end inside the data.
    frame["labelled"] = labels["label_known"].fillna(False).to_numpy(dtype=bool)
    del labels
    # Training reads features as float32 (LightGBM's own precision); halves the observation set's memory.
    frame[numeric] = frame[numeric].astype(np.float32)
    if lead_days > 0:  # churned during the lead time: nothing could have been done, drop
        churn = pd.to_datetime(frame["churn_date"])
        early = churn.notna() & (churn < pd.to_datetime(frame["obs_date"]) + pd.Timedelta(days=lead_days))
        frame = frame[~early.to_numpy()].reset_index(drop=True)
    # Censored rows have no label (NULL in labels.sql); the 0 here is only a fill: read labels
    # through ``labelled()``.
    frame["label_churn"] = frame["label_churn"].fillna(0).astype(int)
    frame["label_expansion"] = frame["label_expansion"].fillna(0).astype(int)
    frame["arr"] = 12.0 * frame["mrr"].fillna(0.0)
    return ObservationSet(frame=frame, numeric=numeric, categorical=categorical,
                          catalog=catalog, mode="time", horizon_days=horizon_days, lead_days=lead_days,
                          data_end=end, dates=list(dates), gap_days=gap_days,
                          cadence=schedule.cadence if schedule else MONTHLY, schedule=schedule,
                          label_source="inactivity" if inactive_days is not None else "subscriptions",
                          accounts_observed=observed, accounts_total=total)


def inactivity_days() -> int:
    """Days without activity that mean churn when there is no billing data (``CSAI_INACTIVE_CHURN_DAYS``,
    the read model's setting)."""
    return int(read_model_settings().inactive_churn_days)


def build_flat_observations(con: duckdb.DuckDBPyConnection) -> ObservationSet:
    """One row per account, label from ``account_labels`` or a label column on ``accounts``."""
    source = flat_label_source(con)
    if source is None:
        raise UserError("No churn label found for flat training: add a 0/1 column such as 'churned'.")
    accounts = con.execute("SELECT account_id FROM accounts").df()
    accounts["account_id"] = accounts["account_id"].astype(str)
    if source == "account_labels":
        labels = con.execute("SELECT account_id, label FROM account_labels").df()
        exclude: tuple[str, ...] = ()
    else:
        labels = con.execute(f'SELECT account_id, "{source}" AS label FROM accounts').df()  # noqa: S608 - whitelisted
        exclude = (source,)
    labels["account_id"] = labels["account_id"].astype(str)
    labels["label"] = _to_binary(labels["label"])
    metrics = attribute_metrics(con, exclude_attributes=exclude)
    frame = metrics.frame.copy()
    frame = frame.merge(labels.rename(columns={"label": "label_churn"}), on="account_id", how="inner")
    frame = frame[frame["label_churn"].notna()].reset_index(drop=True)
    frame["label_churn"] = frame["label_churn"].astype(int)
    frame["label_expansion"] = 0
    frame["labelled"] = True
    frame["churn_date"] = pd.NaT
    frame["arr"] = flat_arr(frame)
    return ObservationSet(frame=frame, numeric=metrics.numeric, categorical=metrics.categorical,
                          catalog=metrics.catalog, mode="flat")


def flat_arr(frame: pd.DataFrame) -> np.ndarray:
    """ARR of flat-mode accounts from an ``arr`` (or 12 x ``mrr``) attribute column, else NaN."""
    cols = {c.lower(): c for c in frame.columns}
    if "arr" in cols:
        return pd.to_numeric(frame[cols["arr"]], errors="coerce").to_numpy(dtype=float)
    if "mrr" in cols:
        return 12 * pd.to_numeric(frame[cols["mrr"]], errors="coerce").to_numpy(dtype=float)
    return np.full(len(frame), np.nan)


def _to_binary(values: pd.Series) -> pd.Series:
    mapping = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "y": 1, "n": 0, "churned": 1,
               "retained": 0, "active": 0, "t": 1, "f": 0}

    def conv(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            return int(v)
        if isinstance(v, (int, float, np.integer, np.floating)):
            return 1 if float(v) > 0 else 0
        return mapping.get(str(v).strip().lower(), np.nan)

    out = values.map(conv)
    if out.isna().all():
        raise UserError("The churn label column has no 0/1 (or yes/no, true/false) values.")
    return out


# --------------------------------------------------------------------------- leakage check
@dataclass
class LeakageReport:
    """Outcome of :func:`check_leakage`: ``ok`` and the features that differed.

    ``unverifiable`` are the features read from the accounts snapshot (segment, csm, custom
    attributes): the truncated world keeps the exported value, so comparing them proves
    nothing - they are reported as "cannot be verified", never as passed.
    """

    ok: bool
    checked_dates: list[date]
    checked_rows: int
    leaking_features: dict[str, int]
    unverifiable: list[str] = field(default_factory=list)
    verified: int = 0

    def to_json(self) -> dict:
        return {"ok": self.ok, "checked_dates": [str(d) for d in self.checked_dates],
                "checked_rows": self.checked_rows, "verified_features": self.verified,
                "leaking_features": dict(self.leaking_features), "unverifiable": list(self.unverifiable)}

    def raise_if_leaking(self) -> None:
        if not self.ok:
            worst = ", ".join(f"{k} ({v} rows)" for k, v in sorted(self.leaking_features.items()))
            raise AssertionError(f"Feature leakage: these features read data at or after the observation date: {worst}")


def default_feature_fn(con: duckdb.DuckDBPyConnection, obs: pd.DataFrame) -> pd.DataFrame:
    return compute_metrics(con, obs).frame


def check_leakage(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, *, feature_fn=None, n_dates: int = 3,
                  n_accounts: int = 60, seed: int = 0) -> LeakageReport:
    """Prove that features only read data strictly before each observation date.

    For ``n_dates`` sampled observation dates and up to ``n_accounts`` accounts each, the
    features are recomputed on :func:`data.metrics.truncate_raw_tables` (everything at or
    after the date removed, or reset to "not yet happened") and compared with the features
    computed on the full data. ``feature_fn(con, obs) -> DataFrame`` defaults to the metric
    layer; pass another to check it (the test plants a leaking one).
    """
    if feature_fn is None:
        types = event_types(con)

        def feature_fn(c, o):
            return compute_metrics(c, o, types=types).frame

    rng = np.random.default_rng(seed)
    dates = sorted(pd.Series(rows["obs_date"]).dropna().unique())
    if not dates:
        return LeakageReport(True, [], 0, {})
    picks = sorted({dates[i] for i in np.linspace(0, len(dates) - 1, min(n_dates, len(dates))).round().astype(int)})
    leaking: dict[str, int] = {}
    checked = 0
    unverifiable: list[str] = []
    verified: set[str] = set()
    for d in picks:
        ids = rows.loc[rows["obs_date"] == d, "account_id"].astype(str).unique()
        if len(ids) > n_accounts:
            ids = rng.choice(ids, size=n_accounts, replace=False)
        obs = pd.DataFrame({"account_id": sorted(ids), "obs_date": d})
        full = feature_fn(con, obs)
        cut = truncate_raw_tables(con, d, list(obs["account_id"]))
        try:
            past = feature_fn(cut, obs)
        finally:
            cut.close()
        checked += len(obs)
        if not unverifiable:
            unverifiable = snapshot_columns(con, [c for c in full.columns if c not in ("account_id", "obs_date")])
        for col in full.columns:
            if col in ("account_id", "obs_date") or col in unverifiable:
                continue
            verified.add(col)
            a = full[col]
            b = past[col] if col in past.columns else pd.Series([np.nan] * len(past))
            diff = _differs(a.reset_index(drop=True), b.reset_index(drop=True))
            if diff:
                leaking[col] = leaking.get(col, 0) + diff
    return LeakageReport(ok=not leaking, checked_dates=[pd.Timestamp(d).date() for d in picks],
                         checked_rows=checked, leaking_features=leaking, unverifiable=unverifiable,
                         verified=len(verified))


def _differs(a: pd.Series, b: pd.Series) -> int:
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        x = a.to_numpy(dtype=float)
        y = b.to_numpy(dtype=float)
        same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=False)
        return int((~same).sum())
    x = a.astype("object").where(a.notna(), None)
    y = b.astype("object").where(b.notna(), None)
    return int(sum(1 for u, v in zip(x, y, strict=False) if u != v))


# --------------------------------------------------------------------------- label rates per date
@dataclass
class LabelRateReport:
    """Positive rate per observation date, and the dates whose rate is far from all the others'.

    A date is *refused* when its log-odds differ from the other dates' pooled rate by at least
    ``refuse_logit`` (an odds ratio of about 7) and the difference is beyond chance (|z| >=
    ``refuse_z``); it is *warned* about at ``warn_logit`` (odds ratio about 2.7) and |z| >=
    ``warn_z``. Seasonal swings stay well inside these; a window read past the data's end (94 %
    churn at one date) or a date whose ends were never recorded (0 %) does not.
    """

    label: str
    rates: list[dict]
    refused: list[dict]
    warned: list[dict]

    @property
    def warnings(self) -> list[str]:
        return [self._sentence(r) for r in self.warned]

    def refused_sentences(self) -> list[str]:
        return [self._sentence(r) for r in self.refused]

    def _sentence(self, r: dict) -> str:
        what = "churn" if self.label == "label_churn" else "expansion"
        return (f"the {what} rate at observation date {r['obs_date']} is {r['rate']:.1%} ({r['positives']:,} of "
                f"{r['rows']:,} rows) against {r['others_rate']:.1%} at the other dates")

    def raise_if_faulty(self) -> None:
        if self.refused:
            worst = "; ".join(self._sentence(r) for r in self.refused)
            raise UserError(f"Labelling fault: {worst}. One date far from all the others usually means the labels "
                            "are wrong there (billing periods ending at the data's end read as churn, or end dates "
                            "missing for that period); check the subscriptions' end dates around it. To train anyway "
                            "(a real one-off event), use --allow-label-outliers.")

    def to_json(self) -> dict:
        return {"rates": self.rates, "refused": [r["obs_date"] for r in self.refused],
                "warned": [r["obs_date"] for r in self.warned]}


def check_label_rates(frame: pd.DataFrame, label: str = "label_churn", *, refuse_logit: float = 2.0,
                      refuse_z: float = 5.0, warn_logit: float = 1.0, warn_z: float = 3.0) -> LabelRateReport:
    """Compare each labelled observation date's positive rate with the pooled rate of the other dates."""
    per = (frame.groupby("obs_date")[label].agg(["sum", "count"]).reset_index()
           .rename(columns={"sum": "positives", "count": "rows"}))
    total_pos, total = float(per["positives"].sum()), float(per["rows"].sum())
    rates, refused, warned = [], [], []
    for r in per.itertuples():
        k, n = float(r.positives), float(r.rows)
        rest_n = total - n
        row = {"obs_date": str(pd.Timestamp(r.obs_date).date()), "rows": int(n), "positives": int(k),
               "rate": k / n if n else float("nan")}
        if rest_n > 0 and n > 0:
            others = (total_pos - k) / rest_n
            p_d, p_o = (k + 0.5) / (n + 1), (total_pos - k + 0.5) / (rest_n + 1)
            dlogit = abs(np.log(p_d / (1 - p_d)) - np.log(p_o / (1 - p_o)))
            z = abs(k / n - others) / np.sqrt(max(p_o * (1 - p_o), 1e-12) * (1 / n + 1 / rest_n))
            row.update(others_rate=others, log_odds_diff=float(dlogit), z=float(z))
            if dlogit >= refuse_logit and z >= refuse_z:
                refused.append(row)
            elif dlogit >= warn_logit and z >= warn_z:
                warned.append(row)
        rates.append(row)
    return LabelRateReport(label=label, rates=rates, refused=refused, warned=warned)
