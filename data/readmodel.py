"""The read model: the business terms every page, rule, CLI command and model reads, defined once.

The definitions live in SQL files under ``data/sql`` (dbt's idea: staging, then marts):

* ``as_of.sql`` -- **the workspace's as-of date**: the end of the data. Stored at import
  (``workspace_meta.end_date``, see :func:`store_data_end`) from activity (events, tickets,
  invoices issued, NPS responses) capped at the import date; future-dated rows are counted
  and never move it. A user's override wins: ``CSAI_AS_OF`` or ``cli.py import --as-of``.
  The wall clock is used only when the workspace has no dated data at all.
* ``account_state.sql`` -- **account state**: active or churned (from subscriptions when there
  are any, from the label in flat mode, from inactivity otherwise), ARR or no revenue data,
  renewal, tenure, CSM or "unassigned", and a display name that falls back to the id.
* ``latest_scores.sql`` -- **latest and previous scores** with their top drivers.
* ``eligibility.sql`` -- what **playbook rules** test per account.

This module only binds parameters, applies the viewer's scope and stages the results-layer
tables (older or hand-made ``scores`` tables may lack columns). No Streamlit here.

One module over 400 lines on purpose: the read model is the one home of the business terms (the point of it);
each reader is a few lines over its SQL file in data/sql.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from data.access import SYSTEM, Viewer
from data.settings import read_model_settings
from data.sqlfiles import load_sql

SHAPES = ("billing", "flat", "activity")
_PARAM = re.compile(r"\$([a-z_0-9]+)\b")

SCORE_FIELDS = {
    "scored_at": "TIMESTAMP", "obs_date": "DATE", "account_id": "VARCHAR", "model_id": "VARCHAR",
    "target": "VARCHAR", "p_churn": "DOUBLE", "risk_band": "VARCHAR", "p_expansion": "DOUBLE",
    "expansion_model_id": "VARCHAR", "arr": "DOUBLE", "expected_arr_loss": "DOUBLE", "health_score": "DOUBLE",
}
DRIVER_FIELDS = {
    "scored_at": "TIMESTAMP", "account_id": "VARCHAR", "target": "VARCHAR", "feature": "VARCHAR",
    "label": "VARCHAR", "group": "VARCHAR", "value": "VARCHAR", "shap": "DOUBLE", "sentence": "VARCHAR",
    "rank": "INTEGER",
}
LATEST_SCORE_COLUMNS = ["scored_at", "obs_date", "account_id", "model_id", "target", "p_churn", "risk_band",
                        "p_expansion", "expansion_model_id", "arr", "expected_arr_loss", "health_score",
                        "p_churn_prev", "p_churn_change", "previous_scored_at", "top_driver", "top_driver_group",
                        "top_risk_group"]
TOP_DRIVERS_FOR_RULES = 3


def queries(name: str) -> dict[str, str]:
    """The ``-- name: <query>`` sections of ``data/sql/<name>.sql`` (the whole file as ``name`` if it has none)."""
    text = load_sql(name)
    parts = re.split(r"^-- name: (\w+)\s*$", text, flags=re.M)
    if len(parts) == 1:
        return {name: text.strip().rstrip(";")}
    return {parts[i]: parts[i + 1].strip().rstrip(";") for i in range(1, len(parts), 2)}


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute ``sql`` with the named parameters it uses (DuckDB refuses unused ones)."""
    used = set(_PARAM.findall(sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


FETCH_VECTORS = 50  # rows per converted chunk, in DuckDB vectors of 2,048 rows (about 100,000 rows)


def fetch_frame(result: duckdb.DuckDBPyConnection, vectors: int = FETCH_VECTORS) -> pd.DataFrame:
    """The rows of an executed query as one frame, converted ``vectors`` DuckDB vectors at a time.

    The same frame as ``result.df()`` (DuckDB's types decide every column's dtype, chunk by chunk), without
    holding DuckDB's whole materialised result and its pandas copy at once: for the whole book's account state
    at 1,000,000 accounts, a peak about 0.6 GB lower (the README's one-machine ceiling: the app server under load).
    """
    parts = [result.fetch_df_chunk(vectors)]
    while len(parts[-1]):
        parts.append(result.fetch_df_chunk(vectors))
    if len(parts) <= 2:  # one chunk and the empty end (or only the empty first one, with its columns)
        return parts[0]
    parts.pop()
    frame = pd.concat(parts, ignore_index=True)
    # A text column that is blank in a whole chunk comes back as ``object`` there and as text elsewhere; the
    # concatenation is then ``object``, where ``.df()`` reads the whole column as text. Other types agree.
    for column in frame.columns[frame.dtypes == np.dtype(object)]:
        typed = {p[column].dtype for p in parts if p[column].notna().any()}
        if len(typed) == 1 and (dtype := typed.pop()) != np.dtype(object):
            frame[column] = frame[column].astype(dtype)
    return frame


def _has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_views() WHERE view_name = ? UNION ALL "
                            "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name, name]).fetchall())


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [name]).fetchall()}


