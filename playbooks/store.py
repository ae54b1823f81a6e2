"""Operational-store tables of the playbooks room (defined on :data:`data.opstore.metadata`).

* ``playbooks``: definitions (steps and rule as validated JSON text).
* ``playbook_runs``: one row per enrolment of an account, treated or holdout.
  ``idempotency_key`` (the playbook, the account and the run it follows) and
  ``request_key`` (one form submission) are unique, so a double click, two tabs or two
  ``run-due`` processes can only ever insert one row.
* ``playbook_steps``: the outbox. Written in the same transaction as their run; the
  dispatcher claims a row by a conditional ``UPDATE`` (status check in the ``WHERE``).
* ``playbook_tasks`` / ``playbook_alerts`` (+ ``playbook_alert_reads``): what task and
  alert steps create for people inside the app.

Every time column is naive UTC (:func:`data.opstore.now`).
"""

from __future__ import annotations

import sqlalchemy as sa

from data.opstore import metadata

playbooks = sa.Table(
    "playbooks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(100), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("purpose", sa.Text, nullable=False, default=""),
    sa.Column("driver_groups", sa.Text, nullable=False, default="[]"),
    sa.Column("rule", sa.Text, nullable=True),
    sa.Column("steps", sa.Text, nullable=False, default="[]"),
    sa.Column("cooldown_days", sa.Integer, nullable=False, default=30),
    sa.Column("holdout_pct", sa.Float, nullable=False, default=20.0),
    sa.Column("horizon_days", sa.Integer, nullable=False, default=90),
    sa.Column("resources", sa.Text, nullable=False, default="[]"),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("starter", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

runs = sa.Table(
    "playbook_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("playbook_id", sa.Integer, sa.ForeignKey("playbooks.id"), nullable=False),
    sa.Column("account_id", sa.String(200), nullable=False),
    sa.Column("account_name", sa.String(300), nullable=True),
    sa.Column("csm", sa.String(200), nullable=True),
    sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
    sa.Column("request_key", sa.String(300), nullable=True, unique=True),
    sa.Column("trigger_type", sa.String(20), nullable=False),  # manual | rule
    sa.Column("triggered_by", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("holdout", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),  # active | holdout | completed | cancelled
    sa.Column("p_churn", sa.Float, nullable=True),
    sa.Column("risk_band", sa.String(20), nullable=True),
    sa.Column("p_expansion", sa.Float, nullable=True),
    sa.Column("arr", sa.Float, nullable=True),
    sa.Column("model_id", sa.String(200), nullable=True),
    sa.Column("scored_at", sa.DateTime, nullable=True),
    sa.Column("drivers", sa.Text, nullable=True),
    sa.Column("completed_at", sa.DateTime, nullable=True),
    sa.Index("ix_playbook_runs_pb_account", "playbook_id", "account_id", "started_at"),
    sa.Index("ix_playbook_runs_account", "account_id"),
    # "last touch" (manual starts per account) and its change marker read only the manual runs
    sa.Index("ix_playbook_runs_trigger", "trigger_type", "account_id", "started_at"),
)

steps = sa.Table(
    "playbook_steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("playbook_runs.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # task | email | webhook | alert
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("requires_confirmation", sa.Boolean, nullable=False, default=False),
    sa.Column("confirmed_by", sa.String(200), nullable=True),
    sa.Column("confirmed_at", sa.DateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False, default=5),
    sa.Column("next_attempt_at", sa.DateTime, nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_at", sa.DateTime, nullable=True),
    sa.Column("delivered_at", sa.DateTime, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("run_id", "position", name="uq_playbook_steps_run_position"),
    sa.Index("ix_playbook_steps_status", "status", "next_attempt_at"),
)

tasks = sa.Table(
    "playbook_tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("step_id", sa.Integer, sa.ForeignKey("playbook_steps.id"), nullable=False, unique=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("playbook_runs.id"), nullable=False),
    sa.Column("account_id", sa.String(200), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("assignee", sa.String(200), nullable=True),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # open | snoozed | done
    sa.Column("snoozed_until", sa.DateTime, nullable=True),
    sa.Column("completed_at", sa.DateTime, nullable=True),
    sa.Column("completed_by", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_playbook_tasks_assignee", "assignee", "status"),
    # "last touch" (completed tasks per account) and its change marker read only the done tasks
    sa.Index("ix_playbook_tasks_status_account", "status", "account_id", "completed_at"),
)

alerts = sa.Table(
    "playbook_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("step_id", sa.Integer, sa.ForeignKey("playbook_steps.id"), nullable=False, unique=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("playbook_runs.id"), nullable=False),
    sa.Column("account_id", sa.String(200), nullable=False),
    sa.Column("recipient_user", sa.String(200), nullable=True),
    sa.Column("recipient_role", sa.String(50), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

alert_reads = sa.Table(
    "playbook_alert_reads",
    metadata,
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("playbook_alerts.id"), primary_key=True),
    sa.Column("username", sa.String(200), primary_key=True),
    sa.Column("read_at", sa.DateTime, nullable=False),
)
