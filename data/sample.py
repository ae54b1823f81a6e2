"""The sample company: a seeded, realistic SaaS customer base with known churn causes.

:func:`generate_sample` simulates ``n_accounts`` accounts over the 24 calendar months
ending at ``end`` (the last month is partial and stops at ``end``), month by month
with numpy arrays over all accounts at once. Each month:

1. every account active at the start of the month gets a **true monthly churn hazard**
   computed from what its own data showed before that month: usage decline (last 30
   days vs the previous 60), low seat utilisation, support pain (high/urgent tickets of
   the last two months), failed payments (last three months), champion loss, low NPS,
   the renewal month of annual contracts, the CSM's quality, the segment, and noise;
2. churn is drawn from that hazard (the subscription ends on the account's billing day);
3. seats expand (high utilisation, good health) or contract (low utilisation, high
   risk), add-ons are bought, annual renewals may carry a price uplift;
4. tickets, invoices and NPS responses of the month are drawn from the latent state;
5. the latent state moves on: usage declines start and stop, support and billing
   troubles come and go, champions leave and are (sometimes) replaced.

Daily event aggregates (one row per account, day and event type) are generated after
the simulation from the monthly usage path, in chunks of accounts. In the last 12
months, accounts that meet a playbook trigger are enrolled (20 % random holdout) and
treated accounts get the planted effect of :data:`PLAYBOOK_EFFECTS` on their hazard
for 90 days, so the effect is recoverable from treated vs holdout churn.

The same ``seed`` and ``end`` always give identical tables (one
``numpy.random.default_rng(seed)`` stream, fixed chunk size, sorted output).
:func:`build_sample` writes the same tables straight into a warehouse, the events chunk
by chunk, so 100,000 accounts (tens of millions of event rows) never sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from data.schema import CANONICAL_TABLES, EXTRA_TABLES

CSM_NAMES: list[str] = [
    "Maya Patel",
    "Jonas Weber",
    "Sofia Alvarez",
    "Liam O'Connor",
    "Aiko Tanaka",
    "Noah Johnson",
    "Amara Okafor",
    "Lucas Martin",
]
# Share of the accounts each CSM owns, and the factor their book's hazard is multiplied by.
CSM_BOOK_SHARE = np.array([0.19, 0.16, 0.15, 0.13, 0.11, 0.10, 0.09, 0.07])
CSM_QUALITY = np.array([0.85, 0.95, 1.10, 0.90, 1.25, 1.00, 1.15, 1.35])

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
SEGMENT_SHARE = [0.6, 0.3, 0.1]
SEGMENT_ARR_MEDIAN = np.array([3_000.0, 30_000.0, 200_000.0])
PLANS = ["Starter", "Growth", "Business", "Enterprise"]
PLAN_BY_SEGMENT = np.array([[0.60, 0.35, 0.05, 0.0], [0.0, 0.40, 0.50, 0.10], [0.0, 0.0, 0.25, 0.75]])
PRICE_PER_SEAT = np.array([25.0, 42.0, 65.0, 105.0])
INDUSTRIES = ["Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Education",
              "Media", "Logistics", "Professional Services", "Real Estate", "Non-profit", "Telecom"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
REGION_SHARE = [0.45, 0.30, 0.15, 0.10]
LEAD_SOURCES = ["Inbound", "Outbound", "Partner", "Event"]
LEAD_SOURCE_SHARE = [0.40, 0.30, 0.15, 0.15]
MAIN_PRODUCT = "Platform"
ADDON_PRODUCT = "Insights Add-on"
EVENT_TYPES = ["login", "core_action", "report_run", "integration_sync", "user_invite", "data_export"]
TICKET_PRIORITIES = ["low", "normal", "high", "urgent"]
CONTACT_ROLES = ["champion", "admin", "executive", "user"]

CAUSES: list[tuple[str, str]] = [
    ("usage_decline", "Usage"),
    ("low_seat_utilisation", "Adoption"),
    ("support_pain", "Support"),
    ("payment_failures", "Billing"),
    ("champion_loss", "Relationship"),
    ("low_nps", "Sentiment"),
    ("renewal_month", "Contract"),
]

# playbook -> (hazard multiplier, expansion multiplier, description) for treated accounts, 90 days.
PLAYBOOK_EFFECTS: dict[str, tuple[float, float, str]] = {
    "usage_drop": (0.6, 1.0, "Re-engagement after a usage drop: churn hazard x0.6 for 90 days"),
    "payment_failure": (0.5, 1.0, "Billing follow-up after a failed payment: churn hazard x0.5 for 90 days"),
    "champion_loss": (0.7, 1.0, "New-champion outreach after champion loss: churn hazard x0.7 for 90 days"),
    "support_pain": (0.75, 1.0, "Escalation review for support pain: churn hazard x0.75 for 90 days"),
    "low_nps": (1.0, 1.0, "Detractor follow-up after low NPS: no effect on churn (planted null)"),
    "renewal_90d": (0.7, 1.0, "Renewal preparation 90 days ahead: churn hazard x0.7 for 90 days"),
    "expansion": (1.0, 1.8, "Expansion offer to healthy high-utilisation accounts: expansion probability x1.8"),
}
PLAYBOOK_KEYS = list(PLAYBOOK_EFFECTS)
HOLDOUT_SHARE = 0.2

N_MONTHS = 24
DAILY_ACTIVE_SHARE = 0.7  # of the monthly active users (seats x utilisation), on a weekday
EVENT_CHUNK = 2000  # accounts per event-generation chunk; fixed so output never depends on memory

# True hazard: monthly base per segment and log-multipliers per planted cause.
BASE_HAZARD = np.array([0.0076, 0.0038, 0.0027])
W_USAGE_DECLINE = 3.0  # x e^(3 * fractional drop of the last 30 days vs the previous 60)
W_LOW_UTILISATION = 1.6  # x e^(1.6 * how far utilisation is below 35 %, 0..1)
W_SUPPORT = 0.35  # per weighted high/urgent ticket of the last two months (capped at 4)
W_PAYMENT = 0.75  # per failed invoice of the last three months (capped at 3)
W_CHAMPION_MISSING = 0.95
W_CHAMPION_NEW = 0.35
W_LOW_NPS = 0.22  # per point below 7 of the latest NPS answer of the last six months
RENEWAL_MONTH_FACTOR = 7.5  # annual contracts: hazard in the renewal month ...
MID_TERM_FACTOR = 0.12  # ... and in the other months
HAZARD_CAP = 0.9

_PREFIXES = ["Acme", "Apex", "Atlas", "Aurora", "Beacon", "Blue", "Bright", "Cedar", "Cobalt", "Crescent",
             "Delta", "Ember", "Evergreen", "Falcon", "Granite", "Harbor", "Horizon", "Iron", "Juniper",
             "Keystone", "Lumen", "Maple", "Meridian", "Nimbus", "North", "Oak", "Onyx", "Orbit", "Pioneer",
             "Polaris", "Quantum", "Red", "Ridge", "River", "Sable", "Sierra", "Silver", "Summit", "Sun",
             "Terra", "Tidal", "Union", "Vertex", "Vista", "Willow", "Zenith", "Copper", "Pine", "Stone",
             "Swift", "Amber", "Arrow", "Birch", "Coral", "Echo", "Golden", "Indigo", "Jade", "Lunar", "Nova"]
_NOUNS = ["Bay", "Bridge", "Brook", "Canyon", "Cloud", "Coast", "Creek", "Crest", "Field", "Forge", "Gate",
          "Grove", "Hill", "Lake", "Leaf", "Light", "Line", "Mark", "Mill", "Path", "Peak", "Point", "Port",
          "Rock", "Shore", "Sky", "Spring", "Star", "Stream", "Valley", "Wave", "Wind", "Wood", "Yard",
          "Bird", "Fox", "Hawk", "Wolf", "Bear", "Pine", "Harbor", "Mesa", "Ridge", "Field", "Sail", "Key",
          "Loop", "Ward", "Vale", "Moor"]
_NOUNS = list(dict.fromkeys(_NOUNS))
_SUFFIXES = ["Labs", "Systems", "Group", "Partners", "Health", "Logistics", "Foods", "Capital", "Media",
             "Software", "Technologies", "Industries", "Solutions", "Holdings", "Consulting", "Studio",
             "Networks", "Energy", "Retail", "Robotics", "Bank", "Insurance", "Learning", "Motors", "Supply"]
_FIRST_NAMES = ["Anna", "Ben", "Carla", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jack", "Kira",
                "Leo", "Mia", "Nils", "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
                "Will", "Xenia", "Yusuf", "Zoe", "Arjun", "Bea", "Chen", "Dara", "Emil", "Fatima", "Gabe",
                "Hana", "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nora", "Omar", "Priya", "Ravi", "Sara",
                "Tom", "Uma", "Victor", "Wen", "Yara", "Zane"]
_LAST_NAMES = ["Smith", "Garcia", "Müller", "Kim", "Nguyen", "Rossi", "Silva", "Brown", "Cohen", "Dubois",
               "Evans", "Fischer", "Gupta", "Hansen", "Ito", "Jensen", "Khan", "Lopez", "Moreau", "Novak",
               "Olsen", "Park", "Quinn", "Reyes", "Schmidt", "Taylor", "Ueda", "Varga", "Wang", "Young",
               "Zhang", "Ahmed", "Becker", "Costa", "Diaz", "Eriksen", "Fontaine", "Gomez", "Hughes", "Iyer"]
_NPS_COMMENTS = {
    "detractor": ["Too many bugs lately.", "Support takes forever to answer.", "Hard to get my team to use it.",
                  "Billing problems again.", "Not worth the price for us.", "Missing features we need.",
                  "Performance has been poor.", "We are evaluating alternatives."],
    "passive": ["Does the job.", "Fine, but reporting could be better.", "OK overall, some rough edges.",
                "Good product, onboarding was slow.", "Decent value.", "Works, integrations could improve."],
    "promoter": ["Love it, the team uses it daily.", "Great support and product.", "Saves us hours every week.",
                 "Best tool we have adopted this year.", "Excellent reporting.", "Highly recommend."],
}


# ----------------------------------------------------------------------------- dates
def _day(d) -> int:
    """Date-like -> days since 1970-01-01."""
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _month_start(month_abs: np.ndarray) -> np.ndarray:
    """Absolute month number (months since 1970-01) -> day number of its first day."""
    return np.asarray(month_abs, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_len(month_abs: np.ndarray) -> np.ndarray:
    return _month_start(np.asarray(month_abs) + 1) - _month_start(month_abs)


def _billing_day(month_abs: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """The account's billing day (its signup day of month, clipped to the month length)."""
    return _month_start(month_abs) + np.minimum(dom - 1, _month_len(month_abs) - 1)