# --------------------------------------------------------------------------- as-of date
def _parse_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def computed_data_end(con: duckdb.DuckDBPyConnection, cap: date) -> tuple[date | None, str | None]:
    """(end of the data, basis) computed from activity capped at ``cap``: ``as_of.sql``'s ``data_end``."""
    rows = execute(con, queries("as_of")["data_end"], {"cap": cap}).fetchall()
    row = rows[0] if rows else None
    end = row[0] if row else None
    if end is not None and not isinstance(end, date):
        end = pd.Timestamp(end).date()
    return end, (row[1] if row else None)


def future_rows(con: duckdb.DuckDBPyConnection, cap: date) -> dict[str, int]:
    """Rows dated after ``cap`` per table (never move the as-of date)."""
    return {t: int(n) for t, n in execute(con, queries("as_of")["future_rows"], {"cap": cap}).fetchall()}


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The workspace's as-of date, or None when it has no dated data and nothing was stored.

    Order: ``CSAI_AS_OF``; the stored date (an override, else the end stored at import or by the
    sample generator); the end computed from activity, capped at today.
    """
    override = read_model_settings().as_of
    if override is not None:
        return override
    try:
        rows = con.execute(queries("as_of")["stored"]).fetchall()
        row = rows[0] if rows else None
    except duckdb.Error:
        row = None
    if row and _parse_date(row[0]) is not None:
        return _parse_date(row[0])
    return computed_data_end(con, date.today())[0]


def as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The date the workspace's data describes (:func:`data_end`); today only when there is no dated data."""
    return data_end(con) or date.today()


def store_data_end(con: duckdb.DuckDBPyConnection, cap: date, *, override: date | None = None,
                   schema: str = "") -> dict:
    """Write the end of the data (and the rows dated after ``cap``) into ``workspace_meta`` at import.

    ``con`` reads the freshly written tables (an import's writer makes the new raw snapshot its default
    database first); ``schema`` qualifies the meta table if needed. With no dated rows at all, the import
    date is the end.
    ``override`` (``--as-of``) is stored as ``as_of_override``. Returns what was stored.
    """
    end, basis = computed_data_end(con, cap)
    future = future_rows(con, cap)
    if end is None:
        end, basis = cap, "import date"
    meta = f"{schema}workspace_meta"
    values = {"end_date": end.isoformat(), "end_date_basis": basis, "future_rows": json.dumps(future),
              "imported_on": cap.isoformat()}
    if override is not None:
        values["as_of_override"] = override.isoformat()
    for key, value in values.items():
        con.execute(f"DELETE FROM {meta} WHERE key = ?", [key])  # noqa: S608 - our fixed table name
        con.execute(f"INSERT INTO {meta} VALUES (?, ?)", [key, value])  # noqa: S608
    return {"end_date": end, "basis": basis, "future_rows": future, "override": override}


