"""What-if inputs: the widget that fits each metric, in the units a person thinks in.

* flags (yes/no metrics): a toggle;
* counts and day counts: whole numbers (step 1, no decimals), never below zero;
* shares (seat utilisation) and changes (30 d vs the previous 60 d): percentages, converted back
  to the model's fractions when the form is sent;
* money: whole dollars; other numbers: two decimals.

Labels say what the number counts ("Champions left in the last 90 days"), so an input never
reads "Champion left 1.00". A value counts as changed only when the person changed what the
widget showed, so rounding for display never re-scores an untouched metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from data.metrics import Metric

FLAG_NAME = re.compile(r"^(attr_)?(is|has)_")


@dataclass(frozen=True)
class WhatIfInput:
    """How one metric is edited: ``kind`` (flag, count, share, change, money, number), the widget's label,
    its starting value in display units (None when not known), and the help line."""

    feature: str
    kind: str
    label: str
    initial: float | int | bool | None
    help: str
    decimals: int = 2  # for plain numbers

    def to_model(self, shown):
        """The widget's value in the model's units (a percentage back to a fraction, a flag to 0/1)."""
        if shown is None:
            return None
        if self.kind == "flag":
            return 1.0 if shown else 0.0
        if self.kind in ("share", "change"):
            return float(shown) / 100
        return float(shown)

    def changed(self, shown) -> bool:
        return shown is not None and shown != self.initial


def _count_label(metric: Metric) -> str:
    """"{value} champions left in the last 90 days" -> "Champions left in the last 90 days";
    "{value} invoices are overdue" -> "Overdue invoices"; else the label with "(count)"."""
    template = metric.template
    if template.startswith("{value} ") and "{" not in template[len("{value} "):]:
        words = template[len("{value} "):]
        state = re.fullmatch(r"(.+?) (?:are|is) (\w+)", words)
        if state:
            words = f"{state.group(2)} {state.group(1)}"
        return words[:1].upper() + words[1:]
    return f"{metric.label} (count)"


def _floor(spec: WhatIfInput, low: int) -> int | None:
    """``low`` as the widget's minimum unless the current value is already below it (Streamlit would refuse it)."""
    return low if spec.initial is None or spec.initial >= low else None


def input_spec(feature: str, metric: Metric, current) -> WhatIfInput:
    """The :class:`WhatIfInput` for ``feature`` (catalog entry ``metric``) whose value now is ``current``."""
    known = current is not None and not pd.isna(current)
    value = float(current) if known else None
    if metric.kind == "flag" or FLAG_NAME.match(feature):
        now = "not known" if not known else ("yes" if value >= 0.5 else "no")
        return WhatIfInput(feature, "flag", metric.label, bool(known and value >= 0.5), f"Now: {now}.")
    whole = known and float(value).is_integer()
    if metric.kind == "count" or (metric.kind == "rate" and feature.endswith("_30d")):
        shown = int(round(value)) if known else None
        return WhatIfInput(feature, "count", _count_label(metric), shown,
                           f"Now: {'not known' if shown is None else f'{shown:,}'}. A whole number.")
    if metric.kind == "days":
        shown = int(round(value)) if known else None
        label = metric.label if metric.label.lower().startswith("days") else f"{metric.label} (days)"
        return WhatIfInput(feature, "count", label, shown,
                           f"Now: {'not known' if shown is None else f'{shown:,} days'}.")
    if metric.kind == "ratio":
        shown = int(round(value * 100)) if known else None
        label = (f"{metric.label} (% of purchased seats)" if "seat" in feature else f"{metric.label} (%)")
        return WhatIfInput(feature, "share", label, shown,
                           f"Now: {'not known' if shown is None else f'{shown}%'}. 80 means 80%.")
    if metric.kind == "change":
        shown = int(round(value * 100)) if known else None
        return WhatIfInput(feature, "change", f"{metric.label}: change, 30 d vs previous 60 d (%)", shown,
                           f"Now: {'not known' if shown is None else f'{shown:+d}%'}. "
                           "-20 means it fell 20%, 10 that it rose 10%.")
    if metric.kind == "score" and (whole or not known) and feature.startswith("nps"):
        shown = int(value) if known else None
        return WhatIfInput(feature, "count", metric.label, shown,
                           f"Now: {'not known' if shown is None else shown}. From 0 to 10.")
    if metric.kind in ("rate", "score"):
        shown = round(value, 1) if known else None
        return WhatIfInput(feature, "number", metric.label, shown,
                           f"Now: {'not known' if shown is None else f'{shown:g}'}.", decimals=1)
    if metric.kind == "money":
        shown = int(round(value)) if known else None
        return WhatIfInput(feature, "money", f"{metric.label} ($)", shown,
                           f"Now: {'not known' if shown is None else f'${shown:,}'}.")
    shown = round(value, 2) if known else None
    return WhatIfInput(feature, "number", metric.label, shown,
                       f"Now: {'not known' if shown is None else f'{shown:g}'}.")


def draw(container, spec: WhatIfInput, key: str):
    """Draw ``spec``'s widget in ``container`` (inside a form); returns what it shows (display units)."""
    if spec.kind == "flag":
        return container.toggle(spec.label, value=bool(spec.initial), key=key, help=spec.help)
    if spec.kind in ("count", "money"):
        return container.number_input(spec.label, value=spec.initial, min_value=_floor(spec, 0),
                                      step=100 if spec.kind == "money" else 1, format="%d", key=key, help=spec.help)
    if spec.kind == "share":
        return container.number_input(spec.label, value=spec.initial, min_value=_floor(spec, 0), step=5, format="%d",
                                      key=key, help=spec.help)
    if spec.kind == "change":
        return container.number_input(spec.label, value=spec.initial, min_value=_floor(spec, -100), step=5,
                                      format="%d", key=key, help=spec.help)
    return container.number_input(spec.label, value=spec.initial, step=0.1, format=f"%.{spec.decimals}f", key=key,
                                  help=spec.help)