def _to_datetime(days: np.ndarray) -> np.ndarray:
    """Day numbers -> datetime64[s]; negative sentinels (< 0) become NaT."""
    days = np.asarray(days, dtype=np.int64)
    out = (days * 86400).astype("datetime64[s]")
    out[days < 0] = np.datetime64("NaT")
    return out


# ----------------------------------------------------------------------------- public API
def generate_sample(n_accounts: int = 2000, seed: int = 42, end: date | None = None, *,
                    event_fraction: float = 1.0) -> dict[str, pd.DataFrame]:
    """Generate the sample company; one DataFrame per raw table (canonical columns first).

    History covers the 24 calendar months ending at ``end`` (default: today); nothing is
    dated after ``end``. VARCHAR columns are ``str`` (``category`` for the large events
    table), DATE and TIMESTAMP columns ``datetime64[s]``. Also returns ``sample_truth``
    (true monthly churn hazard per active account-month), ``sample_truth_causes``,
    ``sample_playbook_history`` and ``sample_truth_playbook_effects``.

    ``event_fraction`` (0 < f <= 1) keeps a seeded random share of the daily event rows,
    for benchmarks that need many accounts with fewer event rows; 1.0 (the default)
    keeps them all and leaves every table exactly as without it.
    """
    sim = _simulation(n_accounts, seed, end, event_fraction)
    sim.run()
    return dict(sim.build(stream_events=False))


def _simulation(n_accounts: int, seed: int, end: date | None, event_fraction: float) -> _Simulation:
    if n_accounts < 1:
        raise ValueError("n_accounts must be positive")
    if not 0 < event_fraction <= 1:
        raise ValueError("event_fraction must be in (0, 1]")
    end = date.today() if end is None else pd.Timestamp(end).date()
    return _Simulation(n_accounts, seed, end, event_fraction=event_fraction)


def write_sample(warehouse, tables: dict[str, pd.DataFrame], *, seed: int, end: date) -> None:
    """Replace the raw layer of ``warehouse`` with the sample tables (one new snapshot).

    Columns are cast to the types of :mod:`data.schema`; the extra ``sample_*`` tables
    and ``workspace_meta`` (demo, seed, end_date) are written in the same snapshot.
    """
    with warehouse.writer("raw", fresh=True) as con:
        for table, df in tables.items():
            _write_frames(con, table, [df])
        _write_meta(con, seed, end)


@dataclass
class SampleSummary:
    """What :func:`build_sample` wrote: rows per table and the CSM names of the accounts."""

    rows: dict[str, int]
    csms: list[str]


def build_sample(warehouse, n_accounts: int = 2000, seed: int = 42, end: date | None = None, *,
                 event_fraction: float = 1.0) -> SampleSummary:
    """Generate the sample company straight into the raw layer of ``warehouse`` (one new snapshot).

    Writes exactly what ``write_sample(generate_sample(...))`` writes, but each table is
    written and dropped as soon as it is built and the events go in chunk by chunk, so
    the process never holds the whole events table (tens of millions of rows at
    100,000 accounts). Same arguments as :func:`generate_sample`.
    """
    sim = _simulation(n_accounts, seed, end, event_fraction)
    sim.run()
    rows: dict[str, int] = {}
    csms: list[str] = []
    with warehouse.writer("raw", fresh=True) as con:
        for table, data in sim.build(stream_events=True):
            if table == "accounts":
                csms = data["csm"].dropna().unique().tolist()
            rows[table] = _write_frames(con, table, [data] if isinstance(data, pd.DataFrame) else data)
            del data
        _write_meta(con, seed, sim.end)
    return SampleSummary(rows, csms)


