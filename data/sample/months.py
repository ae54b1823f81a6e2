"""One month of the simulation, step by step (the steps of the :mod:`data.sample` docstring).

:class:`_MonthlyRun` is the state the monthly loop carries from month to month (latent
troubles, champions, recent tickets and failed invoices, playbook multipliers) and what each
month drew for the tables; :class:`_Month` is what the steps of one month share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from data.sample.company import (
    BASE_HAZARD,
    CSM_QUALITY,
    HAZARD_CAP,
    HOLDOUT_SHARE,
    MID_TERM_FACTOR,
    N_MONTHS,
    PLAYBOOK_EFFECTS,
    PLAYBOOK_KEYS,
    RENEWAL_MONTH_FACTOR,
    W_CHAMPION_MISSING,
    W_CHAMPION_NEW,
    W_LOW_NPS,
    W_LOW_UTILISATION,
    W_PAYMENT,
    W_SUPPORT,
    W_USAGE_DECLINE,
)
from data.sample.dates import _billing_day
from data.sample.simulation import _Simulation


def run_months(sim: _Simulation) -> _MonthlyRun:
    """Simulate the months of ``sim``; its ``history`` keeps what the tables are built from."""
    sim.history = _MonthlyRun.start(sim)
    for t in range(N_MONTHS):
        sim.history.month(t)
    return sim.history


@dataclass
class _Month:
    """What the steps of one month share: its bounds and what the data showed before it.

    :meth:`_MonthlyRun.hazard` fills the first fields; ``hazard``, ``churn`` and ``staying``
    come from :meth:`_MonthlyRun.churn`, ``lo`` (each account's first day in the month) from
    :meth:`_MonthlyRun.activity`.
    """

    t: int
    ms: int  # first day of the month
    me: int  # first day of the next month
    bd: np.ndarray  # billing day per account
    active: np.ndarray  # active at the start of the month
    months_since: np.ndarray  # months since signup
    age_days: np.ndarray
    decline: np.ndarray  # usage of the last 30 days vs the previous 60, as a fractional drop
    obs_util: np.ndarray  # seat utilisation the data showed
    load: np.ndarray  # weighted high/urgent tickets of the last two months (capped)
    n_fail: np.ndarray  # failed invoices of the last three months (capped)
    champ_missing: np.ndarray
    renewal: np.ndarray  # the renewal month of an annual contract
    hazard0: np.ndarray  # the true hazard before playbook effects
    hazard: np.ndarray | None = None
    churn: np.ndarray | None = None
    staying: np.ndarray | None = None
    lo: np.ndarray | None = None


@dataclass
class _MonthlyRun:
    """The state the monthly loop carries from month to month, one method per step.

    Latent troubles count down the months they have left (``*_left``); ``support_load`` and
    ``fails`` keep each month's tickets and failed invoices for the hazard of later months;
    ``pb_*`` are the playbook multipliers per account and month. The lists collect what
    each month drew, for the tables.
    """

    sim: _Simulation
    alive: np.ndarray
    decline_left: np.ndarray
    decline_rate: np.ndarray
    pain_left: np.ndarray  # support pain
    trouble_left: np.ndarray  # billing trouble
    unhappy_left: np.ndarray
    champ_present: np.ndarray
    champ_since: np.ndarray  # day the current champion started
    champ_left_month: np.ndarray
    support_load: np.ndarray
    fails: np.ndarray
    nps_last: np.ndarray
    nps_last_month: np.ndarray
    pb_haz: np.ndarray
    pb_exp: np.ndarray
    pb_last: np.ndarray  # month each playbook last enrolled each account
    csm_q: np.ndarray
    ticket_rate: np.ndarray
    subs: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    nps: list = field(default_factory=list)
    contact_events: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    playbook: list = field(default_factory=list)

    def release_month_state(self) -> None:
        """Let go of the state only the months read (the tables need just the drawn parts)."""
        for name in ("alive", "decline_left", "decline_rate", "pain_left", "trouble_left", "unhappy_left",
                     "champ_present", "champ_since", "champ_left_month", "support_load", "fails", "nps_last",
                     "nps_last_month", "pb_haz", "pb_exp", "pb_last", "csm_q", "ticket_rate"):
            setattr(self, name, None)

    @classmethod
    def start(cls, sim: _Simulation) -> _MonthlyRun:
        n, T = sim.n, N_MONTHS
        state = cls(
            sim=sim,
            alive=np.ones(n, dtype=bool),
            decline_left=np.zeros(n, dtype=np.int64),
            decline_rate=np.zeros(n),
            pain_left=np.zeros(n, dtype=np.int64),
            trouble_left=np.zeros(n, dtype=np.int64),
            unhappy_left=np.zeros(n, dtype=np.int64),
            champ_present=np.ones(n, dtype=bool),
            champ_since=sim.created.copy(),
            champ_left_month=np.full(n, -99, dtype=np.int64),
            support_load=np.zeros((n, T)),
            fails=np.zeros((n, T)),
            nps_last=np.full(n, -1.0),
            nps_last_month=np.full(n, -99, dtype=np.int64),
            pb_haz=np.ones((n, T + 3)),
            pb_exp=np.ones((n, T + 3)),
            pb_last=np.full((len(PLAYBOOK_KEYS), n), -99, dtype=np.int64),
            csm_q=CSM_QUALITY[sim.csm],
            ticket_rate=np.array([0.22, 0.6, 1.6])[sim.segment],
        )
        state.contact_events.append(("champion_start", np.arange(n), sim.created))
        return state

    def month(self, t: int) -> None:
        """One month, step by step (the order is part of the random stream)."""
        m = self.hazard(t)
        if t >= N_MONTHS - 12:
            self.enrol_playbooks(m)
        self.churn(m)
        self.change_contracts(m)
        self.activity(m)
        self.move_on(m)

    def hazard(self, t: int) -> _Month:
        """Step 1: every account's true churn hazard from what its own data showed before the month."""
        sim, rng, n = self.sim, self.sim.rng, self.sim.n
        ms, me = int(sim.ms[t]), int(sim.ms[t + 1])
        mabs = int(sim.month_abs[t])
        bd = _billing_day(np.full(n, mabs), sim.dom)
        active = self.alive & (sim.created < ms)
        months_since = mabs - sim.signup_abs
        age_days = ms - sim.created
        ramp = np.where(age_days >= 0, 0.15 + 0.85 * (1 - np.exp(-np.maximum(age_days, 0) / 20.0)), 0.15)
        u = np.exp(sim.logu[:, t + 1: t + 4])  # boundaries t-2, t-1, t
        last30 = (u[:, 1] + u[:, 2]) / 2
        prev60 = (np.exp(sim.logu[:, t]) + 2 * u[:, 0] + u[:, 1]) / 4
        decline = np.clip(1 - last30 / prev60, 0, 1)
        obs_util = np.clip(sim.util * u[:, 2] * ramp, 0, 1)
        low_util = np.clip((0.35 - obs_util) / 0.35, 0, 1)
        load = np.minimum(self.support_load[:, max(t - 2, 0):t].sum(axis=1), 4.0)
        n_fail = np.minimum(self.fails[:, max(t - 3, 0):t].sum(axis=1), 3.0)
        champ_missing = ~self.champ_present
        champ_new = self.champ_present & (ms - self.champ_since < 91) & (self.champ_since > sim.created)
        nps_recent = (self.nps_last >= 0) & (t - self.nps_last_month <= 6)
        nps_gap = np.where(nps_recent, np.maximum(0.0, 7.0 - self.nps_last), 0.0)
        renewal = sim.annual & (months_since > 0) & (months_since % 12 == 0)
        contract = np.where(sim.annual, np.where(renewal, RENEWAL_MONTH_FACTOR, MID_TERM_FACTOR), 1.0)
        log_h = (np.log(BASE_HAZARD[sim.segment]) + np.log(self.csm_q) + sim.frailty + rng.normal(0, 0.2, n)
                 + W_USAGE_DECLINE * decline + W_LOW_UTILISATION * low_util + W_SUPPORT * load
                 + W_PAYMENT * n_fail + W_CHAMPION_MISSING * champ_missing + W_CHAMPION_NEW * champ_new
                 + W_LOW_NPS * nps_gap + np.log(contract))
        return _Month(t=t, ms=ms, me=me, bd=bd, active=active, months_since=months_since, age_days=age_days,
                      decline=decline, obs_util=obs_util, load=load, n_fail=n_fail, champ_missing=champ_missing,
                      renewal=renewal, hazard0=np.minimum(np.exp(log_h), HAZARD_CAP))

    def enrol_playbooks(self, m: _Month) -> None:
        """The last 12 months: accounts meeting a playbook trigger at the start of the month are enrolled
        (a random holdout is not treated); treatment multiplies the hazard and expansion for 90 days."""
        sim, rng, t = self.sim, self.sim.rng, m.t
        triggers = {
            "usage_drop": m.decline >= 0.25,
            "payment_failure": self.fails[:, t - 1] >= 1,
            "champion_loss": m.champ_missing & (self.champ_left_month == t - 1),
            "support_pain": self.support_load[:, t - 1] + self.support_load[:, t - 2] >= 1.5,
            "low_nps": (self.nps_last_month == t - 1) & (self.nps_last <= 6),
            "renewal_90d": sim.annual & (m.months_since + 2 > 0) & ((m.months_since + 2) % 12 == 0),
            "expansion": (m.obs_util >= 0.75) & (m.hazard0 < 0.02) & (m.load < 1) & (m.n_fail == 0),
        }
        for k, key in enumerate(PLAYBOOK_KEYS):
            idx = np.flatnonzero(m.active & triggers[key] & (t - self.pb_last[k] >= 3))
            if idx.size == 0:
                continue
            self.pb_last[k, idx] = t
            holdout = rng.random(idx.size) < HOLDOUT_SHARE
            start = m.ms + rng.integers(0, 7, idx.size)
            start = np.minimum(start, sim.end_day)
            self.playbook.append((idx, np.full(idx.size, k), start, holdout))
            treated = idx[~holdout]
            haz_mult, exp_mult, _ = PLAYBOOK_EFFECTS[key]
            self.pb_haz[treated, t:t + 3] *= haz_mult
            self.pb_exp[treated, t:t + 3] *= exp_mult

    def churn(self, m: _Month) -> None:
        """Step 2: churn drawn from the hazard, on the billing day of the month (unobserved when after ``end``)."""
        sim = self.sim
        m.hazard = np.clip(m.hazard0 * self.pb_haz[:, m.t], 1e-5, HAZARD_CAP)
        idx_active = np.flatnonzero(m.active)
        self.truth.append((idx_active, np.full(idx_active.size, m.ms), m.hazard[idx_active]))
        m.churn = m.active & (sim.rng.random(sim.n) < m.hazard) & (m.bd <= sim.end_day)
        sim.churn_day[m.churn] = m.bd[m.churn]
        self.alive &= ~m.churn
        m.staying = m.active & ~m.churn & (m.bd <= sim.end_day)

    def change_contracts(self, m: _Month) -> None:
        """Step 3: on the billing day seats expand or contract, add-ons are bought, renewals may carry an uplift."""
        sim, rng, n, t = self.sim, self.sim.rng, self.sim.n, m.t
        staying, obs_util, hazard = m.staying, m.obs_util, m.hazard
        r_exp = rng.random(n)
        p_exp = np.where((obs_util >= 0.7) & (hazard < 0.03) & (self.pain_left == 0), 0.10, 0.004) * self.pb_exp[:, t]
        expand = staying & (r_exp < p_exp)
        can_contract = ~sim.annual | m.renewal
        p_con = np.where(obs_util < 0.4, 0.04, 0.004) + 1.5 * hazard
        contract_now = staying & ~expand & can_contract & (sim.seats > 1) & (rng.random(n) < np.minimum(p_con, 0.5))
        old = sim.seats.copy()
        grow = np.ceil(sim.seats * rng.uniform(1.15, 1.6, n)).astype(np.int64)
        shrink = np.maximum(1, np.floor(sim.seats * rng.uniform(0.55, 0.88, n))).astype(np.int64)
        sim.seats = np.where(expand, grow, np.where(contract_now, shrink, sim.seats))
        changed = sim.seats != old
        sim.util = np.where(changed, np.minimum(0.95, sim.util * old / sim.seats), sim.util)
        uplift = staying & m.renewal & ~changed & (rng.random(n) < 0.4)
        sim.pps = np.where(uplift, sim.pps * rng.uniform(1.03, 1.08, n), sim.pps)
        new_row = changed | uplift
        buy_addon = (staying & ~sim.has_addon & (hazard < 0.02) & (obs_util > 0.5)
                     & (rng.random(n) < 0.006 * self.pb_exp[:, t]))
        sim.has_addon |= buy_addon
        sim.addon_start = np.where(buy_addon, m.bd, sim.addon_start)
        sim.addon_mrr = np.where(buy_addon, np.round(sim.seats * sim.pps * rng.uniform(0.12, 0.25, n), 2),
                                 sim.addon_mrr)
        idx = np.flatnonzero(new_row)
        self.subs.append((idx, m.bd[idx], sim.seats[idx].copy(), sim.pps[idx].copy()))
        sim.seats_m[:, t] = sim.seats
        sim.util_m[:, t] = sim.util

    def activity(self, m: _Month) -> None:
        """Step 4: the month's tickets, invoices and NPS responses, drawn from the latent state."""
        sim, n = self.sim, self.sim.n
        m.lo = np.maximum(sim.created, m.ms)
        hi = np.minimum(np.where(sim.churn_day >= 0, sim.churn_day, m.me), min(m.me, sim.end_day + 1))
        present = (self.alive | m.churn) & (hi > m.lo)
        frac = np.where(present, (hi - m.lo) / (m.me - m.ms), 0.0)
        pain = self.pain_left > 0
        trouble = self.trouble_left > 0
        count = sim.rng.poisson(self.ticket_rate * (1 + 3.0 * pain) * frac)
        if count.sum():
            acc = np.repeat(np.arange(n), count)
            self.tickets.append(self._ticket_rows(acc, m.lo[acc], hi[acc], pain[acc]))
            w = np.array([0.0, 0.15, 0.6, 1.0])[self.tickets[-1]["priority"]]
            self.support_load[:, m.t] = np.bincount(acc, weights=w, minlength=n)
        self._invoice(m, trouble)
        self._survey(m, present, hi, pain, trouble)

    def _invoice(self, m: _Month, trouble: np.ndarray) -> None:
        """Invoices of the month: billing day, due day, payment (failed, late or on time)."""
        sim, rng, n = self.sim, self.sim.rng, self.sim.n
        bd = m.bd
        billed = (self.alive | m.churn) & (sim.created <= bd) & ((sim.churn_day < 0) | (bd < sim.churn_day))
        billed &= (bd <= sim.end_day) & (~sim.annual | (m.months_since % 12 == 0))
        idx = np.flatnonzero(billed)
        if not idx.size:
            return
        months = np.where(sim.annual[idx], 12, 1)
        addon = np.where(sim.has_addon[idx] & (sim.addon_start[idx] <= bd[idx]), sim.addon_mrr[idx], 0.0)
        amount = (np.round(sim.seats[idx] * sim.pps[idx], 2) + addon) * months
        p_fail = np.where(trouble[idx], 0.55, 0.008)
        p_late = np.where(trouble[idx], 0.3, 0.05)
        r = rng.random(idx.size)
        failed = r < p_fail
        late = ~failed & (r < p_fail + p_late)
        due = bd[idx] + np.where(sim.annual[idx], 30, 14)
        pay_delay = np.where(late, (due - bd[idx]) + rng.integers(1, 35, idx.size),
                             rng.integers(0, 1 + (due - bd[idx]), idx.size))
        paid = np.where(failed, -1, bd[idx] + pay_delay)
        self.invoices.append((idx, bd[idx], due, paid, amount, failed))
        self.fails[:, m.t] = np.bincount(idx, weights=failed.astype(float), minlength=n)

    def _survey(self, m: _Month, present: np.ndarray, hi: np.ndarray, pain: np.ndarray, trouble: np.ndarray) -> None:
        """NPS responses of the month: a third of the accounts is asked each month, about half answer."""
        sim, rng, n, t = self.sim, self.sim.rng, self.sim.n, m.t
        surveyed = present & (np.arange(n) % 3 == t % 3) & (m.age_days >= 60) & (rng.random(n) < 0.45)
        idx = np.flatnonzero(surveyed)
        if not idx.size:
            return
        latent = (8.2 + sim.sentiment[idx] - 3.0 * (self.unhappy_left[idx] > 0) - 1.5 * pain[idx]
                  - 1.2 * trouble[idx] - 4.0 * m.decline[idx] - 1.0 * m.champ_missing[idx])
        score = np.clip(np.round(latent + rng.normal(0, 1.2, idx.size)), 0, 10).astype(np.int64)
        when = m.lo[idx] + (rng.random(idx.size) * (hi[idx] - m.lo[idx])).astype(np.int64)
        self.nps.append((idx, when, score))
        self.nps_last[idx] = score
        self.nps_last_month[idx] = t

    def move_on(self, m: _Month) -> None:
        """Step 5: usage declines start and stop, support and billing troubles come and go, champions
        leave and are (sometimes) replaced."""
        sim, rng, n, t = self.sim, self.sim.rng, self.sim.n, m.t
        live = self.alive & (sim.created < m.me)
        onset = live & (self.decline_left == 0) & (rng.random(n) < 0.03 * self.csm_q)
        self.decline_left = np.where(onset, rng.integers(2, 6, n), self.decline_left)
        self.decline_rate = np.where(onset, rng.uniform(0.12, 0.32, n), self.decline_rate)
        in_decline = self.decline_left > 0
        x = sim.logu[:, t + 3]
        step = np.where(in_decline, -self.decline_rate, -0.12 * (x - sim.trend * (t + 1)) + rng.normal(0, 0.07, n))
        sim.logu[:, t + 4] = x + step
        self.decline_left = np.maximum(self.decline_left - 1, 0)
        self.pain_left = np.where(live & (self.pain_left == 0) & (rng.random(n) < 0.035), rng.integers(1, 4, n),
                                  np.maximum(self.pain_left - 1, 0))
        p_trouble = np.array([0.03, 0.02, 0.012])[sim.segment]
        self.trouble_left = np.where(live & (self.trouble_left == 0) & (rng.random(n) < p_trouble),
                                     rng.integers(1, 4, n), np.maximum(self.trouble_left - 1, 0))
        self.unhappy_left = np.where(live & (self.unhappy_left == 0) & (rng.random(n) < 0.025),
                                     rng.integers(2, 5, n), np.maximum(self.unhappy_left - 1, 0))
        self._champions(m, live)

    def _champions(self, m: _Month, live: np.ndarray) -> None:
        """Champions leave on a random day of the month; a replacement may start next month."""
        sim, rng, n, t = self.sim, self.sim.rng, self.sim.n, m.t
        last_day = min(m.me, sim.end_day + 1)
        first_day = np.maximum(m.lo, self.champ_since + 1)
        leaves = live & self.champ_present & (first_day < last_day) & (rng.random(n) < 0.018)
        leave_day = first_day + (rng.random(n) * (last_day - first_day)).astype(np.int64)
        idx = np.flatnonzero(leaves)
        self.contact_events.append(("champion_end", idx, leave_day[idx]))
        self.champ_present &= ~leaves
        self.champ_left_month[leaves] = t
        replace = live & ~self.champ_present & ~leaves & (rng.random(n) < 0.3) & (t + 1 < N_MONTHS)
        idx = np.flatnonzero(replace)
        if idx.size:
            start_day = np.minimum(int(sim.ms[t + 1]) + rng.integers(0, 28, idx.size), sim.end_day)
            keep = start_day < np.where(sim.churn_day[idx] >= 0, sim.churn_day[idx], sim.end_day + 1)
            idx, start_day = idx[keep], start_day[keep]
            self.contact_events.append(("champion_start", idx, start_day))
            self.champ_present[idx] = True
            self.champ_since[idx] = start_day

    def _ticket_rows(self, acc: np.ndarray, lo: np.ndarray, hi: np.ndarray, pain: np.ndarray) -> dict[str, np.ndarray]:
        """Tickets of the accounts ``acc`` (one entry per ticket) opened in [lo, hi)."""
        rng, m = self.sim.rng, acc.size
        day = lo + (rng.random(m) * (hi - lo)).astype(np.int64)
        secs = day * 86400 + rng.integers(7 * 3600, 19 * 3600, m)
        probs = np.where(pain[:, None], [0.08, 0.30, 0.35, 0.27], [0.35, 0.47, 0.13, 0.05])
        priority = (rng.random(m)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, 3)
        median_h = np.array([48.0, 24.0, 8.0, 4.0])[priority] * np.where(pain, 2.5, 1.0)
        hours = median_h * np.exp(rng.normal(0, 0.8, m))
        closed = secs + (hours * 3600).astype(np.int64)
        rated = rng.random(m) < 0.4
        csat = np.clip(np.round(4.5 - 1.8 * pain - 0.35 * np.log(hours / 24.0) + rng.normal(0, 0.7, m)), 1, 5)
        return {"acc": acc, "opened": secs, "closed": closed, "priority": priority,
                "csat": np.where(rated, csat, np.nan)}
