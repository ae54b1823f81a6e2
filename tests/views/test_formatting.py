"""One number, one format: money, shares, dates, plurals and empty values read the same everywhere."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from components import formatting as fmt
from components.charts.account import _step_text


@pytest.mark.parametrize("value, text", [
    (12345.67, "$12,346"), (0.49, "$0"), (1234.5, "$1,235"), (-1200.4, "-$1,200"), (None, "–"), (np.nan, "–"),
    (pd.NA, "–"), (129131.99999, "$129,132"),
])
def test_money_is_whole_dollars(value, text):
    assert fmt.money(value) == text


@pytest.mark.parametrize("value, text", [(0.1076, "10.8%"), (0.11, "11.0%"), (1, "100.0%"), (None, "–"),
                                         (float("nan"), "–")])
def test_percentages_have_one_decimal(value, text):
    assert fmt.pct(value) == text


def test_the_same_risk_reads_the_same_in_every_place():
    p = 0.10764
    assert fmt.pct(p) == "10.8%" and fmt.pct(round(p, 4)) == "10.8%"


@pytest.mark.parametrize("n, word, text", [(1, "day", "1 day"), (2, "day", "2 days"), (0, "run", "0 runs"),
                                           (1, "run", "1 run"), (1204, "account", "1,204 accounts"),
                                           (-1, "day", "-1 day")])
def test_plurals(n, word, text):
    assert fmt.plural(n, word) == text


def test_dates_have_one_format_and_empty_is_a_dash():
    assert fmt.day(date(2026, 12, 7)) == "7 Dec 2026"
    assert fmt.day(pd.Timestamp("2026-07-10")) == "10 Jul 2026"
    assert fmt.day("2026-07-10") == "10 Jul 2026"
    assert fmt.day(pd.NaT) == "–" and fmt.day(None) == "–"
    assert fmt.moment(datetime(2026, 12, 7, 9, 34, 12)) == "7 Dec 2026 09:34 UTC"


def test_table_amounts_round_to_whole_dollars():
    out = fmt.whole_dollars(pd.Series([1234.5, -99.5, None, 10.2]))
    assert out.iloc[0] == 1235 and out.iloc[1] == -100 and pd.isna(out.iloc[2]) and out.iloc[3] == 10


@pytest.mark.parametrize("value, digits, text", [(0.0004, 0, "<1%"), (0.0049, 0, "<1%"), (0.005, 0, "<1%"), (0.0051, 0, "1%"),
                                                 (0.00004, 1, "<0.1%"), (0.0, 0, "0%"), (0.0001, 1, "<0.1%"),
                                                 (0.0006, 1, "0.1%")])
def test_a_small_risk_never_reads_as_zero(value, digits, text):
    assert fmt.pct(value, digits) == text


def test_waterfall_labels_never_read_minus_zero():
    assert _step_text(-0.00002, "relative") == "−<0.1%" and _step_text(0.0003, "relative") == "+<0.1%"
    assert _step_text(0.023, "relative") == "+2.3%" and _step_text(0.0001, "total") == "<0.1%"