def _write_frames(con, table: str, frames: Iterable[pd.DataFrame]) -> int:
    """Write ``frames`` (one table, in order) as table ``table``, cast to the schema types; returns the row count."""
    types = {**CANONICAL_TABLES, **EXTRA_TABLES, **_SAMPLE_ONLY_TABLES}
    schema_cols = {c: t for c, t, _ in types.get(table, [])}
    view, rows, first, columns = f"_sample_{table}", 0, True, set()
    for df in frames:
        columns = set(df.columns)
        selects = []
        for col in df.columns:
            sql_type = schema_cols.get(col) or _duck_type(df[col])
            selects.append(f'CAST("{col}" AS {sql_type}) AS "{col}"')
        con.register(view, df)
        # identifiers come from our own schema constants and generated column names
        head = f'CREATE OR REPLACE TABLE "{table}" AS' if first else f'INSERT INTO "{table}"'
        con.execute(f'{head} SELECT {", ".join(selects)} FROM "{view}"')  # noqa: S608
        con.unregister(view)
        rows += len(df)
        first = False
    for col, _, nullable in types.get(table, []):
        if not nullable and col in columns:
            con.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{col}" SET NOT NULL')
    return rows


def _write_meta(con, seed: int, end: date) -> None:
    con.execute("DELETE FROM workspace_meta")
    con.executemany(
        "INSERT INTO workspace_meta VALUES (?, ?)",
        [("demo", "true"), ("seed", str(seed)), ("end_date", pd.Timestamp(end).date().isoformat())],
    )


_SAMPLE_ONLY_TABLES: dict[str, list[tuple[str, str, bool]]] = {
    "sample_playbook_history": [("account_id", "VARCHAR", False), ("playbook", "VARCHAR", False),
                                ("started_at", "DATE", False), ("holdout", "BOOLEAN", False)],
    "sample_truth_playbook_effects": [("playbook", "VARCHAR", False), ("hazard_multiplier", "DOUBLE", False),
                                      ("expansion_multiplier", "DOUBLE", False), ("description", "VARCHAR", False)],
}


def _duck_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "BIGINT"
    if pd.api.types.is_float_dtype(series):
        return "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "TIMESTAMP"
    return "VARCHAR"


