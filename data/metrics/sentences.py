"""The sentence a CSM reads for a metric value ("Daily active users fell 45% vs the previous 60 days")."""

from __future__ import annotations

import math

import pandas as pd

from data.metrics.catalog import Metric


def _fmt_number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    v = float(value)
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e12:
        return f"{int(round(v)):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def is_missing(value) -> bool:
    """True for a value the data does not have (None, NaN, pandas NA/NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def missing_meaning(metric: Metric) -> str | None:
    """The sentence a missing value of ``metric`` stands for when it means something, else None.

    A champion who never left, or a contract without a renewal date, is a fact; most other
    gaps are simply "no data" (see :mod:`models.explain`).
    """
    if metric.kind == "days" and metric.name.startswith("days_since_champion"):
        return "No champion has left"
    if metric.name == "days_to_renewal":
        return "Month-to-month contract (no annual renewal date)"
    return None


def render_sentence(metric: Metric, value) -> str:
    """The catalog sentence for ``metric`` at ``value`` (a missing value without a meaning renders "not known")."""
    if is_missing(value):
        return missing_meaning(metric) or f"{metric.label}: not known"
    if metric.kind == "category":
        return metric.template.format(label=metric.label, value=value)
    v = float(value)
    if metric.kind == "change":
        word = "fell" if v < -0.005 else "rose" if v > 0.005 else "was unchanged"
        abs_pct = f"{abs(v) * 100:.0f}" if word != "was unchanged" else "0"
        text = metric.template.format(label=metric.label, value=_fmt_number(v), fell_rose=word, abs_pct=abs_pct,
                                      pct=f"{v * 100:.0f}", value_yes_no="", value_signed=f"{v:+.0f}")
        return text.replace(" was unchanged 0%", " was unchanged")
    if metric.kind == "money":
        shown = f"${v:,.0f}"
    elif metric.kind in ("count", "days"):
        shown = _fmt_number(round(v))
    else:
        shown = _fmt_number(v)
    yes_no = f"{metric.label}: {'yes' if v >= 0.5 else 'no'}"
    text = metric.template.format(label=metric.label, value=shown, fell_rose="", abs_pct=f"{abs(v) * 100:.0f}",
                                  pct=f"{v * 100:.0f}", value_yes_no=yes_no, value_signed=f"{v:+.0f}")
    return _singular_after_one(text)


_NOT_A_NOUN = frozenset({"of", "in", "for", "over", "vs", "since", "the", "last", "on"})


def _singular_after_one(text: str) -> str:
    """Singular noun after a count of one, anywhere in the sentence.

    '1 failed payments' -> '1 failed payment', 'was 1 days ago' -> 'was 1 day ago',
    '1 invoices are overdue' -> '1 invoice is overdue'; '1 of the last 30 days' is left alone.
    """
    words = text.split(" ")
    for i, word in enumerate(words):
        if word.lstrip("+-") != "1":
            continue
        for j in range(i + 1, min(len(words), i + 4)):
            w = words[j]
            if w in _NOT_A_NOUN:
                break
            if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
                words[j] = w[:-1]
                if j + 1 < len(words) and words[j + 1] == "are":
                    words[j + 1] = "is"
                break
    return " ".join(words)