def stored_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``workspace_meta`` as a dict (empty when the table is missing)."""
    try:
        return dict(con.execute("SELECT key, value FROM workspace_meta").fetchall())
    except duckdb.Error:
        return {}


# --------------------------------------------------------------------------- account state
def data_shape(con: duckdb.DuckDBPyConnection) -> str:
    """'billing' (subscriptions exist), 'flat' (account labels exist) or 'activity' (neither)."""
    row = con.execute(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM subscriptions) THEN 'billing' "
        "WHEN EXISTS (SELECT 1 FROM account_labels) THEN 'flat' ELSE 'activity' END").fetchall()
    return row[0][0]


def _scope(viewer: Viewer, alias: str = "a") -> tuple[str, dict]:
    """The viewer's scope predicate with named parameters (the marts bind named parameters)."""
    sql, params = viewer.scope_sql(alias)
    named = {}
    for i, value in enumerate(params):
        sql = sql.replace("?", f"$scope_{i}", 1)
        named[f"scope_{i}"] = value
    return sql, named


NO_EVENTS = "(SELECT CAST(NULL AS VARCHAR) AS account_id, CAST(NULL AS TIMESTAMP) AS event_time WHERE FALSE)"


# The per-account sources of account_state.sql's CTEs: with ``for_accounts``, each reads only the listed
# accounts' rows (the workspace-wide ``shape`` test keeps reading every row).
_PER_ACCOUNT_SOURCES = ("FROM subscriptions s, params p", "FROM subscriptions GROUP BY account_id",
                        "FROM stg_events e, params p", "FROM account_labels GROUP BY account_id")


def account_state_sql(con: duckdb.DuckDBPyConnection, viewer: Viewer = SYSTEM,
                      for_accounts: bool = False) -> tuple[str, dict]:
    """``account_state.sql`` limited to the viewer's book, and its scope parameters (add ``as_of``,
    ``inactive_days``). Its ``stg_events`` read the events only in the activity shape, the one that
    needs them (an event log of millions of rows is not scanned for every page otherwise).

    ``for_accounts``: only the accounts in the ``$account_ids`` parameter (a list), read as such in every
    CTE, so one account's state does not aggregate every account's subscriptions (DuckDB materialises
    the CTEs that are read twice, so a filter on the result is not pushed into them).
    """
    scope, params = _scope(viewer)
    events = "events" if data_shape(con) == "activity" else NO_EVENTS
    sql = queries("account_state")["account_state"]
    if for_accounts:
        for source in _PER_ACCOUNT_SOURCES:
            table, rest = source[len("FROM "):].split(" ", 1)
            filtered = f"FROM (SELECT * FROM {table} WHERE account_id IN (SELECT unnest($account_ids::VARCHAR[]))) {rest}"  # noqa: S608 - our table names
            if sql.count(source) != 1:
                raise AssertionError(f"account_state.sql no longer reads {source!r} once")
            sql = sql.replace(source, filtered)
        scope = f"{scope} AND a.account_id IN (SELECT unnest($account_ids::VARCHAR[]))"
    sql = re.sub(r"\bstg_events\b", events, sql)
    return f"{sql} AND {scope}", params


def state_params(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> dict:
    """The parameters every mart binds: the as-of date and the inactivity days."""
    return {"as_of": as_of or as_of_date(con), "inactive_days": read_model_settings().inactive_churn_days}


def account_state(con: duckdb.DuckDBPyConnection, viewer: Viewer = SYSTEM, account_ids: list[str] | None = None,
                  as_of: date | None = None) -> pd.DataFrame:
    """One row per account the viewer may see (columns: see ``account_state.sql``), largest ARR first."""
    sql, params = account_state_sql(con, viewer, for_accounts=account_ids is not None)
    params.update(state_params(con, as_of))
    if account_ids is not None:
        params["account_ids"] = [str(a) for a in account_ids]
    sql += " ORDER BY arr DESC NULLS LAST, a.account_id"
    return fetch_frame(execute(con, sql, params))


def renewing_within(frame: pd.DataFrame, as_of, days: int) -> pd.Series:
    """Rows of an account-state frame whose contract renews within ``days`` of ``as_of`` (the one
    definition of "renewals in N days": active annual contracts; monthly plans renew every month)."""
    renew = pd.to_datetime(frame["contract_renewal_date"])
    start = pd.Timestamp(as_of)
    return (frame["status"] == "active") & (renew >= start) & (renew <= start + timedelta(days=days))


# --------------------------------------------------------------------------- scores
def _staged(con: duckdb.DuckDBPyConnection, table: str, fields: dict[str, str]) -> str:
    """A subquery with every field of ``table`` typed (missing columns NULL; no rows without the table)."""
    if not _has_relation(con, table):
        cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in fields.items())
        return f"(SELECT {cols} WHERE FALSE)"
    have = _columns(con, table)
    cols = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' if c in have else f'CAST(NULL AS {t}) AS "{c}"'
                     for c, t in fields.items())
    return f'(SELECT {cols} FROM "{table}")'  # noqa: S608 - fixed names checked against the catalog


