"""The team's own events on an account, for the Timeline beside tickets, NPS and invoices.

Logged activities, notes and playbook runs as one dated list in the same shape as
:func:`data.queries.timeline` (``occurred_at``, ``kind``, ``detail``, ``tone``). Runs are
read through :func:`playbooks.runs.list_runs` with the viewer, so a CSM sees the runs of
their book only.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from data.access import Viewer
from data.activities import list_activities
from data.notes import list_notes
from playbooks.runs import list_runs

TIMELINE_COLUMNS = ["occurred_at", "kind", "detail", "tone"]
MAX_DETAIL = 160


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def own_events(engine: sa.Engine, viewer: Viewer, account_id: str, *, warehouse=None) -> pd.DataFrame:
    """Activities, notes and playbook runs of one account, newest first (:data:`TIMELINE_COLUMNS`).

    ``warehouse`` (a Warehouse or a DuckDB connection) resolves a CSM viewer's current book for the runs.
    """
    rows: list[dict] = []
    for a in list_activities(engine, [account_id]).to_dict("records"):
        rows.append({"occurred_at": datetime.combine(a["occurred_on"], datetime.min.time()),
                     "kind": a["kind"].capitalize(), "detail": f"{a['author']}: {_short(a['summary'])}",
                     "tone": "neutral"})
    for n in list_notes(engine, account_id).to_dict("records"):
        rows.append({"occurred_at": n["created_at"], "kind": "Note", "detail": f"{n['author']}: {_short(n['body'])}",
                     "tone": "neutral"})
    runs = list_runs(engine, viewer, warehouse=warehouse, account_id=account_id, limit=200)
    for r in runs.to_dict("records"):
        how = "by hand" if r["trigger_type"] == "manual" else "by rule"
        failed = int(r.get("steps_failed") or 0)
        state = "holdout (not actioned)" if r["holdout"] else r["status"]
        detail = f"{r['playbook']} started {how} by {r['triggered_by']} · {state}"
        if failed:
            detail += f" · {failed} step{'s' if failed != 1 else ''} failed"
        rows.append({"occurred_at": r["started_at"], "kind": "Playbook", "detail": detail,
                     "tone": "bad" if failed else "neutral"})
    frame = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    return frame.sort_values("occurred_at", ascending=False).reset_index(drop=True)
