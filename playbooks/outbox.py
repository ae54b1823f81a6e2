"""The outbox dispatcher: deliver pending steps (SMTP email, HTTP webhooks, tasks, alerts) exactly once.

Step statuses: ``awaiting_confirmation`` (customer email waiting for a person) →
``pending`` → ``sending`` (claimed) → ``delivered``; or ``retry`` (waiting for
``next_attempt_at``, exponential backoff) → ... → ``failed`` after ``max_attempts`` or
on a permanent error. ``held``: an email while no SMTP host is configured (kept, shown,
sent once a host is set). ``skipped`` (holdout) and ``cancelled`` are final.

A dispatcher claims a row with one conditional ``UPDATE ... WHERE id = ? AND status IN
(...)``; only the process whose update changed the row sends it, so concurrent
dispatchers never send a step twice. Each claim is stamped with the time it is made
(``claimed_at``), not the time its pass started, so a long pass never looks stale to a
second dispatcher. A row left in ``sending`` by a dispatcher that died is never re-sent
automatically: after :data:`STALE_AFTER` it turns ``failed`` with an "outcome unknown"
message, and a person decides whether to retry. Any unexpected error while delivering
one step is recorded as that step's failure; the pass goes on with the next step.

Webhooks go only to public addresses (or hosts in ``CSAI_WEBHOOK_ALLOW_HOSTS``), without
following redirects, with an ``Idempotency-Key`` header (the step id); only the status is
kept, never the reply's body (:mod:`playbooks.webhooks`). Delivery is at-least-once from
the receiver's point of view: a retry after a timeout may repeat a request that arrived.
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

import pandas as pd
import sqlalchemy as sa
import urllib3

from data.access import Viewer
from data.opstore import audit, now
from data.settings import Settings
from data.testhooks import pause_point
from data.users import list_users
from playbooks.context import account_frame, contacts_by_role, recipient
from playbooks.definitions import PlaybookError
from playbooks.failures import alert_failed_steps
from playbooks.runs import refresh_run_status
from playbooks.scoping import in_book
from playbooks.store import alert_reads, alerts, runs, steps, tasks
from playbooks.store import playbooks as playbooks_table
from playbooks.webhooks import WebhookRefused, origin, post_json

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 6 * 3600
STALE_AFTER = timedelta(minutes=15)


class PermanentFailure(Exception):
    """A delivery error retrying will not fix (bad address, 4xx from the webhook)."""


class TransientFailure(Exception):
    """A delivery error worth retrying later (timeout, 5xx, SMTP server unavailable)."""


@dataclass
class DispatchReport:
    """One dispatcher pass: rows claimed and how each attempt ended."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    stale: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempts_failed(self) -> int:
        return self.retrying + self.failed


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


# ------------------------------------------------------------------ senders
def _csm_email(settings: Settings, csm: str | None) -> str | None:
    if not csm:
        return None
    try:

        for user in list_users(settings.auth_file):
            if user.csm == csm and user.email and not user.disabled:
                return user.email
    except Exception:  # noqa: BLE001 - a missing or unreadable user file means "no address"
        return None
    return None