def _score_sql(con: duckdb.DuckDBPyConnection, query: str) -> str:
    sql = queries("latest_scores")[query].replace("$rule_model_id", f"'{RULE_MODEL_ID}'")  # a constant of ours
    sql = re.sub(r"\bstg_scores\b", lambda _m: _staged(con, "scores", SCORE_FIELDS), sql)
    return re.sub(r"\bstg_score_drivers\b", lambda _m: _staged(con, "score_drivers", DRIVER_FIELDS), sql)


def has_scores(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a ``scores`` table holds at least one run."""
    return _has_relation(con, "scores") and con.execute("SELECT count(*) FROM scores").fetchall()[0][0] > 0


def latest_scores_sql(con: duckdb.DuckDBPyConnection) -> str:
    """``latest_scores.sql``'s ``latest_scores`` query, staged for this connection (use as a subquery)."""
    return _score_sql(con, "latest_scores")


def latest_scores(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None,
                  columns: list[str] | None = None) -> pd.DataFrame:
    """The latest run's score per account (``columns``, by default :data:`LATEST_SCORE_COLUMNS`, in that order);
    empty before the first run. ``account_id`` is always read; only the asked-for columns are converted."""
    wanted = columns or LATEST_SCORE_COLUMNS
    unknown = [c for c in wanted if c not in LATEST_SCORE_COLUMNS]
    if unknown:
        raise ValueError(f"latest_scores has no column {unknown[0]!r}")
    read = wanted if "account_id" in wanted else ["account_id", *wanted]
    listed = ", ".join(f'"{c}"' for c in read)  # names checked against LATEST_SCORE_COLUMNS above
    df = fetch_frame(con.execute(f"SELECT {listed} FROM ({latest_scores_sql(con)})"))  # noqa: S608
    if account_ids is not None:
        df = df[df["account_id"].isin(list(account_ids))].reset_index(drop=True)
    return df[wanted]


def top_drivers(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None, n: int = 5) -> pd.DataFrame:
    """The latest run's first ``n`` churn drivers per account, risk-raising first."""
    df = fetch_frame(execute(con, _score_sql(con, "top_drivers"), {"n": int(n)}))
    if account_ids is not None:
        df = df[df["account_id"].isin(set(account_ids))]
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- eligibility
def eligibility(con: duckdb.DuckDBPyConnection, account_ids: list[str] | None = None,
                as_of: date | None = None) -> pd.DataFrame:
    """What playbook rules test, one row per account (columns: see ``eligibility.sql``) plus ``as_of``."""
    state, params = account_state_sql(con, SYSTEM)
    params.update(state_params(con, as_of))
    params["n"] = TOP_DRIVERS_FOR_RULES
    drivers = _score_sql(con, "top_drivers")
    groups = 'list(DISTINCT "group" ORDER BY "group") AS groups'
    risk_groups = f'SELECT account_id, {groups} FROM ({drivers}) WHERE shap > 0 AND "group" IS NOT NULL GROUP BY 1'  # noqa: S608
    sql = " ".join([f"WITH account_state AS ({state}), latest_scores AS ({latest_scores_sql(con)}),",
                    f"risk_groups AS ({risk_groups})", queries("eligibility")["eligibility"]])
    df = fetch_frame(execute(con, sql, params))
    if account_ids is not None:
        df = df[df["account_id"].isin(set(account_ids))].reset_index(drop=True)
    df["top_driver_groups"] = [list(g) if g is not None else [] for g in df["top_driver_groups"]]
    df["as_of"] = params["as_of"]
    return df


# --------------------------------------------------------------------------- what the data supports
DEFAULT_HORIZON_DAYS = 90  # models/training.TrainConfig's default horizon
SHORT_HORIZON_DAYS = 30


@dataclass(frozen=True)
class TrainingOutlook:
    """Whether a model can be trained on the workspace, by the trainer's own rule (computed by
    :func:`models.outlook.training_outlook`; the data layer only carries it): ``horizon_days`` is the
    longest horizon (90 or 30 days) the history supports (None: flat, no horizon), ``note`` the sentence
    a person reads, ``next_steps`` the CLI commands that lead to scores."""

    can_train: bool
    note: str
    next_steps: list[str]
    horizon_days: int | None = None


@dataclass(frozen=True)
class DataSupport:
    """What a workspace's data supports: shown on the Data page and printed by ``cli.py import``.

    ``targets``: what a model can predict (churn; expansion only with billing data). ``pages``: the
    pages and what each shows for this data. ``history_days``: first activity to the as-of date.
    ``next_steps``: the CLI commands (or buttons) that lead to a working product; ``horizon_days``: the
    longest horizon (90 or 30 days) the history supports.
    """

    shape: str
    accounts: int
    active_accounts: int
    as_of: date | None
    as_of_basis: str
    history_start: date | None
    history_days: int
    future_rows: dict[str, int]
    targets: list[str]
    pages: dict[str, str]
    can_train: bool
    train_note: str
    next_steps: list[str]
    horizon_days: int | None = None  # the horizon to train with (None: flat, no horizon)

    @property
    def history_months(self) -> float:
        return round(self.history_days / 30.4375, 1)

    def to_json(self) -> dict:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["history_start"] = self.history_start.isoformat() if self.history_start else None
        out["history_months"] = self.history_months
        return out

    def to_text(self) -> str:
        shape = {"billing": "accounts with subscriptions (billing data)",
                 "flat": "one row per account with a churn label (flat table)",
                 "activity": "accounts and activity without billing data"}[self.shape]
        lines = [f"Your data: {self.accounts:,} accounts ({self.active_accounts:,} active), {shape}."]
        if self.as_of:
            lines.append(f"As of {self.as_of:%d %b %Y} ({self.as_of_basis}).")
        if self.history_days:
            unit = "month" if self.history_months == 1 else "months"
            lines.append(f"History: {self.history_months:g} {unit} ({self.history_start:%d %b %Y} to the as-of date).")
        if self.future_rows:
            lines.append("Future-dated rows (ignored for the as-of date): "
                         + ", ".join(f"{t} {n:,}" for t, n in self.future_rows.items()) + ".")
        lines.append("Targets: " + ", ".join(self.targets) + ".")
        lines.append("Pages:")
        lines += [f"  - {page}: {what}" for page, what in self.pages.items()]
        lines.append(self.train_note)
        lines.append("Next: " + "; then ".join(self.next_steps) + ".")
        return "\n".join(lines)


def data_support(con: duckdb.DuckDBPyConnection, outlook: TrainingOutlook) -> DataSupport:
    """Summarise what the workspace's data supports (see :class:`DataSupport`); ``outlook`` is the
    trainer's verdict on it (:func:`models.outlook.data_support` passes it: one rule for both)."""
    shape = data_shape(con)
    as_of = data_end(con)
    meta = stored_meta(con)
    override = read_model_settings().as_of
    if override is not None:
        basis = "CSAI_AS_OF"
    elif meta.get("as_of_override"):
        basis = "set with --as-of"
    elif meta.get("end_date_basis"):
        basis = {"activity": "the last activity in the data", "subscriptions": "the last subscription date",
                 "import date": "the import date: the data has no dates"}.get(meta["end_date_basis"],
                                                                            meta["end_date_basis"])
    elif meta.get("demo"):
        basis = "the sample company's end date"
    else:
        basis = "the last activity in the data"
    state = account_state(con, SYSTEM, as_of=as_of or date.today()) if as_of else account_state(con, SYSTEM)
    first = con.execute(
        "SELECT least((SELECT min(CAST(event_time AS DATE)) FROM events), (SELECT min(start_date) FROM subscriptions),"
        " (SELECT min(CAST(opened_at AS DATE)) FROM tickets), (SELECT min(issued_at) FROM invoices))").fetchall()[0][0]
    history_days = max(0, (as_of - first).days) if (first and as_of) else 0
    future = json.loads(meta.get("future_rows") or "{}")
    targets = {"billing": ["churn (a subscription ends)", "expansion (MRR grows)"],
               "flat": ["churn (the label column)"],
               "activity": [f"churn (no activity for {read_model_settings().inactive_churn_days} days)"]}[shape]
    revenue = "ARR, expected ARR loss, renewals, MRR movements" if shape == "billing" else \
        "account counts (no revenue data, so no ARR figures)"
    pages = {
        "Portfolio": f"{revenue}; risk mix once scored (by a model, or the rule health score until one is trained)",
        "Accounts": "every account, filter and search" + ("; renewals" if shape == "billing" else ""),
        "Account": "header, " + ("usage, tickets, billing timeline" if shape != "flat" else "attributes")
                   + "; drivers once scored",
        "Model lab": "train, backtest and compare models",
        "Playbooks": "rules and manual triggers once scored",
    }
    return DataSupport(shape=shape, accounts=len(state), active_accounts=int((state["status"] == "active").sum()),
                       as_of=as_of, as_of_basis=basis, history_start=first, history_days=history_days,
                       future_rows=future, targets=targets, pages=pages, can_train=outlook.can_train,
                       train_note=outlook.note, next_steps=list(outlook.next_steps), horizon_days=outlook.horizon_days)


# --------------------------------------------------------------------------- risk bands
HIGH_RISK_CAP = 0.5  # an account more likely to churn than not is always high risk


def risk_thresholds(base_rate: float) -> tuple[float, float]:
    """(medium, high) p(churn) thresholds for calibrated probabilities, from the training base rate.

    Medium starts at the base rate (riskier than the average account); high at three times it (at
    least 5 points above), and never above 50 %: with a 30 % base rate an 84 % probability is high.
    """
    base = float(base_rate)
    high = min(max(3.0 * base, base + 0.05), HIGH_RISK_CAP)
    medium = base if base < high else high / 2
    return medium, high


RULE_MODEL_ID = "rule-health"  # the model id stamped on scores made by the rule health score (no model)
RULE_SCORE_NAME = "Rule health score"
RULE_BAND_HEALTH = (70.0, 50.0)  # health below 70 of 100: medium risk; below 50: high risk


def is_rule_score(model_id) -> bool:
    """True when a score (or a run) came from the rule health score, not from a trained model."""
    return str(model_id) == RULE_MODEL_ID


def rule_risk_band(health):
    """The band of each rule health score (0-100, higher is healthier; array in, array out): high below
    50, medium below 70, low otherwise. The rule score is a scorecard, not a probability, so its bands
    are its own thresholds (:data:`RULE_BAND_HEALTH`), not the calibrated ones."""
    medium, high = RULE_BAND_HEALTH
    h = np.asarray(health, dtype=float)
    return np.where(h < high, "high", np.where(h < medium, "medium", "low"))


def rule_bands_text() -> str:
    """The rule health score's bands in words (pages and the CLI explain them the same way)."""
    medium, high = RULE_BAND_HEALTH
    return (f"{RULE_SCORE_NAME}: a weighted scorecard of usage, adoption, support, billing, relationship and "
            f"sentiment rules, 0-100 (higher is healthier), not a probability. High risk below {high:.0f}, "
            f"medium below {medium:.0f}, low from {medium:.0f}.")


def score_source(con: duckdb.DuckDBPyConnection) -> str | None:
    """The model id of the latest scoring run (:data:`RULE_MODEL_ID` for the rule health score), or None."""
    if not has_scores(con):
        return None
    rows = con.execute("SELECT model_id FROM scores ORDER BY scored_at DESC LIMIT 1").fetchall()
    return str(rows[0][0]) if rows else None


def risk_band(p, thresholds: tuple[float, float]):
    """The band ('low', 'medium', 'high') of each probability in ``p`` (array in, array out)."""
    medium, high = thresholds
    p = np.asarray(p, dtype=float)
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low"))
