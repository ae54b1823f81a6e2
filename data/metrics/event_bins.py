"""Event rows added up per account and day bin in one streamed pass over ``events`` (:class:`_EventBins`)."""

from __future__ import annotations

import queue
import threading
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from data.metrics.catalog import EVENT_METRIC_SUFFIXES, Metric, event_metrics, event_slug
from data.metrics.staging import _fetch
from data.metrics.windows import _as_date, _ObsIndex

_EVENT_BATCH_ROWS = 1 << 20  # event rows per Arrow batch
_MAX_TYPE_CELLS = 48 << 20  # accounts x event types x day bins summed per pass over the events (8 bytes each)


class _EventBins:
    """Event rows added up per account and day bin, read in one pass over ``events``.

    Bin ``b`` holds the days in ``[edges[b-1], edges[b])`` (bin 0: every day before
    ``edges[0]``); every observation date and that date - 30 and - 90 are edges, so each
    metric window (the 30 days before a date, the 60 before those, the 90 before it) is a
    run of whole bins. Per account and bin it keeps each event type's summed quantity
    (``slots``: the types with metrics, then logins if ``login`` is not one of them, then
    every other type) and the summed and largest login quantity; per account, type and
    observation date the last event day before the date; per account and day (from 30 days
    before the first date) whether it had any event. Without named users a day's active
    users are its summed login quantity (docs/architecture.md section 5), and with one login row per
    day the busiest day is the largest row. Otherwise (named users, or several login rows
    on a day) :meth:`read_usage_by_day` takes the daily active users from
    ``usage_metrics.sql`` / ``named_users.sql`` (one row per account and day).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, index: _ObsIndex, type_list: list[str]) -> None:
        self.index, self.n_types = index, len(type_list)
        self.login_slot = type_list.index("login") if "login" in type_list else self.n_types
        self.other_slot = max(self.login_slot + 1, self.n_types)
        days = index.days
        self.edges = np.unique(np.concatenate([days, days - 30, days - 90]))
        self.n_bins = len(self.edges)
        first = con.execute("SELECT CAST(min(event_time) AS DATE) FROM events").fetchall()[0][0]
        self.first_event_day = None if first is None else (first - date(1970, 1, 1)).days
        self.first_day = int(self.edges[0]) if first is None else min(int(self.edges[0]), self.first_event_day)
        all_days = np.arange(self.first_day, int(self.edges[-1]))
        self.bin_of_day = np.searchsorted(self.edges, all_days, side="right")
        self.interval_of_day = np.searchsorted(days, all_days, side="right")  # obs dates on or before the day
        # active days are kept per day from 30 days before the first observation date (column 0: earlier)
        self.day_column = np.maximum(all_days - (int(days[0]) - 30) + 1, 0)
        self.n_day_columns = int(days[-1]) - (int(days[0]) - 30) + 1
        at = {lag: np.searchsorted(self.edges, days - lag) for lag in (0, 30, 90)}
        self.last_30_bins = list(zip(at[30] + 1, at[0] + 1, strict=True))  # bins [first, end) of [day - 30, day)
        # per observation row: the bin whose running total (over bins 0..b) sums the days before
        # the date, before the date - 30 and before the date - 90
        self.last_bin = {lag: at[lag][index.date_no] for lag in (0, 30, 90)}
        self.needs_day_grain = False

    def day_bins(self) -> pd.DataFrame:
        """Every day from the first event to the day before the last observation date, and its bin."""
        return pd.DataFrame({"day_no": np.arange(self.first_day, int(self.edges[-1]), dtype=np.int32),
                             "bin": self.bin_of_day.astype(np.int32)})

    def params(self) -> dict:
        return {"end": _as_date(self.index.days[-1]), "login_slot": self.login_slot, "other_slot": self.other_slot}

    def read(self, con: duckdb.DuckDBPyConnection, sql: str, type_list: list[str], tenure: np.ndarray,
             catalog: dict[str, Metric], *, named: bool) -> dict[str, np.ndarray]:
        """Stream the rows of ``event_rows.sql`` into the bins; returns the ``ev_<type>_<metric>``
        columns (:meth:`event_values`) and keeps the usage bins. The per-type arrays of one
        pass hold at most ``_MAX_TYPE_CELLS`` cells; more types take more passes over the
        events. ``named``: some events have a named user."""
        n_acc, n_bins, n_dates = self.index.n_accounts, self.n_bins, len(self.index.days)
        n_slots = self.other_slot + 1
        active, login_days = np.zeros((n_acc, self.n_day_columns), bool), np.zeros((n_acc, self.n_day_columns), bool)
        users_sum, users_max = np.zeros(n_acc * n_bins), np.full(n_acc * n_bins, -np.inf)
        login_rows = 0
        per_pass = max(1, _MAX_TYPE_CELLS // max(n_acc * n_bins, 1))
        columns: dict[str, dict[str, np.ndarray]] = {suffix: {} for suffix in EVENT_METRIC_SUFFIXES}
        tenure_days = np.clip(np.where(np.isnan(tenure), 90.0, tenure), 0.0, None)
        young = {"months_observed": np.clip(np.minimum(tenure_days, 90.0), 14.0, 90.0) / 30.0,
                 "prev_days": np.clip(tenure_days - 30.0, 0.0, 60.0)}
        for first_slot in range(0, n_slots, per_pass):
            slots = range(first_slot, min(n_slots, first_slot + per_pass))
            width = len(slots)
            # account-major: the rows of one account (stored together) update nearby cells
            quantity = np.zeros((n_acc, width, n_bins))
            last_day = np.full((n_acc, width, n_dates), np.iinfo(np.int32).min, dtype=np.int32)
            key_type = np.int32 if n_acc * width * max(n_bins, n_dates) < np.iinfo(np.int32).max else np.int64
            for batch in _prefetched(con.sql(sql, params=self.params()).to_arrow_reader(_EVENT_BATCH_ROWS)):
                slot, acc = batch.column("slot").to_numpy(), batch.column("acc").to_numpy().astype(key_type)
                day, amount = batch.column("day_no").to_numpy(), batch.column("quantity").to_numpy()
                offset = day - self.first_day
                bins = self.bin_of_day[offset]
                if width < n_slots:
                    mine = np.flatnonzero((slot >= slots.start) & (slot < slots.stop))
                    cell = acc[mine] * width + (slot[mine] - slots.start)
                    np.add.at(quantity.reshape(-1), cell * n_bins + bins[mine], amount[mine])
                    np.maximum.at(last_day.reshape(-1), cell * n_dates + self.interval_of_day[offset[mine]], day[mine])
                else:
                    cell = acc * width + slot
                    np.add.at(quantity.reshape(-1), cell * n_bins + bins, amount)
                    np.maximum.at(last_day.reshape(-1), cell * n_dates + self.interval_of_day[offset], day)
                if first_slot:
                    continue
                column = self.day_column[offset]
                active[acc, column] = True
                login = np.flatnonzero(slot == self.login_slot)
                acc, column, cell, amount = acc[login], column[login], acc[login] * n_bins + bins[login], amount[login]
                np.add.at(users_sum, cell, amount)
                np.maximum.at(users_max, cell, amount)
                login_days[acc, column] = True
                login_rows += int(np.count_nonzero(column))
            np.cumsum(quantity, axis=2, out=quantity)  # running totals over the bins, in place
            np.maximum.accumulate(last_day, axis=2, out=last_day)  # last event day on or before each interval
            for slot in slots:
                if slot < self.n_types:
                    self.event_values(type_list[slot], quantity.reshape(-1), last_day.reshape(-1),
                                      width, slot - slots.start, young, columns)
                    for m in event_metrics(type_list[slot]):
                        catalog[m.name] = m
            del quantity, last_day
        self.users_sum = users_sum.reshape(n_acc, n_bins)
        self.users_max = np.where(np.isneginf(users_max), np.nan, users_max).reshape(n_acc, n_bins)
        self.named_users = np.zeros((n_acc, n_dates))
        # distinct active days in the 30 days before each date (columns of day - 30 .. day - 1)
        ends = self.index.days - (int(self.index.days[0]) - 30) + 1
        by_date = np.stack([np.count_nonzero(active[:, end - 30:end], axis=1) for end in ends], axis=1)
        self.active_days_30d = by_date.reshape(-1)[self.index.cell].astype(float)
        # one login row per account and day (from 30 days before the first date): the busiest day is the largest row
        self.needs_day_grain = named or int(np.count_nonzero(login_days[:, 1:])) < login_rows
        return {f"ev_{slug}_{suffix}": columns[suffix][slug] for suffix in sorted(columns) for slug in sorted(columns[suffix])}

    def read_usage_by_day(self, con: duckdb.DuckDBPyConnection, usage_sql: str, named_sql: str) -> None:
        """Active days and daily active users from one row per account and day (named users)."""
        end = {"end": _as_date(self.index.days[-1])}
        usage, named = _fetch(con, usage_sql, end), _fetch(con, named_sql, end)
        shape = (self.index.n_accounts, self.n_bins)
        active_days, self.users_sum, self.users_max = np.zeros(shape), np.zeros(shape), np.full(shape, np.nan)
        active_days[usage["acc"], usage["bin"]] = usage["active_days"]
        self.users_sum[usage["acc"], usage["bin"]] = usage["users_sum"]
        self.users_max[usage["acc"], usage["bin"]] = usage["users_max"]
        self.named_users[named["acc"], named["date_no"]] = named["named_users_30d"]
        self.active_days_30d = self.windows(np.cumsum(active_days, axis=1).reshape(-1))[0]

    def windows(self, running: np.ndarray, width: int = 1, slot: int = 0) -> tuple[np.ndarray, ...]:
        """Per observation row: the sums over the last 30 days, the 60 before those and the last
        90 days, from running totals over the bins (``running``: (accounts, width, bins) or
        (accounts, bins) flattened, for ``slot``). Differences of running totals: a window
        without events is exactly 0."""
        base = (self.index.acc * width + slot) * self.n_bins
        before_0, before_30, before_90 = (running[base + self.last_bin[lag]] for lag in (0, 30, 90))
        return before_0 - before_30, before_30 - before_90, before_0 - before_90

    def usage_values(self, seats: np.ndarray, tenure: np.ndarray) -> dict[str, np.ndarray]:
        """Active days, active users, seat utilisation and DAU change per observation row."""
        at = self.index.cell
        busiest = np.stack([np.fmax.reduce(self.users_max[:, lo:hi], axis=1)
                            for lo, hi in self.last_30_bins], axis=1).reshape(-1)[at]
        named = self.named_users.reshape(-1)[at]
        active_users = np.where(named > 0, named, np.where(np.isnan(busiest), 0.0, busiest))
        users_30d, users_prev_60d, _ = self.windows(np.cumsum(self.users_sum, axis=1).reshape(-1))
        dau_30d, dau_prev_60d = users_30d / 30.0, users_prev_60d / 60.0
        with np.errstate(divide="ignore", invalid="ignore"):
            utilisation = np.where(seats > 0, active_users / seats, np.nan)
            change = np.where(dau_prev_60d > 0,
                              np.minimum(np.maximum((dau_30d - dau_prev_60d) / dau_prev_60d, -1.0), 3.0),
                              np.where(dau_30d > 0, 3.0, 0.0))
        return {"active_days_30d": self.active_days_30d, "active_users_30d": active_users,
                "seat_utilisation": utilisation, "dau_change_30v60": np.where(tenure < 44, np.nan, change)}

    def event_values(self, event_type: str, running: np.ndarray, last_day: np.ndarray, width: int, slot: int,
                     young: dict[str, np.ndarray], columns: dict[str, dict[str, np.ndarray]]) -> None:
        """Adds one event type's metrics per observation row to ``columns`` (suffix -> slug -> values)
        from (accounts, ``width`` slots, bins) running quantity totals and (accounts, slots,
        intervals) last event days, flattened, at ``slot``; ``young``: per row, the months
        observed (of the last 3) and the days observed before the last 30.

        Counts per month over 90 days are scaled to the months observed for young accounts;
        the trend compares the last 30 days with the previous 60 (or fewer, for young
        accounts); recency is capped at 365 days. Two types with one slug: the first (in
        sorted order) wins.
        """
        slug = event_slug(event_type)
        if slug in columns["days_since"]:
            return
        months_observed, prev_days = young["months_observed"], young["prev_days"]
        q30, q60, q90 = self.windows(running, width, slot)
        last = last_day[(self.index.acc * width + slot) * len(self.index.days) + self.index.date_no]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate30 = q30 / 30.0
            rate60 = np.where(prev_days > 0, q60 / np.maximum(prev_days, 1.0), np.nan)
            change = np.where(rate60 > 0, (rate30 - rate60) / rate60, np.where(rate30 > 0, 3.0, 0.0))
        obs_day = self.index.days[self.index.date_no]
        columns["per_month_30d"][slug] = q30
        columns["per_month_90d"][slug] = q90 / months_observed
        columns["change_30v60"][slug] = np.where(prev_days < 14, np.nan, np.clip(change, -1.0, 3.0))
        columns["days_since"][slug] = np.where(last == np.iinfo(np.int32).min, 365.0,
                                               np.minimum(obs_day - last, 365.0)).astype(float)


def _prefetched(batches, depth: int = 2):
    """Iterate ``batches`` (an Arrow reader) from a helper thread, ``depth`` batches ahead, so
    DuckDB produces the next batch while numpy adds up this one. Errors surface here; leaving
    the loop early stops the helper."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(batch):
                    return
            offer(end)
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer
            offer(exc)

    helper = threading.Thread(target=produce, name="metrics-events", daemon=True)
    helper.start()
    try:
        while (item := ready.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        helper.join()