def header_value(value: object) -> str:
    """One line for a mail header: CR, LF and other line breaks (e.g. from an imported name) become spaces."""
    return re.sub(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*", " ", str(value or "")).strip()


def smtp_tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying TLS context for STARTTLS: the system CAs, or ``CSAI_SMTP_CA_FILE`` for a private CA."""
    ca_file = settings.smtp.ca_file
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def send_email(settings: Settings, payload: dict) -> str:
    """Send one email over SMTP; returns a one-line result. Raises Permanent/TransientFailure.

    With ``CSAI_SMTP_TLS``, STARTTLS verifies the server's certificate and host name.
    """
    smtp = settings.smtp
    to = header_value(payload.get("to") or _csm_email(settings, payload.get("to_csm")))
    if not to:
        who = f"CSM {payload['to_csm']}" if payload.get("to_csm") else "the recipient"
        raise PermanentFailure(f"No email address for {who}; add one (Admin → users or the contacts data), then retry.")
    msg = EmailMessage()
    msg["From"] = header_value(smtp.sender)
    msg["To"] = to
    msg["Subject"] = header_value(payload.get("subject", ""))
    msg.set_content(payload.get("body", ""))
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
            if smtp.tls:
                client.starttls(context=smtp_tls_context(settings))
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            refused = client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure(f"The mail server refused {to}: {exc.recipients}") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise TransientFailure(f"SMTP login failed ({exc.smtp_code}); check CSAI_SMTP_USER / CSAI_SMTP_PASSWORD.") from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentFailure(
            f"The certificate of mail server {smtp.host}:{smtp.port} could not be verified "
            f"({exc.verify_message or exc.reason}); if it is signed by a private CA, set CSAI_SMTP_CA_FILE to "
            "that CA's PEM file, then retry.") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientFailure(f"SMTP {smtp.host}:{smtp.port} failed: {exc}") from None
    if refused:
        raise PermanentFailure(f"The mail server refused {', '.join(refused)}")
    return f"sent to {to} via {smtp.host}:{smtp.port}"


def post_webhook(settings: Settings, payload: dict, step_id: int) -> str:
    """POST the JSON body; 2xx is delivered, 429/5xx/network errors retry, 3xx and other 4xx fail.

    The target is checked again here (public addresses or ``CSAI_WEBHOOK_ALLOW_HOSTS``);
    only the status is kept, never the reply's body.
    """
    url = payload["url"]
    where = origin(url)  # never the path: it often carries the receiver's token
    timeout = float(payload.get("timeout", 10))
    try:
        reply = post_json(url, payload.get("body", {}), allow_hosts=settings.webhook_allow_hosts,
                          timeout=timeout, idempotency_key=str(step_id))
    except WebhookRefused as exc:
        raise PermanentFailure(f"Refused: {exc}") from None
    except urllib3.exceptions.NewConnectionError:
        raise TransientFailure(f"Could not connect to {where}.") from None
    except urllib3.exceptions.TimeoutError:
        raise TransientFailure(f"No answer from {where} within {timeout:g} s") from None
    except urllib3.exceptions.SSLError:
        raise TransientFailure(f"Could not verify the TLS certificate of {where}.") from None
    except urllib3.exceptions.HTTPError as exc:
        raise TransientFailure(f"Could not reach {where}: {exc.__class__.__name__}") from None
    except (OSError, UnicodeError):
        raise TransientFailure(f"Could not resolve the host of {where}; check the address.") from None
    if 200 <= reply.status < 300:
        return reply.text
    if 300 <= reply.status < 400:
        raise PermanentFailure(f"{reply.text} from {where}: redirects are not followed; use the final address.")
    if reply.status == 429 or reply.status >= 500:
        raise TransientFailure(f"{reply.text} from {where}")
    raise PermanentFailure(f"{reply.text} from {where}")


# ------------------------------------------------------------------ dispatcher
def _claimable(smtp_ready: bool) -> list[str]:
    return ["pending", "retry"] + (["held"] if smtp_ready else [])


def _release_stale(engine: sa.Engine, at: datetime, report: DispatchReport) -> None:
    with engine.begin() as conn:
        stale = conn.execute(sa.select(steps.c.id).where(steps.c.status == "sending",
                                                         steps.c.claimed_at < at - STALE_AFTER)).scalars().all()
        for step_id in stale:
            res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.status == "sending").values(
                status="failed", updated_at=at, claim_token=None,
                last_error="The dispatcher stopped while sending, so it is unknown whether this was delivered; "
                           "check with the recipient before retrying."))
            if res.rowcount:
                report.stale += 1
                audit(conn, "dispatcher", "playbook.step.stale", f"step:{step_id}")
                alert_failed_steps(conn, [step_id], at)


def dispatch_due(engine: sa.Engine, settings: Settings, *, at: datetime | None = None, limit: int = 500,
                 actor: str = "dispatcher") -> DispatchReport:
    """Deliver every step that is due now (pending, or waiting for a retry whose time has come).

    With no SMTP host configured, due emails become ``held``. Safe to run in several
    processes at once. Returns counts of this pass.
    """
    at = at or now()
    report = DispatchReport()
    _release_stale(engine, at, report)
    smtp_ready = bool(settings.smtp.host)
    statuses = _claimable(smtp_ready)
    due = sa.or_(steps.c.next_attempt_at.is_(None), steps.c.next_attempt_at <= at)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(steps.c.id, steps.c.kind).where(steps.c.status.in_(statuses), due)
                           .order_by(steps.c.id).limit(limit)).all()
    for step_id, kind in ids:
        if kind == "email" and not smtp_ready:
            with engine.begin() as conn:
                res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.status.in_(statuses), due)
                                   .values(status="held", updated_at=at,
                                           result="No SMTP server configured (CSAI_SMTP_HOST); kept in the outbox."))
                if res.rowcount:
                    report.held += 1
                    audit(conn, actor, "playbook.step.held", f"step:{step_id}")
            continue
        token = uuid.uuid4().hex
        with engine.begin() as conn:
            res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.status.in_(statuses), due).values(
                status="sending", claim_token=token, claimed_at=now(), attempts=steps.c.attempts + 1, updated_at=at))
        if res.rowcount != 1:
            continue  # another dispatcher has it
        report.claimed += 1
        pause_point("dispatch-claimed")
        try:
            _deliver(engine, settings, step_id, token, at, report, actor)
        except Exception as exc:  # noqa: BLE001 - one broken step must not stop the pass or stay "sending"
            log.exception("delivering step %s failed unexpectedly", step_id)
            message = f"Unexpected error while delivering ({exc.__class__.__name__}: {str(exc)[:200]}); " \
                      "fix the step or its data, then retry."
            with engine.connect() as conn:
                run_id = conn.execute(sa.select(steps.c.run_id).where(steps.c.id == step_id)).scalar_one()
            if _record(engine, step_id, token, at, "failed", error=message, actor=actor, run_id=run_id):
                report.failed += 1
                report.errors.append(f"step {step_id}: {message}")
            else:
                report.errors.append(_released(step_id, exc))
    return report


def _deliver(engine: sa.Engine, settings: Settings, step_id: int, token: str, at: datetime,
             report: DispatchReport, actor: str) -> None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(steps, runs.c.account_id).join(runs, runs.c.id == steps.c.run_id)
                           .where(steps.c.id == step_id)).one()
    payload = json.loads(row.payload)
    internal_id = None
    try:
        if row.kind == "email":
            result = send_email(settings, payload)
        elif row.kind == "webhook":
            result = post_webhook(settings, payload, step_id)
        elif row.kind in ("task", "alert"):
            if row.kind == "task" and not payload.get("assignee"):
                raise PermanentFailure("Nobody to assign the task to; set the account's CSM or an assignee.")
            if row.kind == "alert" and not (payload.get("recipient_user") or payload.get("recipient_role")):
                raise PermanentFailure("Nobody to alert; set the account's CSM.")
            result = "created"
            internal_id = True
        else:
            raise PermanentFailure(f"Unknown step kind {row.kind!r}")
    except PermanentFailure as exc:
        if _record(engine, step_id, token, at, "failed", error=str(exc), actor=actor, run_id=row.run_id):
            report.failed += 1
            report.errors.append(f"step {step_id}: {exc}")
        else:
            report.errors.append(_released(step_id, exc))
        return
    except TransientFailure as exc:
        final = row.attempts >= row.max_attempts
        if _record(engine, step_id, token, at, "failed" if final else "retry", error=str(exc), actor=actor,
                   run_id=row.run_id, next_attempt_at=None if final else at + backoff(row.attempts)):
            report.failed += int(final)
            report.retrying += int(not final)
            report.errors.append(f"step {step_id}: {exc}")
        else:
            report.errors.append(_released(step_id, exc))
        return
    with engine.begin() as conn:
        if internal_id:
            result = _create_internal(conn, row, payload, at)
        done = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.claim_token == token).values(
            status="delivered", delivered_at=at, result=result, last_error=None, updated_at=at, claim_token=None))
        if done.rowcount:
            audit(conn, actor, "playbook.step.delivered", f"step:{step_id}", kind=row.kind, result=result)
            refresh_run_status(conn, row.run_id, actor)
    report.delivered += 1


def _create_internal(conn, row, payload: dict, at: datetime) -> str:
    if row.kind == "task":
        task_id = conn.execute(tasks.insert().values(
            step_id=row.id, run_id=row.run_id, account_id=row.account_id, title=payload["title"],
            description=payload.get("description") or None, assignee=payload.get("assignee"),
            due_at=datetime.fromisoformat(payload["due_at"]), status="open", created_at=at,
        )).inserted_primary_key[0]
        return f"task {task_id} created"
    values = dict(step_id=row.id, run_id=row.run_id, account_id=row.account_id,
                  recipient_user=payload.get("recipient_user"), recipient_role=payload.get("recipient_role"),
                  message=payload["message"], created_at=at)
    # one alert per step: the notice that this step had failed (playbooks.failures) becomes the alert itself
    notice = conn.execute(sa.select(alerts.c.id).where(alerts.c.step_id == row.id)).scalar()
    if notice is None:
        return f"alert {conn.execute(alerts.insert().values(**values)).inserted_primary_key[0]} posted"
    conn.execute(alert_reads.delete().where(alert_reads.c.alert_id == notice))
    conn.execute(alerts.update().where(alerts.c.id == notice).values(**values))
    return f"alert {notice} posted"


def _released(step_id: int, exc: Exception) -> str:
    minutes = int(STALE_AFTER.total_seconds() // 60)
    return (f"step {step_id}: the send took over {minutes} minutes and its claim was released, so this outcome "
            f"was not recorded: {exc}")


def _record(engine: sa.Engine, step_id: int, token: str, at: datetime, status: str, *, error: str, actor: str,
            run_id: int, next_attempt_at: datetime | None = None) -> bool:
    """Record a failed attempt under the dispatcher's claim; False (nothing written) once the claim was released."""
    with engine.begin() as conn:
        res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.claim_token == token).values(
            status=status, last_error=error, next_attempt_at=next_attempt_at, updated_at=at, claim_token=None))
        if not res.rowcount:
            return False  # released as stale meanwhile (and maybe retried and delivered): that outcome stands
        audit(conn, actor, "playbook.step.failed" if status == "failed" else "playbook.step.retry_scheduled",
              f"step:{step_id}", error=error, next_attempt_at=next_attempt_at)
        if status == "failed":
            alert_failed_steps(conn, [step_id], at)
    return True


