"""Metrics of the small per-account tables: subscriptions, tickets, NPS responses, invoices, contacts.

Each function takes the rows of one table (numpy columns from ``data/sql/account_rows.sql``)
and returns its metrics per observation row, all dates at once (:mod:`data.metrics.windows`).
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np

from data import readmodel
from data.metrics.windows import _ObsIndex, _on_dates, _pairs, _per_row, _ratio, _row_extreme


def _contract_values(index: _ObsIndex, accounts: dict, subs: dict) -> dict[str, np.ndarray]:
    """Tenure and the subscription metrics: subscriptions started before the date, active when
    not ended before it. One pass over (observation row, subscription) pairs for all dates."""
    n_acc, n = index.n_accounts, len(index.acc)
    day = index.days[index.date_no].astype(float)
    created = np.full(n_acc, np.nan)
    created[accounts["acc"]] = accounts["created_day"]
    known = np.zeros(n_acc, dtype=bool)
    known[accounts["acc"]] = True
    first_start = np.full(n_acc, np.inf)
    np.minimum.at(first_start, subs["acc"], subs["start_day"])
    r, s = _pairs(index, subs["acc"])
    d = day[r]
    start, end = subs["start_day"][s], subs["end_day"][s]
    has_seats = ~np.isnan(subs["seats"][s])
    annual = subs["annual"][s]
    renewal_day = subs["renewal_day"][s]
    started = start < d
    active = started & ~(end < d)
    mrr = _per_row(r, active, n, subs["mrr"][s])
    seats = _per_row(r, active & has_seats, n, subs["seats"][s])
    seats[_per_row(r, active & has_seats, n) == 0] = np.nan
    renews = active & annual & ~np.isnan(renewal_day)
    until = _row_extreme(r, renews, np.mod(renewal_day - d, 365), n, largest=False)
    then = started & (start < d - 90) & ~(end < d - 90)
    mrr_then = _per_row(r, then, n, subs["mrr"][s])
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(mrr_then > 0, (mrr - mrr_then) / mrr_then, np.nan)
    first, made = first_start[index.acc], created[index.acc]
    since = np.where(first < day, first, np.nan)
    since = np.where(np.isnan(since), made, np.where(np.isnan(made), since, np.minimum(since, made)))
    return {
        "tenure_days": np.where(known[index.acc], day - since, np.nan),
        "mrr": mrr, "mrr_change_90d": change, "seats": seats,
        "active_subscriptions": _per_row(r, active, n),
        "contract_annual": (_per_row(r, active & annual, n) > 0).astype(float),
        "days_to_renewal": until, "renewal_within_90d": (until <= 90).astype(float),
    }


def _support_values(index: _ObsIndex, tickets: dict) -> dict[str, np.ndarray]:
    """Ticket metrics. A ticket opened on day o counts from the date after o; it is open until
    the date after its closing day c; windows of n days hold it through day o + n (opened) or
    c + n (closed, from the date after both o and c)."""
    acc, opened, closed = tickets["acc"], tickets["opened_day"].astype(float), tickets["closed_day"].astype(float)
    is_closed = ~np.isnan(closed)
    counted_closed = np.maximum(opened, closed) + 1
    hours = np.where(is_closed, tickets["resolution_hours"], 0.0)
    rated = is_closed & ~np.isnan(tickets["csat"])
    severity = np.round(tickets["severity"] * 20.0)  # urgent 20, high 12, normal 3: whole numbers sum exactly
    return {
        "tickets_30d": _on_dates(index, acc, opened + 1, opened + 30),
        "tickets_90d": _on_dates(index, acc, opened + 1, opened + 90),
        "high_priority_tickets_90d": _on_dates(index, acc, opened + 1, opened + 90, where=tickets["high_priority"]),
        "ticket_severity_60d": _on_dates(index, acc, opened + 1, opened + 60, weight=severity) / 20.0,
        "open_tickets": _on_dates(index, acc, opened + 1, np.where(is_closed, closed, np.inf)),
        "resolution_hours_90d": _ratio(
            _on_dates(index, acc, counted_closed, closed + 90, where=is_closed, weight=hours),
            _on_dates(index, acc, counted_closed, closed + 90, where=is_closed)),
        "csat_180d": _ratio(
            _on_dates(index, acc, counted_closed, closed + 180, where=rated, weight=np.nan_to_num(tickets["csat"])),
            _on_dates(index, acc, counted_closed, closed + 180, where=rated)),
    }


def _sentiment_values(index: _ObsIndex, nps: dict) -> dict[str, np.ndarray]:
    """Latest NPS response before the date (responded on an earlier day), its change from the
    one before, and its age in days. One pass over (observation row, response) pairs."""
    n_acc, n = index.n_accounts, len(index.acc)
    day = index.days[index.date_no].astype(float)
    acc = nps["acc"]  # rows come ordered by account, then response time
    first_row = np.searchsorted(acc, np.arange(n_acc))
    score = np.append(nps["score"].astype(float), np.nan)  # row -1: no response
    responded_day = np.append(nps["responded_day"].astype(float), np.nan)
    r, s = _pairs(index, acc)
    seen = np.bincount(r[responded_day[s] < day[r]], minlength=n)
    latest = np.where(seen >= 1, first_row[index.acc] + seen - 1, -1)
    previous = np.where(seen >= 2, latest - 1, -1)
    return {"nps_latest": score[latest], "nps_change": score[latest] - score[previous],
            "days_since_nps": day - responded_day[latest]}


def _billing_values(index: _ObsIndex, invoices: dict) -> dict[str, np.ndarray]:
    """Invoice metrics. An invoice counts from the date after its issue day; a failed payment
    from the date after its due day (or issue day) for 90 / 180 days; a late payment from the
    date after it was paid through 180 days after the due day; an overdue invoice from the
    date after its due day until its payment day."""
    acc = invoices["acc"]
    issued, due, paid = (invoices[c].astype(float) for c in ("issued_day", "due_day", "paid_day"))
    failing = invoices["due_or_issued_day"].astype(float)
    failed_from = np.maximum(issued, failing) + 1
    return {
        "failed_payments_90d": _on_dates(index, acc, failed_from, failing + 90, where=invoices["failed"]),
        "failed_payments_180d": _on_dates(index, acc, failed_from, failing + 180, where=invoices["failed"]),
        "late_payments_180d": _on_dates(index, acc, np.maximum(issued, paid) + 1, due + 180, where=paid > due),
        "overdue_invoices": _on_dates(index, acc, np.maximum(issued, due) + 1, np.where(np.isnan(paid), np.inf, paid),
                                      where=~np.isnan(due)),
    }


def _relationship_values(index: _ObsIndex, contacts: dict, first_seen_day: float) -> dict[str, np.ndarray]:
    """Contact metrics. A contact counts from the date after it started until its leaving day;
    a champion who left counts as left for 90 days from the date after.

    A contact without ``active_from`` has an unknown start: it counts from the day it was first
    seen (``first_seen_day``, see :func:`contacts_first_seen`), never "since always", and it
    has no champion tenure (NaN unless another current champion's start is known)."""
    acc, left_on, champion = contacts["acc"], contacts["to_day"].astype(float), contacts["champion"]
    raw_start = contacts["from_day"].astype(float)
    unknown_start = np.isnan(raw_start)
    start = np.where(unknown_start, first_seen_day, raw_start)
    has_left = ~np.isnan(left_on)
    until = np.where(has_left, left_on, np.inf)
    out = {
        "active_contacts": _on_dates(index, acc, start + 1, until),
        "active_champions": _on_dates(index, acc, start + 1, until, where=champion),
        "champions_left_90d": _on_dates(index, acc, np.maximum(start, left_on) + 1, left_on + 90,
                                        where=champion & has_left),
    }
    n = len(index.acc)
    day = index.days[index.date_no].astype(float)
    rows = np.flatnonzero(champion)
    r, c = _pairs(index, acc[rows])
    c = rows[c]
    d = day[r]
    known = start[c] < d
    gone = known & (left_on[c] < d)
    out["champion_tenure_days"] = day - _row_extreme(r, known & ~(left_on[c] < d) & ~unknown_start[c], start[c], n,
                                                     largest=True)
    out["days_since_champion_left"] = day - _row_extreme(r, gone, left_on[c], n, largest=True)
    return out


def contacts_first_seen(con: duckdb.DuckDBPyConnection) -> date | None:
    """The day contacts without ``active_from`` were first seen: the contacts import, capped at the
    end of the data (``workspace_meta`` ``contacts_first_seen`` when set, e.g. in an as-of copy).

    A missing start date is unknown, not "always": such a contact counts from this day on.
    """
    try:
        rows = dict(con.execute("SELECT key, value FROM workspace_meta WHERE key IN "
                                "('contacts_first_seen', 'imported_contacts')").fetchall())
    except duckdb.Error:
        rows = {}
    if rows.get("contacts_first_seen"):
        return first_seen_from(rows, None)
    return first_seen_from(rows, readmodel.data_end(con))


def first_seen_from(meta: dict, end: date | None) -> date | None:
    """The rule of :func:`contacts_first_seen` on ``workspace_meta`` values and the data's end
    (the Spark engine reads its own copy of the meta table and applies the same rule)."""
    if meta.get("contacts_first_seen"):
        return date.fromisoformat(str(meta["contacts_first_seen"])[:10])
    imported = meta.get("imported_contacts")
    seen = date.fromisoformat(str(imported)[:10]) if imported else None
    if seen is None or (end is not None and end < seen):
        return end
    return seen