# ----------------------------------------------------------------------------- simulation
class _Simulation:
    """Monthly simulation over arrays of account state; builds the tables at the end."""

    def __init__(self, n: int, seed: int, end: date, event_fraction: float = 1.0) -> None:
        self.n = n
        self.end = end
        self._account_index: pd.Index | None = None
        self.rng = np.random.default_rng(seed)
        self.event_fraction = event_fraction
        self.thin_rng = np.random.default_rng([seed, 1])  # separate stream: thinning never shifts self.rng
        self.end_day = _day(end)
        end_month = int(np.datetime64(end, "M").astype(np.int64))
        self.month_abs = np.arange(end_month - N_MONTHS + 1, end_month + 2)  # 25 boundaries
        self.ms = _month_start(self.month_abs)
        self.window_start = int(self.ms[0])
        self.n_days = self.end_day - self.window_start + 1
        self._accounts()

    # ------------------------------------------------------------------ accounts
    def _accounts(self) -> None:
        rng, n = self.rng, self.n
        n_stock = int(round(n * 0.42))
        stock_created = self.window_start - rng.integers(1, 3 * 365 + 1, n_stock)
        weights = 1.0 + 0.6 * np.arange(N_MONTHS) / (N_MONTHS - 1)
        new_month = rng.choice(N_MONTHS, n - n_stock, p=weights / weights.sum())
        mlen = np.diff(self.ms)
        span = mlen[new_month].copy()
        last = new_month == N_MONTHS - 1
        span[last] = np.minimum(span[last], self.end_day - self.ms[N_MONTHS - 1] + 1)
        new_created = self.ms[new_month] + (rng.random(n - n_stock) * span).astype(np.int64)
        created = np.sort(np.concatenate([stock_created, new_created]))
        self.created = created
        cdates = created.astype("datetime64[D]")
        self.signup_abs = cdates.astype("datetime64[M]").astype(np.int64)
        self.dom = (created - _month_start(self.signup_abs) + 1).astype(np.int64)

        self.segment = rng.choice(3, n, p=SEGMENT_SHARE)
        u = rng.random(n)
        cum = np.cumsum(PLAN_BY_SEGMENT, axis=1)[self.segment]
        self.plan = (u[:, None] > cum).sum(axis=1).clip(0, 3)
        self.industry = rng.integers(0, len(INDUSTRIES), n)
        self.region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
        self.csm = rng.choice(len(CSM_NAMES), n, p=CSM_BOOK_SHARE)
        arr = SEGMENT_ARR_MEDIAN[self.segment] * np.exp(rng.normal(0.0, 0.6, n))
        self.pps = PRICE_PER_SEAT[self.plan] * np.exp(rng.normal(0.0, 0.12, n))
        self.seats = np.maximum(1, np.round(arr / 12.0 / self.pps)).astype(np.int64)
        self.seats_initial, self.pps_initial = self.seats.copy(), self.pps.copy()
        self.employee_count = np.maximum(
            self.seats + 1, np.round(self.seats * np.exp(rng.normal(np.log(6.0), 0.6, n)))).astype(np.int64)
        self.lead_source = rng.choice(len(LEAD_SOURCES), n, p=LEAD_SOURCE_SHARE)
        p_annual = np.array([0.15, 0.5, 0.9])[self.segment]
        self.annual = rng.random(n) < p_annual
        p_addon = np.where(self.plan >= 2, 0.4, 0.1)
        self.has_addon = rng.random(n) < p_addon
        self.addon_start = np.where(self.has_addon, created, -1)
        self.addon_mrr = np.round(self.seats * self.pps * rng.uniform(0.12, 0.25, n), 2)
        util_mean = np.array([0.58, 0.52, 0.47])[self.segment]
        conc = 6.0
        self.util = rng.beta(util_mean * conc, (1 - util_mean) * conc)
        self.frailty = rng.normal(0.0, 0.3, n)
        self.trend = rng.normal(0.0, 0.015, n)
        self.sentiment = rng.normal(0.0, 1.3, n)
        # name and domain
        n_combo = len(_PREFIXES) * len(_NOUNS) * len(_SUFFIXES)
        pick = rng.permutation(max(n, n_combo))[:n]
        combo, rep = pick % n_combo, pick // n_combo
        p_i, rest = np.divmod(combo, len(_NOUNS) * len(_SUFFIXES))
        n_i, s_i = np.divmod(rest, len(_SUFFIXES))
        pre, noun, suf = np.array(_PREFIXES), np.array(_NOUNS), np.array(_SUFFIXES)
        base = np.char.add(np.char.add(np.char.add(pre[p_i], " "), np.char.add(noun[n_i], " ")), suf[s_i])
        repstr = np.where(rep > 0, np.char.add(" ", (rep + 1).astype(str)), "")
        self.name = np.char.add(base, repstr)
        self.domain = np.char.add(np.char.replace(np.char.lower(self.name), " ", "-"), ".com")
        width = max(6, len(str(n)))
        self.account_id = np.char.add("A", np.char.zfill(np.arange(1, n + 1).astype(str), width))

    # ------------------------------------------------------------------ main loop
    def run(self) -> None:
        rng, n, T = self.rng, self.n, N_MONTHS
        seg = self.segment
        self.churn_day = np.full(n, -1, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        self.logu = np.zeros((n, T + 4))  # boundaries -3..T, index = t + 3
        self.seats_m = np.zeros((n, T), dtype=np.float32)
        self.util_m = np.zeros((n, T), dtype=np.float32)
        decline_left = np.zeros(n, dtype=np.int64)
        decline_rate = np.zeros(n)
        pain_left = np.zeros(n, dtype=np.int64)
        trouble_left = np.zeros(n, dtype=np.int64)
        unhappy_left = np.zeros(n, dtype=np.int64)
        champ_present = np.ones(n, dtype=bool)
        champ_since = self.created.copy()  # day the current champion started
        champ_left_month = np.full(n, -99, dtype=np.int64)
        support_load = np.zeros((n, T))
        fails = np.zeros((n, T))
        nps_last = np.full(n, -1.0)
        nps_last_month = np.full(n, -99, dtype=np.int64)
        pb_haz = np.ones((n, T + 3))
        pb_exp = np.ones((n, T + 3))
        pb_last = np.full((len(PLAYBOOK_KEYS), n), -99, dtype=np.int64)
        csm_q = CSM_QUALITY[self.csm]
        ticket_rate = np.array([0.22, 0.6, 1.6])[seg]

        subs, tickets, invoices, nps, contacts_ev, truth, playbook = [], [], [], [], [], [], []
        contacts_ev.append(("champion_start", np.arange(n), self.created))

        for t in range(T):
            ms, me = int(self.ms[t]), int(self.ms[t + 1])
            mabs = int(self.month_abs[t])
            bd = _billing_day(np.full(n, mabs), self.dom)
            active = alive & (self.created < ms)
            months_since = mabs - self.signup_abs
            age_days = ms - self.created
            ramp = np.where(age_days >= 0, 0.15 + 0.85 * (1 - np.exp(-np.maximum(age_days, 0) / 20.0)), 0.15)

            # ---- what the data showed before this month
            u = np.exp(self.logu[:, t + 1: t + 4])  # boundaries t-2, t-1, t
            last30 = (u[:, 1] + u[:, 2]) / 2
            prev60 = (np.exp(self.logu[:, t]) + 2 * u[:, 0] + u[:, 1]) / 4
            decline = np.clip(1 - last30 / prev60, 0, 1)
            obs_util = np.clip(self.util * u[:, 2] * ramp, 0, 1)
            low_util = np.clip((0.35 - obs_util) / 0.35, 0, 1)
            load = np.minimum(support_load[:, max(t - 2, 0):t].sum(axis=1), 4.0)
            n_fail = np.minimum(fails[:, max(t - 3, 0):t].sum(axis=1), 3.0)
            champ_missing = ~champ_present
            champ_new = champ_present & (ms - champ_since < 91) & (champ_since > self.created)
            nps_recent = (nps_last >= 0) & (t - nps_last_month <= 6)
            nps_gap = np.where(nps_recent, np.maximum(0.0, 7.0 - nps_last), 0.0)
            renewal = self.annual & (months_since > 0) & (months_since % 12 == 0)
            contract = np.where(self.annual, np.where(renewal, RENEWAL_MONTH_FACTOR, MID_TERM_FACTOR), 1.0)
            log_h = (np.log(BASE_HAZARD[seg]) + np.log(csm_q) + self.frailty + rng.normal(0, 0.2, n)
                     + W_USAGE_DECLINE * decline + W_LOW_UTILISATION * low_util + W_SUPPORT * load
                     + W_PAYMENT * n_fail + W_CHAMPION_MISSING * champ_missing + W_CHAMPION_NEW * champ_new
                     + W_LOW_NPS * nps_gap + np.log(contract))
            hazard0 = np.minimum(np.exp(log_h), HAZARD_CAP)

            # ---- playbooks of the last 12 months (triggered at the start of the month)
            if t >= T - 12:
                triggers = {
                    "usage_drop": decline >= 0.25,
                    "payment_failure": fails[:, t - 1] >= 1,
                    "champion_loss": champ_missing & (champ_left_month == t - 1),
                    "support_pain": support_load[:, t - 1] + support_load[:, t - 2] >= 1.5,
                    "low_nps": (nps_last_month == t - 1) & (nps_last <= 6),
                    "renewal_90d": self.annual & (months_since + 2 > 0) & ((months_since + 2) % 12 == 0),
                    "expansion": (obs_util >= 0.75) & (hazard0 < 0.02) & (load < 1) & (n_fail == 0),
                }
                for k, key in enumerate(PLAYBOOK_KEYS):
                    idx = np.flatnonzero(active & triggers[key] & (t - pb_last[k] >= 3))
                    if idx.size == 0:
                        continue
                    pb_last[k, idx] = t
                    holdout = rng.random(idx.size) < HOLDOUT_SHARE
                    start = ms + rng.integers(0, 7, idx.size)
                    start = np.minimum(start, self.end_day)
                    playbook.append((idx, np.full(idx.size, k), start, holdout))
                    treated = idx[~holdout]
                    haz_mult, exp_mult, _ = PLAYBOOK_EFFECTS[key]
                    pb_haz[treated, t:t + 3] *= haz_mult
                    pb_exp[treated, t:t + 3] *= exp_mult
            hazard = np.clip(hazard0 * pb_haz[:, t], 1e-5, HAZARD_CAP)
            idx_active = np.flatnonzero(active)
            truth.append((idx_active, np.full(idx_active.size, ms), hazard[idx_active]))

            # ---- churn on the billing day of the month (unobserved when after `end`)
            churn = active & (rng.random(n) < hazard) & (bd <= self.end_day)
            self.churn_day[churn] = bd[churn]
            alive &= ~churn
            staying = active & ~churn & (bd <= self.end_day)

            # ---- seats, add-ons and prices change on the billing day
            r_exp = rng.random(n)
            p_exp = np.where((obs_util >= 0.7) & (hazard < 0.03) & (pain_left == 0), 0.10, 0.004) * pb_exp[:, t]
            expand = staying & (r_exp < p_exp)
            can_contract = ~self.annual | renewal
            p_con = np.where(obs_util < 0.4, 0.04, 0.004) + 1.5 * hazard
            contract_now = staying & ~expand & can_contract & (self.seats > 1) & (rng.random(n) < np.minimum(p_con, 0.5))
            old = self.seats.copy()
            grow = np.ceil(self.seats * rng.uniform(1.15, 1.6, n)).astype(np.int64)
            shrink = np.maximum(1, np.floor(self.seats * rng.uniform(0.55, 0.88, n))).astype(np.int64)
            self.seats = np.where(expand, grow, np.where(contract_now, shrink, self.seats))
            changed = self.seats != old
            self.util = np.where(changed, np.minimum(0.95, self.util * old / self.seats), self.util)
            uplift = staying & renewal & ~changed & (rng.random(n) < 0.4)
            self.pps = np.where(uplift, self.pps * rng.uniform(1.03, 1.08, n), self.pps)
            new_row = changed | uplift
            buy_addon = (staying & ~self.has_addon & (hazard < 0.02) & (obs_util > 0.5)
                         & (rng.random(n) < 0.006 * pb_exp[:, t]))
            self.has_addon |= buy_addon
            self.addon_start = np.where(buy_addon, bd, self.addon_start)
            self.addon_mrr = np.where(buy_addon, np.round(self.seats * self.pps * rng.uniform(0.12, 0.25, n), 2),
                                      self.addon_mrr)
            idx = np.flatnonzero(new_row)
            subs.append((idx, bd[idx], self.seats[idx].copy(), self.pps[idx].copy()))
            self.seats_m[:, t] = self.seats
            self.util_m[:, t] = self.util

            # ---- tickets, invoices and NPS of the month
            lo = np.maximum(self.created, ms)
            hi = np.minimum(np.where(self.churn_day >= 0, self.churn_day, me), min(me, self.end_day + 1))
            present = (alive | churn) & (hi > lo)
            frac = np.where(present, (hi - lo) / (me - ms), 0.0)
            pain = pain_left > 0
            trouble = trouble_left > 0
            count = rng.poisson(ticket_rate * (1 + 3.0 * pain) * frac)
            if count.sum():
                acc = np.repeat(np.arange(n), count)
                tickets.append(self._tickets(acc, lo[acc], hi[acc], pain[acc]))
                w = np.array([0.0, 0.15, 0.6, 1.0])[tickets[-1]["priority"]]
                support_load[:, t] = np.bincount(acc, weights=w, minlength=n)

            billed = (alive | churn) & (self.created <= bd) & ((self.churn_day < 0) | (bd < self.churn_day))
            billed &= (bd <= self.end_day) & (~self.annual | (months_since % 12 == 0))
            idx = np.flatnonzero(billed)
            if idx.size:
                months = np.where(self.annual[idx], 12, 1)
                addon = np.where(self.has_addon[idx] & (self.addon_start[idx] <= bd[idx]), self.addon_mrr[idx], 0.0)
                amount = (np.round(self.seats[idx] * self.pps[idx], 2) + addon) * months
                p_fail = np.where(trouble[idx], 0.55, 0.008)
                p_late = np.where(trouble[idx], 0.3, 0.05)
                r = rng.random(idx.size)
                failed = r < p_fail
                late = ~failed & (r < p_fail + p_late)
                due = bd[idx] + np.where(self.annual[idx], 30, 14)
                pay_delay = np.where(late, (due - bd[idx]) + rng.integers(1, 35, idx.size),
                                     rng.integers(0, 1 + (due - bd[idx]), idx.size))
                paid = np.where(failed, -1, bd[idx] + pay_delay)
                invoices.append((idx, bd[idx], due, paid, amount, failed))
                fails[:, t] = np.bincount(idx, weights=failed.astype(float), minlength=n)

            surveyed = present & (np.arange(n) % 3 == t % 3) & (age_days >= 60) & (rng.random(n) < 0.45)
            idx = np.flatnonzero(surveyed)
            if idx.size:
                latent = (8.2 + self.sentiment[idx] - 3.0 * (unhappy_left[idx] > 0) - 1.5 * pain[idx]
                          - 1.2 * trouble[idx] - 4.0 * decline[idx] - 1.0 * champ_missing[idx])
                score = np.clip(np.round(latent + rng.normal(0, 1.2, idx.size)), 0, 10).astype(np.int64)
                when = lo[idx] + (rng.random(idx.size) * (hi[idx] - lo[idx])).astype(np.int64)
                nps.append((idx, when, score))
                nps_last[idx] = score
                nps_last_month[idx] = t

            # ---- latent state moves on
            live = alive & (self.created < me)
            onset = live & (decline_left == 0) & (rng.random(n) < 0.03 * csm_q)
            decline_left = np.where(onset, rng.integers(2, 6, n), decline_left)
            decline_rate = np.where(onset, rng.uniform(0.12, 0.32, n), decline_rate)
            in_decline = decline_left > 0
            x = self.logu[:, t + 3]
            step = np.where(in_decline, -decline_rate, -0.12 * (x - self.trend * (t + 1)) + rng.normal(0, 0.07, n))
            self.logu[:, t + 4] = x + step
            decline_left = np.maximum(decline_left - 1, 0)
            pain_left = np.where(live & (pain_left == 0) & (rng.random(n) < 0.035), rng.integers(1, 4, n),
                                 np.maximum(pain_left - 1, 0))
            p_trouble = np.array([0.03, 0.02, 0.012])[seg]
            trouble_left = np.where(live & (trouble_left == 0) & (rng.random(n) < p_trouble), rng.integers(1, 4, n),
                                    np.maximum(trouble_left - 1, 0))
            unhappy_left = np.where(live & (unhappy_left == 0) & (rng.random(n) < 0.025), rng.integers(2, 5, n),
                                    np.maximum(unhappy_left - 1, 0))
            last_day = min(me, self.end_day + 1)
            first_day = np.maximum(lo, champ_since + 1)
            leaves = live & champ_present & (first_day < last_day) & (rng.random(n) < 0.018)
            leave_day = first_day + (rng.random(n) * (last_day - first_day)).astype(np.int64)
            idx = np.flatnonzero(leaves)
            contacts_ev.append(("champion_end", idx, leave_day[idx]))
            champ_present &= ~leaves
            champ_left_month[leaves] = t
            replace = live & ~champ_present & ~leaves & (rng.random(n) < 0.3) & (t + 1 < T)
            idx = np.flatnonzero(replace)
            if idx.size:
                start_day = np.minimum(int(self.ms[t + 1]) + rng.integers(0, 28, idx.size), self.end_day)
                keep = start_day < np.where(self.churn_day[idx] >= 0, self.churn_day[idx], self.end_day + 1)
                idx, start_day = idx[keep], start_day[keep]
                contacts_ev.append(("champion_start", idx, start_day))
                champ_present[idx] = True
                champ_since[idx] = start_day

        self._subs_changes, self._tickets_parts, self._invoices, self._nps = subs, tickets, invoices, nps
        self._contact_events, self._truth, self._playbook = contacts_ev, truth, playbook

    def _tickets(self, acc: np.ndarray, lo: np.ndarray, hi: np.ndarray, pain: np.ndarray) -> dict[str, np.ndarray]:
        rng, m = self.rng, acc.size
        day = lo + (rng.random(m) * (hi - lo)).astype(np.int64)
        secs = day * 86400 + rng.integers(7 * 3600, 19 * 3600, m)
        probs = np.where(pain[:, None], [0.08, 0.30, 0.35, 0.27], [0.35, 0.47, 0.13, 0.05])
        priority = (rng.random(m)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, 3)
        median_h = np.array([48.0, 24.0, 8.0, 4.0])[priority] * np.where(pain, 2.5, 1.0)
        hours = median_h * np.exp(rng.normal(0, 0.8, m))
        closed = secs + (hours * 3600).astype(np.int64)
        rated = rng.random(m) < 0.4
        csat = np.clip(np.round(4.5 - 1.8 * pain - 0.35 * np.log(hours / 24.0) + rng.normal(0, 0.7, m)), 1, 5)
        return {"acc": acc, "opened": secs, "closed": closed, "priority": priority, "csat": np.where(rated, csat, np.nan)}

    # ------------------------------------------------------------------ tables
    def build(self, *, stream_events: bool) -> Iterator[tuple[str, pd.DataFrame | Iterator[pd.DataFrame]]]:
        """(table name, DataFrame) in a fixed order; ``stream_events`` gives the events as chunk frames.

        The order is part of the random stream (several tables draw from ``self.rng``),
        so consume each item, events chunks included, before asking for the next.
        """
        yield "accounts", self._accounts_table()
        yield "subscriptions", self._subscriptions_table()
        if stream_events:
            yield "events", (self._events_frame(a, self._event_times(d), k, q, accounts=(lo, hi))
                             for lo, hi, a, d, k, q in self._event_chunks())
        else:
            yield "events", self._events_table()
        yield "tickets", self._tickets_table()
        yield "nps", self._nps_table()
        yield "invoices", self._invoices_table()
        yield "contacts", self._contacts_table()
        yield from self._truth_tables().items()

    def _truth_tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        idx = np.concatenate([p[0] for p in self._truth])
        month = np.concatenate([p[1] for p in self._truth])
        hazard = np.concatenate([p[2] for p in self._truth])
        order = np.lexsort((month, idx))
        out["sample_truth"] = pd.DataFrame({
            "account_id": pd.array(self.account_id[idx[order]], dtype="str"),
            "month": _to_datetime(month[order]),
            "hazard": hazard[order],
        })
        out["sample_truth_causes"] = pd.DataFrame({
            "cause": pd.array([c for c, _ in CAUSES], dtype="str"),
            "metric_group": pd.array([g for _, g in CAUSES], dtype="str"),
        })
        out["sample_playbook_history"] = self._playbook_table()
        out["sample_truth_playbook_effects"] = pd.DataFrame({
            "playbook": pd.array(PLAYBOOK_KEYS, dtype="str"),
            "hazard_multiplier": [PLAYBOOK_EFFECTS[k][0] for k in PLAYBOOK_KEYS],
            "expansion_multiplier": [PLAYBOOK_EFFECTS[k][1] for k in PLAYBOOK_KEYS],
            "description": pd.array([PLAYBOOK_EFFECTS[k][2] for k in PLAYBOOK_KEYS], dtype="str"),
        })
        return out

    def _ids(self, idx: np.ndarray) -> pd.array:
        return pd.array(self.account_id[idx], dtype="str")

    def _accounts_table(self) -> pd.DataFrame:
        s = _labels
        return pd.DataFrame({
            "account_id": pd.array(self.account_id, dtype="str"),
            "name": pd.array(self.name, dtype="str"),
            "segment": s(SEGMENTS, self.segment),
            "industry": s(INDUSTRIES, self.industry),
            "region": s(REGIONS, self.region),
            "plan": s(PLANS, self.plan),
            "csm": s(CSM_NAMES, self.csm),
            "created_at": _to_datetime(self.created),
            "employee_count": self.employee_count,
            "lead_source": s(LEAD_SOURCES, self.lead_source),
        })

    def _subscriptions_table(self) -> pd.DataFrame:
        n = self.n
        parts = [(np.arange(n), self.created, self.seats_initial, self.pps_initial)] + self._subs_changes
        acc = np.concatenate([p[0] for p in parts])
        start = np.concatenate([p[1] for p in parts])
        seats = np.concatenate([p[2] for p in parts])
        pps = np.concatenate([p[3] for p in parts])
        order = np.lexsort((start, acc))
        acc, start, seats, pps = acc[order], start[order], seats[order], pps[order]
        nxt_same = np.append(acc[1:] == acc[:-1], False)
        end = np.where(nxt_same, np.append(start[1:], -1), self.churn_day[acc])
        main = pd.DataFrame({"acc": acc, "product": 0, "start": start, "end": end, "mrr": np.round(seats * pps, 2),
                             "seats": seats})
        a = np.flatnonzero(self.has_addon)
        addon = pd.DataFrame({"acc": a, "product": 1, "start": self.addon_start[a], "end": self.churn_day[a],
                              "mrr": self.addon_mrr[a], "seats": -1})
        df = pd.concat([main, addon], ignore_index=True).sort_values(["acc", "product", "start"], kind="stable")
        acc = df["acc"].to_numpy()
        end = df["end"].to_numpy()
        annual = self.annual[acc]
        ref = np.where(end >= 0, end - 1, self.end_day)
        renewal = self._next_anniversary(acc, ref)
        seats = df["seats"].to_numpy()
        return pd.DataFrame({
            "account_id": self._ids(acc),
            "product": pd.array(np.array([MAIN_PRODUCT, ADDON_PRODUCT])[df["product"].to_numpy()], dtype="str"),
            "start_date": _to_datetime(df["start"].to_numpy()),
            "end_date": _to_datetime(end),
            "mrr": df["mrr"].to_numpy(dtype=float),
            "seats": _nullable_int(seats),
            "billing_period": pd.array(np.where(annual, "annual", "monthly"), dtype="str"),
            "renewal_date": _to_datetime(np.where(annual, renewal, -1)),
        })

    def _next_anniversary(self, acc: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """First contract anniversary strictly after day ``ref`` for each account in ``acc``."""
        signup_abs, dom = self.signup_abs[acc], self.dom[acc]
        ref_abs = ref.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        k = np.maximum(1, -(-(ref_abs - signup_abs) // 12))
        day = _billing_day(signup_abs + 12 * k, dom)
        k = np.where(day <= ref, k + 1, k)
        return _billing_day(signup_abs + 12 * k, dom)

    def _tickets_table(self) -> pd.DataFrame:
        parts = self._tickets_parts
        cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.array([], dtype=np.int64)
                for k in ("acc", "opened", "closed", "priority", "csat")}
        order = np.lexsort((cols["opened"], cols["acc"]))
        cols = {k: v[order] for k, v in cols.items()}
        end_secs = (self.end_day + 1) * 86400
        closed = cols["closed"].astype("datetime64[s]")
        still_open = cols["closed"] >= end_secs
        closed[still_open] = np.datetime64("NaT")
        m = order.size
        width = max(7, len(str(m)))
        return pd.DataFrame({
            "ticket_id": pd.array(np.char.add("T", np.char.zfill(np.arange(1, m + 1).astype(str), width)), dtype="str"),
            "account_id": self._ids(cols["acc"].astype(np.int64)),
            "opened_at": cols["opened"].astype("datetime64[s]"),
            "closed_at": closed,
            "priority": pd.array(np.array(TICKET_PRIORITIES)[cols["priority"].astype(np.int64)], dtype="str"),
            "csat": np.where(still_open, np.nan, cols["csat"].astype(float)),
        })

    def _nps_table(self) -> pd.DataFrame:
        acc = np.concatenate([p[0] for p in self._nps])
        day = np.concatenate([p[1] for p in self._nps])
        score = np.concatenate([p[2] for p in self._nps])
        order = np.lexsort((day, acc))
        acc, day, score = acc[order], day[order], score[order]
        rng = self.rng
        secs = day * 86400 + rng.integers(8 * 3600, 20 * 3600, acc.size)
        band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
        comment = np.full(acc.size, None, dtype=object)
        has = rng.random(acc.size) < 0.55
        pick = rng.random(acc.size)
        for b, key in enumerate(("detractor", "passive", "promoter")):
            texts = np.array(_NPS_COMMENTS[key], dtype=object)
            sel = has & (band == b)
            comment[sel] = texts[(pick[sel] * len(texts)).astype(np.int64)]
        return pd.DataFrame({
            "account_id": self._ids(acc),
            "responded_at": secs.astype("datetime64[s]"),
            "score": score.astype(np.int32),
            "comment": pd.array(comment, dtype="str"),
        })

    def _invoices_table(self) -> pd.DataFrame:
        cat = [np.concatenate([p[i] for p in self._invoices]) for i in range(6)]
        acc, issued, due, paid, amount, failed = cat
        order = np.lexsort((issued, acc))
        acc, issued, due, paid, amount, failed = (a[order] for a in (acc, issued, due, paid, amount, failed))
        paid_known = (paid >= 0) & (paid <= self.end_day)
        status = np.where(failed, "failed", np.where(
            paid_known, np.where(paid > due, "late", "paid"), np.where(due < self.end_day, "late", "open")))
        m = acc.size
        width = max(7, len(str(m)))
        return pd.DataFrame({
            "invoice_id": pd.array(np.char.add("INV", np.char.zfill(np.arange(1, m + 1).astype(str), width)),
                                   dtype="str"),
            "account_id": self._ids(acc),
            "issued_at": _to_datetime(issued),
            "due_at": _to_datetime(due),
            "paid_at": _to_datetime(np.where(paid_known, paid, -1)),
            "amount": np.round(amount, 2),
            "status": pd.array(status, dtype="str"),
        })

    def _contacts_table(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        seg = self.segment
        # the first champion is the first "champion_start" event; others are replacements
        starts = [(a, d) for kind, a, d in self._contact_events if kind == "champion_start"]
        ends = [(a, d) for kind, a, d in self._contact_events if kind == "champion_end"]
        s_acc = np.concatenate([a for a, _ in starts])
        s_day = np.concatenate([d for _, d in starts])
        e_acc = np.concatenate([a for a, _ in ends]) if ends else np.array([], dtype=np.int64)
        e_day = np.concatenate([d for _, d in ends]) if ends else np.array([], dtype=np.int64)
        # champions start and end in alternation per account: pair k-th start with k-th end
        so = np.lexsort((s_day, s_acc))
        eo = np.lexsort((e_day, e_acc))
        s_acc, s_day, e_acc, e_day = s_acc[so], s_day[so], e_acc[eo], e_day[eo]
        s_rank = _rank_within(s_acc)
        e_rank = _rank_within(e_acc)
        to = np.full(s_acc.size, -1, dtype=np.int64)
        key_s = s_acc * 1000 + s_rank
        key_e = e_acc * 1000 + e_rank
        pos = np.searchsorted(key_s, key_e)
        to[pos] = e_day
        champ_acc, champ_from, champ_to = s_acc, s_day, to
        # the others: admin, executives, users, from signup on
        n_exec = np.where(seg == 0, (rng.random(n) < 0.3).astype(np.int64), np.where(seg == 1, 1, rng.integers(1, 3, n)))
        n_user = np.array([1, 2, 3])[seg] + rng.integers(0, np.array([2, 3, 6])[seg])
        other_acc = np.concatenate([np.arange(n), np.repeat(np.arange(n), n_exec), np.repeat(np.arange(n), n_user)])
        other_role = np.concatenate([np.full(n, 1), np.full(n_exec.sum(), 2), np.full(n_user.sum(), 3)])
        other_from = self.created[other_acc] + np.where(other_role == 3, rng.integers(0, 30, other_acc.size), 0)
        other_from = np.minimum(other_from, self.end_day)
        acc = np.concatenate([champ_acc, other_acc])
        role = np.concatenate([np.zeros(champ_acc.size, dtype=np.int64), other_role])
        active_from = np.concatenate([champ_from, other_from])
        active_to = np.concatenate([champ_to, np.full(other_acc.size, -1)])
        order = np.lexsort((role, active_from, acc))
        acc, role, active_from, active_to = acc[order], role[order], active_from[order], active_to[order]
        m = acc.size
        first = np.array(_FIRST_NAMES)[rng.integers(0, len(_FIRST_NAMES), m)]
        last = np.array(_LAST_NAMES)[rng.integers(0, len(_LAST_NAMES), m)]
        local = np.char.lower(np.char.add(np.char.add(first, "."), last))
        local = np.char.add(local, np.where(_rank_within(acc) % 7 == 6, (np.arange(m) % 90 + 10).astype(str), ""))
        email = np.char.add(np.char.add(local, "@"), self.domain[acc])
        width = max(7, len(str(m)))
        return pd.DataFrame({
            "contact_id": pd.array(np.char.add("C", np.char.zfill(np.arange(1, m + 1).astype(str), width)),
                                   dtype="str"),
            "account_id": self._ids(acc),
            "email": pd.array(email, dtype="str"),
            "role": pd.array(np.array(CONTACT_ROLES)[role], dtype="str"),
            "active_from": _to_datetime(active_from),
            "active_to": _to_datetime(active_to),
        })

    def _playbook_table(self) -> pd.DataFrame:
        if not self._playbook:
            parts = [np.array([], dtype=np.int64)] * 3 + [np.array([], dtype=bool)]
        else:
            parts = [np.concatenate([p[i] for p in self._playbook]) for i in range(4)]
        acc, key, start, holdout = parts
        order = np.lexsort((key, start, acc))
        return pd.DataFrame({
            "account_id": self._ids(acc[order]),
            "playbook": pd.array(np.array(PLAYBOOK_KEYS)[key[order]], dtype="str"),
            "started_at": _to_datetime(start[order]),
            "holdout": holdout[order].astype(bool),
        })

    # ------------------------------------------------------------------ events
    def _events_table(self) -> pd.DataFrame:
        """Daily aggregates per (account, day, event type), generated in chunks of accounts."""
        parts = [chunk[2:] for chunk in self._event_chunks()]
        # fill the final columns part by part so only one chunk exists twice in memory
        m = sum(p[0].size for p in parts)
        acc = np.empty(m, dtype=np.int32)
        event_time = np.empty(m, dtype="datetime64[s]")
        event_type = np.empty(m, dtype=np.int8)
        quantity = np.empty(m, dtype=np.float64)
        pos = 0
        parts.reverse()
        while parts:
            a, d, k, qty = parts.pop()
            sl = slice(pos, pos + a.size)
            acc[sl], event_type[sl], quantity[sl] = a, k, qty
            event_time[sl] = self._event_times(d)
            pos += a.size
        return self._events_frame(acc, event_time, event_type, quantity)

    def _event_times(self, day_index: np.ndarray) -> np.ndarray:
        return ((day_index.astype(np.int64) + self.window_start) * 86400).astype("datetime64[s]")

    def _events_frame(self, acc: np.ndarray, event_time: np.ndarray, event_type: np.ndarray,
                      quantity: np.ndarray, accounts: tuple[int, int] | None = None) -> pd.DataFrame:
        """The events table (or one chunk of it) from account codes, times, type codes and quantities.

        ``accounts`` = (lo, hi): the rows belong to accounts lo..hi-1 only, and the
        account_id categories are just those (a chunk then does not carry every id).
        """
        m = acc.size
        if accounts is None:
            if self._account_index is None:
                self._account_index = pd.Index(self.account_id, dtype="str")
            ids = pd.Categorical.from_codes(acc, categories=self._account_index)
        else:
            lo, hi = accounts
            ids = pd.Categorical.from_codes(acc - lo, categories=pd.Index(self.account_id[lo:hi], dtype="str"))
        return pd.DataFrame({
            "account_id": ids,
            "event_time": event_time,
            "event_type": pd.Categorical.from_codes(event_type, categories=pd.Index(EVENT_TYPES, dtype="str")),
            "quantity": quantity.astype(np.float64, copy=False),
            "user_id": pd.Categorical.from_codes(np.full(m, -1, dtype=np.int8),
                                                 categories=pd.Index(["-"], dtype="str")),
        }, copy=False)

    def _event_chunks(self) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """(lo, hi, account code, day index, event type code, quantity) of the non-zero cells, per chunk of
        accounts lo..hi-1.

        Draws from ``self.rng`` in a fixed order (per-account rates first, then chunk by
        chunk), so the tables are the same whether the chunks are collected or streamed.
        """
        rng, n, D = self.rng, self.n, self.n_days
        day_abs = self.window_start + np.arange(D)
        month_idx = np.searchsorted(self.ms, day_abs, side="right") - 1
        frac = (day_abs - self.ms[month_idx]) / (self.ms[month_idx + 1] - self.ms[month_idx])
        dates = day_abs.astype("datetime64[D]")
        weekday = (day_abs + 3) % 7  # 0 = Monday
        wk = np.where(weekday == 5, 0.07, np.where(weekday == 6, 0.05, 1.0))
        md = (dates - dates.astype("datetime64[Y]")).astype(np.int64)  # day of year, 0-based
        holiday = (md >= 357) | (md <= 0)  # around Christmas and New Year
        wk = np.where(holiday, wk * 0.35, wk)
        is_weekday = (weekday < 5).astype(float)
        core_rate = np.exp(rng.normal(np.log(5.0), 0.4, n))
        report_rate = np.exp(rng.normal(np.log(0.05), 0.5, n))
        export_rate = np.exp(rng.normal(np.log(0.008), 0.6, n))
        has_integration = rng.random(n) < np.array([0.1, 0.4, 0.8])[self.segment]
        sync_rate = np.where(has_integration, np.exp(rng.normal(np.log(6.0), 0.5, n)), 0.0)
        start_idx = np.maximum(self.created - self.window_start, 0)
        stop_idx = np.where(self.churn_day >= 0, self.churn_day, self.end_day + 1) - self.window_start
        for lo in range(0, n, EVENT_CHUNK):
            hi = min(n, lo + EVENT_CHUNK)
            sl = slice(lo, hi)
            c = hi - lo
            logu = self.logu[sl, 3:]
            u = np.exp(logu[:, month_idx] * (1 - frac) + logu[:, month_idx + 1] * frac)
            age = (day_abs[None, :] - self.created[sl, None]).astype(float)
            ramp = 0.15 + 0.85 * (1 - np.exp(-np.maximum(age, 0) / 20.0))
            active = (np.arange(D)[None, :] >= start_idx[sl, None]) & (np.arange(D)[None, :] < stop_idx[sl, None])
            seats = self.seats_m[sl][:, month_idx].astype(float)
            util = self.util_m[sl][:, month_idx].astype(float)
            noise = np.exp(rng.normal(0, 0.25, (c, D)))
            lam = DAILY_ACTIVE_SHARE * seats * util * u * ramp * wk * noise * active
            q = np.empty((c, D, len(EVENT_TYPES)), dtype=np.float64)
            dau = np.minimum(rng.poisson(lam), seats)
            q[:, :, 0] = dau
            q[:, :, 1] = rng.poisson(dau * core_rate[sl, None] * np.exp(rng.normal(0, 0.3, (c, D))))
            q[:, :, 2] = rng.poisson(dau * report_rate[sl, None])
            q[:, :, 3] = rng.poisson(sync_rate[sl, None] * np.minimum(u, 1.0) * (age >= 14) * is_weekday * active)
            invite = seats * (0.05 * np.exp(-np.maximum(age, 0) / 12.0) + 0.001) * is_weekday * active
            q[:, :, 4] = rng.poisson(invite)
            q[:, :, 5] = rng.poisson(dau * export_rate[sl, None])
            a, d, k = np.nonzero(q)
            if self.event_fraction < 1:
                keep = self.thin_rng.random(a.size) < self.event_fraction
                a, d, k = a[keep], d[keep], k[keep]
            chunk = (lo, hi, (a + lo).astype(np.int32), d.astype(np.int16), k.astype(np.int8),
                     q[a, d, k].astype(np.float32))
            del q, u, age, ramp, active, seats, util, noise, lam, dau, invite, a, d, k
            yield chunk


def _labels(values: list[str], codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """Codes -> string array of the labels ``values``."""
    return pd.array(np.array(values)[codes], dtype="str")


def _nullable_int(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Int32 array with negative sentinels as NA."""
    out = pd.array(np.where(values >= 0, values, 0), dtype="Int32")
    out[values < 0] = pd.NA
    return out


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values (input sorted by group)."""
    if groups.size == 0:
        return groups.copy()
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run = np.repeat(starts, np.diff(np.r_[starts, groups.size]))
    return np.arange(groups.size) - run