# ------------------------------------------------------------------ people acting on the outbox
def confirm_email(engine: sa.Engine, step_id: int, actor: str, *, subject: str | None = None,
                  body: str | None = None) -> None:
    """A person approves a customer email (optionally edited); the dispatcher then sends it. Audited."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(steps).where(steps.c.id == step_id)).first()
        if row is None or row.status != "awaiting_confirmation":
            raise PlaybookError(f"Step {step_id} is not an email waiting for confirmation.")
        payload = json.loads(row.payload)
        if subject is not None:
            payload["subject"] = subject
        if body is not None:
            payload["body"] = body
        res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.status == "awaiting_confirmation")
                           .values(status="pending", confirmed_by=actor, confirmed_at=now(), updated_at=now(),
                                   payload=json.dumps(payload)))
        if res.rowcount == 0:
            raise PlaybookError(f"Step {step_id} was confirmed or cancelled a moment ago.")
        audit(conn, actor, "playbook.step.confirm", f"step:{step_id}", edited=subject is not None or body is not None)


def cancel_step(engine: sa.Engine, step_id: int, actor: str) -> None:
    """Cancel a step that has not been delivered (e.g. an email nobody should send). Audited."""
    with engine.begin() as conn:
        res = conn.execute(steps.update().where(
            steps.c.id == step_id, steps.c.status.in_(("pending", "awaiting_confirmation", "held", "retry", "failed"))
        ).values(status="cancelled", updated_at=now()))
        if res.rowcount == 0:
            raise PlaybookError(f"Step {step_id} is already delivered, sending or cancelled.")
        run_id = conn.execute(sa.select(steps.c.run_id).where(steps.c.id == step_id)).scalar_one()
        audit(conn, actor, "playbook.step.cancel", f"step:{step_id}")
        refresh_run_status(conn, run_id, actor)


def retry_step(engine: sa.Engine, step_id: int, actor: str, *, warehouse=None) -> None:
    """Queue a failed step again (with a fresh set of attempts). Audited.

    With ``warehouse``, an email whose contact had no address is re-resolved first, and a task
    or alert that had nobody (an account without a CSM) goes to the account's CSM now, if it has one.
    """
    with engine.begin() as conn:
        row = conn.execute(sa.select(steps, runs.c.account_id).join(runs, runs.c.id == steps.c.run_id)
                           .where(steps.c.id == step_id)).first()
        if row is None or row.status != "failed":
            raise PlaybookError(f"Step {step_id} has not failed, so there is nothing to retry.")
        payload = json.loads(row.payload)
        if row.kind == "email" and not payload.get("to") and payload.get("to_role") and warehouse is not None:

            contacts = contacts_by_role(warehouse, [row.account_id]).get(row.account_id, {})
            contact, _ = recipient(contacts, payload.get("fallback_from") or payload["to_role"])
            if contact:
                payload["to"] = contact["email"]
        owner_key = {"task": "assignee", "alert": "recipient_user"}.get(row.kind)
        if (owner_key and warehouse is not None and not payload.get(owner_key)
                and not payload.get("recipient_role")):
            csm = next((c for c in account_frame(warehouse, [row.account_id])["csm"].dropna() if c), None)
            if csm:
                payload[owner_key] = csm
        values = dict(status="pending", next_attempt_at=None, max_attempts=row.attempts + MAX_ATTEMPTS,
                      updated_at=now(), payload=json.dumps(payload))
        if row.kind == "email" and row.requires_confirmation and not row.confirmed_by:
            values["status"] = "awaiting_confirmation"
        res = conn.execute(steps.update().where(steps.c.id == step_id, steps.c.status == "failed").values(**values))
        if res.rowcount == 0:
            raise PlaybookError(f"Step {step_id} changed a moment ago; reload and try again.")
        audit(conn, actor, "playbook.step.retry", f"step:{step_id}")


def list_outbox(engine: sa.Engine, *, status: str | list[str] | None = None, kind: str | None = None,
                viewer: Viewer | None = None, warehouse=None, account_id: str | None = None,
                limit: int = 500) -> pd.DataFrame:
    """Outbox rows with their run's account and playbook, newest first (e.g. failed or awaiting ones).

    Scoped to the viewer's current book (:func:`playbooks.scoping.in_book`; a CSM viewer needs ``warehouse``).
    """

    q = (sa.select(steps.c.id, steps.c.run_id, steps.c.position, steps.c.kind, steps.c.status, steps.c.payload,
                   steps.c.requires_confirmation, steps.c.confirmed_by, steps.c.attempts, steps.c.next_attempt_at,
                   steps.c.delivered_at, steps.c.result, steps.c.last_error, steps.c.updated_at, runs.c.account_id,
                   runs.c.account_name, runs.c.csm, playbooks_table.c.name.label("playbook"))
         .join(runs, runs.c.id == steps.c.run_id).join(playbooks_table, playbooks_table.c.id == runs.c.playbook_id)
         .order_by(steps.c.id.desc()).limit(limit))
    if status:
        q = q.where(steps.c.status.in_([status] if isinstance(status, str) else list(status)))
    if kind:
        q = q.where(steps.c.kind == kind)
    if account_id:
        q = q.where(runs.c.account_id == account_id)
    scope = in_book(runs.c.account_id, viewer, warehouse)
    if scope is not None:
        q = q.where(scope)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in q.selected_columns])
    if not df.empty:
        df["payload"] = df["payload"].map(json.loads)
    return df
