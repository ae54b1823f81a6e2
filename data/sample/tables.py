"""The sample's tables, built from a finished simulation (:class:`data.sample.simulation._Simulation`).

:func:`build_tables` yields them in a fixed order: several tables draw from the simulation's
random stream (NPS times and comments, contact names), so the order is part of the output.
The events come from :mod:`data.sample.events`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from data.sample.company import (
    _FIRST_NAMES,
    _LAST_NAMES,
    _NPS_COMMENTS,
    ADDON_PRODUCT,
    CAUSES,
    CONTACT_ROLES,
    CSM_NAMES,
    INDUSTRIES,
    LEAD_SOURCES,
    MAIN_PRODUCT,
    PLANS,
    PLAYBOOK_EFFECTS,
    PLAYBOOK_KEYS,
    REGIONS,
    SEGMENTS,
    TICKET_PRIORITIES,
)
from data.sample.dates import _billing_day, _to_datetime
from data.sample.events import event_chunks, event_times, events_frame, events_table
from data.sample.simulation import _Simulation


def build_tables(sim: _Simulation, *,
                 stream_events: bool) -> Iterator[tuple[str, pd.DataFrame | Iterator[pd.DataFrame]]]:
    """(table name, DataFrame) in a fixed order; ``stream_events`` gives the events as chunk frames.

    The order is part of the random stream (several tables draw from ``sim.rng``),
    so consume each item, events chunks included, before asking for the next.
    """
    history = sim.history
    history.release_month_state()
    yield "accounts", _accounts_table(sim)
    yield "subscriptions", _subscriptions_table(sim)
    history.subs = []  # each part the months drew is let go once its table is built (memory at 1M accounts)
    if stream_events:
        yield "events", (events_frame(sim, a, event_times(sim, d), k, q, accounts=(lo, hi))
                         for lo, hi, a, d, k, q in event_chunks(sim))
    else:
        yield "events", events_table(sim)
    sim.logu = sim.seats_m = sim.util_m = None  # only the events read the monthly usage path
    yield "tickets", _tickets_table(sim)
    history.tickets = []
    yield "nps", _nps_table(sim)
    history.nps = []
    yield "invoices", _invoices_table(sim)
    history.invoices = []
    yield "contacts", _contacts_table(sim)
    history.contact_events = []
    yield from _truth_tables(sim).items()


def _stacked(parts: list, i: int, dtype=np.int64) -> np.ndarray:
    """Column ``i`` of the monthly ``parts`` end to end; empty (of ``dtype``) when no month drew any (a tiny company)."""
    return np.concatenate([p[i] for p in parts]) if parts else np.array([], dtype=dtype)


def _numbered(prefix: str, m: int, width: int) -> np.ndarray:
    """Ids ``prefix`` + 1..m zero-padded to ``width`` digits (none when ``m`` is 0)."""
    if m == 0:
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(np.arange(1, m + 1).astype(str), width))


def _truth_tables(sim: _Simulation) -> dict[str, pd.DataFrame]:
    out = {}
    idx = _stacked(sim.history.truth, 0)
    month = _stacked(sim.history.truth, 1)
    hazard = _stacked(sim.history.truth, 2, np.float64)
    order = np.lexsort((month, idx))
    out["sample_truth"] = pd.DataFrame({
        "account_id": pd.array(sim.account_id[idx[order]], dtype="str"),
        "month": _to_datetime(month[order]),
        "hazard": hazard[order],
    })
    out["sample_truth_causes"] = pd.DataFrame({
        "cause": pd.array([c for c, _ in CAUSES], dtype="str"),
        "metric_group": pd.array([g for _, g in CAUSES], dtype="str"),
    })
    out["sample_playbook_history"] = _playbook_table(sim)
    out["sample_truth_playbook_effects"] = pd.DataFrame({
        "playbook": pd.array(PLAYBOOK_KEYS, dtype="str"),
        "hazard_multiplier": [PLAYBOOK_EFFECTS[k][0] for k in PLAYBOOK_KEYS],
        "expansion_multiplier": [PLAYBOOK_EFFECTS[k][1] for k in PLAYBOOK_KEYS],
        "description": pd.array([PLAYBOOK_EFFECTS[k][2] for k in PLAYBOOK_KEYS], dtype="str"),
    })
    return out


def _ids(sim: _Simulation, idx: np.ndarray) -> pd.array:
    return pd.array(sim.account_id[idx], dtype="str")


def _accounts_table(sim: _Simulation) -> pd.DataFrame:
    s = _labels
    return pd.DataFrame({
        "account_id": pd.array(sim.account_id, dtype="str"),
        "name": pd.array(sim.name, dtype="str"),
        "segment": s(SEGMENTS, sim.segment),
        "industry": s(INDUSTRIES, sim.industry),
        "region": s(REGIONS, sim.region),
        "plan": s(PLANS, sim.plan),
        "csm": s(CSM_NAMES, sim.csm),
        "created_at": _to_datetime(sim.created),
        "employee_count": sim.employee_count,
        "lead_source": s(LEAD_SOURCES, sim.lead_source),
    })


def _subscriptions_table(sim: _Simulation) -> pd.DataFrame:
    n = sim.n
    parts = [(np.arange(n), sim.created, sim.seats_initial, sim.pps_initial)] + sim.history.subs
    acc = np.concatenate([p[0] for p in parts])
    start = np.concatenate([p[1] for p in parts])
    seats = np.concatenate([p[2] for p in parts])
    pps = np.concatenate([p[3] for p in parts])
    order = np.lexsort((start, acc))
    acc, start, seats, pps = acc[order], start[order], seats[order], pps[order]
    nxt_same = np.append(acc[1:] == acc[:-1], False)
    end = np.where(nxt_same, np.append(start[1:], -1), sim.churn_day[acc])
    main = pd.DataFrame({"acc": acc, "product": 0, "start": start, "end": end, "mrr": np.round(seats * pps, 2),
                         "seats": seats})
    a = np.flatnonzero(sim.has_addon)
    addon = pd.DataFrame({"acc": a, "product": 1, "start": sim.addon_start[a], "end": sim.churn_day[a],
                          "mrr": sim.addon_mrr[a], "seats": -1})
    df = pd.concat([main, addon], ignore_index=True).sort_values(["acc", "product", "start"], kind="stable")
    acc = df["acc"].to_numpy()
    end = df["end"].to_numpy()
    annual = sim.annual[acc]
    ref = np.where(end >= 0, end - 1, sim.end_day)
    renewal = _next_anniversary(sim, acc, ref)
    seats = df["seats"].to_numpy()
    return pd.DataFrame({
        "account_id": _ids(sim, acc),
        "product": pd.array(np.array([MAIN_PRODUCT, ADDON_PRODUCT])[df["product"].to_numpy()], dtype="str"),
        "start_date": _to_datetime(df["start"].to_numpy()),
        "end_date": _to_datetime(end),
        "mrr": df["mrr"].to_numpy(dtype=float),
        "seats": _nullable_int(seats),
        "billing_period": pd.array(np.where(annual, "annual", "monthly"), dtype="str"),
        "renewal_date": _to_datetime(np.where(annual, renewal, -1)),
    })


def _next_anniversary(sim: _Simulation, acc: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """First contract anniversary strictly after day ``ref`` for each account in ``acc``."""
    signup_abs, dom = sim.signup_abs[acc], sim.dom[acc]
    ref_abs = ref.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    k = np.maximum(1, -(-(ref_abs - signup_abs) // 12))
    day = _billing_day(signup_abs + 12 * k, dom)
    k = np.where(day <= ref, k + 1, k)
    return _billing_day(signup_abs + 12 * k, dom)


def _tickets_table(sim: _Simulation) -> pd.DataFrame:
    parts = sim.history.tickets
    cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.array([], dtype=np.int64)
            for k in ("acc", "opened", "closed", "priority", "csat")}
    order = np.lexsort((cols["opened"], cols["acc"]))
    cols = {k: v[order] for k, v in cols.items()}
    end_secs = (sim.end_day + 1) * 86400
    closed = cols["closed"].astype("datetime64[s]")
    still_open = cols["closed"] >= end_secs
    closed[still_open] = np.datetime64("NaT")
    m = order.size
    width = max(7, len(str(m)))
    return pd.DataFrame({
        "ticket_id": pd.array(_numbered("T", m, width), dtype="str"),
        "account_id": _ids(sim, cols["acc"].astype(np.int64)),
        "opened_at": cols["opened"].astype("datetime64[s]"),
        "closed_at": closed,
        "priority": pd.array(np.array(TICKET_PRIORITIES)[cols["priority"].astype(np.int64)], dtype="str"),
        "csat": np.where(still_open, np.nan, cols["csat"].astype(float)),
    })


def _nps_table(sim: _Simulation) -> pd.DataFrame:
    acc = _stacked(sim.history.nps, 0)
    day = _stacked(sim.history.nps, 1)
    score = _stacked(sim.history.nps, 2)
    order = np.lexsort((day, acc))
    acc, day, score = acc[order], day[order], score[order]
    rng = sim.rng
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
        "account_id": _ids(sim, acc),
        "responded_at": secs.astype("datetime64[s]"),
        "score": score.astype(np.int32),
        "comment": pd.array(comment, dtype="str"),
    })


def _invoices_table(sim: _Simulation) -> pd.DataFrame:
    cat = [_stacked(sim.history.invoices, i, np.float64 if i == 4 else bool if i == 5 else np.int64) for i in range(6)]
    acc, issued, due, paid, amount, failed = cat
    order = np.lexsort((issued, acc))
    acc, issued, due, paid, amount, failed = (a[order] for a in (acc, issued, due, paid, amount, failed))
    paid_known = (paid >= 0) & (paid <= sim.end_day)
    status = np.where(failed, "failed", np.where(
        paid_known, np.where(paid > due, "late", "paid"), np.where(due < sim.end_day, "late", "open")))
    m = acc.size
    width = max(7, len(str(m)))
    return pd.DataFrame({
        "invoice_id": pd.array(_numbered("INV", m, width),
                               dtype="str"),
        "account_id": _ids(sim, acc),
        "issued_at": _to_datetime(issued),
        "due_at": _to_datetime(due),
        "paid_at": _to_datetime(np.where(paid_known, paid, -1)),
        "amount": np.round(amount, 2),
        "status": pd.array(status, dtype="str"),
    })


def _contacts_table(sim: _Simulation) -> pd.DataFrame:
    rng, n = sim.rng, sim.n
    seg = sim.segment
    # the first champion is the first "champion_start" event; others are replacements
    starts = [(a, d) for kind, a, d in sim.history.contact_events if kind == "champion_start"]
    ends = [(a, d) for kind, a, d in sim.history.contact_events if kind == "champion_end"]
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
    other_from = sim.created[other_acc] + np.where(other_role == 3, rng.integers(0, 30, other_acc.size), 0)
    other_from = np.minimum(other_from, sim.end_day)
    acc = np.concatenate([champ_acc, other_acc])
    role = np.concatenate([np.zeros(champ_acc.size, dtype=np.int64), other_role])
    active_from = np.concatenate([champ_from, other_from])
    active_to = np.concatenate([champ_to, np.full(other_acc.size, -1)])
    order = np.lexsort((role, active_from, acc))
    acc, role, active_from, active_to = acc[order], role[order], active_from[order], active_to[order]
    m = acc.size
    first = rng.integers(0, len(_FIRST_NAMES), m)
    last = rng.integers(0, len(_LAST_NAMES), m)
    numbered = _rank_within(acc) % 7 == 6
    width = max(7, len(str(m)))
    return pd.DataFrame({
        "contact_id": pd.array(_numbered("C", m, width),
                               dtype="str"),
        "account_id": _ids(sim, acc),
        "email": _emails(sim, acc, first, last, numbered),
        "role": pd.array(np.array(CONTACT_ROLES)[role], dtype="str"),
        "active_from": _to_datetime(active_from),
        "active_to": _to_datetime(active_to),
    })


EMAIL_CHUNK = 200_000  # contacts per block of email strings: numpy's fixed-width strings cost 4 bytes a character


def _emails(sim: _Simulation, acc: np.ndarray, first: np.ndarray, last: np.ndarray, numbered: np.ndarray) -> pd.array:
    """``first.last[NN]@domain`` per contact (name codes ``first``, ``last``; ``numbered`` adds a
    two-digit suffix), built block by block so the widest string never sets the size of millions."""
    first_names, last_names = np.array(_FIRST_NAMES), np.array(_LAST_NAMES)
    blocks = []
    for lo in range(0, acc.size, EMAIL_CHUNK):
        sl = slice(lo, lo + EMAIL_CHUNK)
        local = np.char.lower(np.char.add(np.char.add(first_names[first[sl]], "."), last_names[last[sl]]))
        suffix = (np.arange(lo, lo + local.size) % 90 + 10).astype(str)
        local = np.char.add(local, np.where(numbered[sl], suffix, ""))
        blocks.append(pd.array(np.char.add(np.char.add(local, "@"), sim.domain[acc[sl]]), dtype="str"))
    if not blocks:
        return pd.array([], dtype="str")
    return pd.concat([pd.Series(b) for b in blocks], ignore_index=True).array


def _playbook_table(sim: _Simulation) -> pd.DataFrame:
    if not sim.history.playbook:
        parts = [np.array([], dtype=np.int64)] * 3 + [np.array([], dtype=bool)]
    else:
        parts = [np.concatenate([p[i] for p in sim.history.playbook]) for i in range(4)]
    acc, key, start, holdout = parts
    order = np.lexsort((key, start, acc))
    return pd.DataFrame({
        "account_id": _ids(sim, acc[order]),
        "playbook": pd.array(np.array(PLAYBOOK_KEYS)[key[order]], dtype="str"),
        "started_at": _to_datetime(start[order]),
        "holdout": holdout[order].astype(bool),
    })



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
