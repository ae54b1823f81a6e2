"""Alerts: the in-app alerts a person reads (to them, their CSM name or one of their roles) and marks read.

Every function takes the :class:`~data.access.Viewer` asking: its username, CSM name and
roles say which alerts are addressed to it, and a CSM sees only alerts about accounts in
their book *now* (:mod:`playbooks.scoping`; a CSM viewer needs ``warehouse``). Read state
is per user (``alert_reads``). Alerts are posted by playbook steps (:mod:`playbooks.runs`)
and by failed deliveries (:mod:`playbooks.failures`).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from data.access import Viewer, csm_account_ids
from data.opstore import now
from playbooks.scoping import scoped
from playbooks.store import alert_reads, alerts, runs


def alerts_for(engine: sa.Engine, viewer: Viewer, *, warehouse=None, unread_only: bool = False,
               limit: int = 200) -> pd.DataFrame:
    """Alerts to the viewer (by username or CSM name) or to one of their roles, newest first, with ``read``.

    An alert to ``role:csm`` or to the account's CSM is for the account's CSM *today*:
    it reaches a CSM only while the account is in their book (read from ``warehouse``;
    without it such alerts reach nobody by role). For a CSM viewer, alerts about
    accounts outside their current book are left out altogether.
    """
    names = [n for n in (viewer.username, viewer.csm) if n]
    other_roles = [r for r in viewer.roles if r != "csm"]
    addressed = [alerts.c.recipient_user.in_(names)]
    if other_roles:
        addressed.append(alerts.c.recipient_role.in_(other_roles))
    if viewer.csm and warehouse is not None:
        own = sorted(csm_account_ids(warehouse, viewer.csm))
        if own:
            mine_now = alerts.c.account_id.in_(own)
            addressed.append(sa.and_(alerts.c.recipient_user == runs.c.csm, mine_now))
            if "csm" in viewer.roles:
                addressed.append(sa.and_(alerts.c.recipient_role == "csm", mine_now))
    read = (sa.select(alert_reads.c.alert_id).where(alert_reads.c.username == viewer.username)).subquery()
    q = (sa.select(alerts, (read.c.alert_id.is_not(None)).label("read"))
         .join(runs, runs.c.id == alerts.c.run_id)
         .outerjoin(read, read.c.alert_id == alerts.c.id)
         .where(sa.or_(*addressed))
         .order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit))
    q = scoped(q, viewer, warehouse, alerts.c.account_id)
    if unread_only:
        q = q.where(read.c.alert_id.is_(None))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])


def unread_alert_count(engine: sa.Engine, viewer: Viewer, *, warehouse=None) -> int:
    """How many of the viewer's alerts (as :func:`alerts_for` finds them) they have not read."""
    return len(alerts_for(engine, viewer, warehouse=warehouse, unread_only=True, limit=10_000))


def mark_alert_read(engine: sa.Engine, viewer: Viewer, alert_id: int) -> None:
    """Mark one alert read for the viewer (idempotent); other people's read state is untouched."""
    try:
        with engine.begin() as conn:
            conn.execute(alert_reads.insert().values(alert_id=alert_id, username=viewer.username, read_at=now()))
    except sa.exc.IntegrityError:
        pass


def mark_all_alerts_read(engine: sa.Engine, viewer: Viewer, *, warehouse=None) -> int:
    """Mark every unread alert of the viewer read (as :func:`alerts_for` scopes them); returns how many."""
    unread = alerts_for(engine, viewer, warehouse=warehouse, unread_only=True, limit=10_000)
    for alert_id in unread["id"].tolist():
        mark_alert_read(engine, viewer, int(alert_id))
    return len(unread)
