"""Baseline: the operational store's schema at commit c978f3b.

The schema ``create_all`` built before migrations existed.
Tables that already exist are left alone, so a workspace created before migrations
(no ``alembic_version`` table) is adopted as this revision without touching its rows.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "account_notes" not in existing:
        op.create_table(
            "account_notes",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.String(length=200), nullable=False),
            sa.Column("author", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index(op.f("ix_account_notes_account_id"), "account_notes", ["account_id"], unique=False)
    if "audit_log" not in existing:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("actor", sa.String(length=200), nullable=False),
            sa.Column("action", sa.String(length=100), nullable=False),
            sa.Column("target", sa.String(length=500), nullable=True),
            sa.Column("detail", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    if "model_registry" not in existing:
        op.create_table(
            "model_registry",
            sa.Column("id", sa.String(length=100), nullable=False),
            sa.Column("target", sa.String(length=20), nullable=False),
            sa.Column("algorithm", sa.String(length=20), nullable=False),
            sa.Column("params", sa.Text(), nullable=False),
            sa.Column("features", sa.Text(), nullable=False),
            sa.Column("training_start", sa.String(length=20), nullable=True),
            sa.Column("training_end", sa.String(length=20), nullable=True),
            sa.Column("horizon_days", sa.Integer(), nullable=True),
            sa.Column("validation", sa.String(length=20), nullable=True),
            sa.Column("metrics", sa.Text(), nullable=False),
            sa.Column("artifact_path", sa.String(length=1000), nullable=False),
            sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("created_by", sa.String(length=200), nullable=True),
            sa.PrimaryKeyConstraint("id")
        )
        op.create_index("ix_model_registry_target_status", "model_registry", ["target", "status"], unique=False)
    if "playbooks" not in existing:
        op.create_table(
            "playbooks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("key", sa.String(length=100), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("purpose", sa.Text(), nullable=False),
            sa.Column("driver_groups", sa.Text(), nullable=False),
            sa.Column("rule", sa.Text(), nullable=True),
            sa.Column("steps", sa.Text(), nullable=False),
            sa.Column("cooldown_days", sa.Integer(), nullable=False),
            sa.Column("holdout_pct", sa.Float(), nullable=False),
            sa.Column("horizon_days", sa.Integer(), nullable=False),
            sa.Column("resources", sa.Text(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("starter", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("created_by", sa.String(length=200), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.Column("updated_by", sa.String(length=200), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("key"),
            sa.UniqueConstraint("name")
        )
    if "playbook_runs" not in existing:
        op.create_table(
            "playbook_runs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("playbook_id", sa.Integer(), nullable=False),
            sa.Column("account_id", sa.String(length=200), nullable=False),
            sa.Column("account_name", sa.String(length=300), nullable=True),
            sa.Column("csm", sa.String(length=200), nullable=True),
            sa.Column("idempotency_key", sa.String(length=300), nullable=False),
            sa.Column("request_key", sa.String(length=300), nullable=True),
            sa.Column("trigger_type", sa.String(length=20), nullable=False),
            sa.Column("triggered_by", sa.String(length=200), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("assignee", sa.String(length=200), nullable=True),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("holdout", sa.Boolean(), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("p_churn", sa.Float(), nullable=True),
            sa.Column("risk_band", sa.String(length=20), nullable=True),
            sa.Column("p_expansion", sa.Float(), nullable=True),
            sa.Column("arr", sa.Float(), nullable=True),
            sa.Column("model_id", sa.String(length=200), nullable=True),
            sa.Column("scored_at", sa.DateTime(), nullable=True),
            sa.Column("drivers", sa.Text(), nullable=True),
            sa.Column("completed_at", sa.DateTime(), nullable=True),
            sa.ForeignKeyConstraint(["playbook_id"], ["playbooks.id"], ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("idempotency_key"),
            sa.UniqueConstraint("request_key")
        )
        op.create_index("ix_playbook_runs_account", "playbook_runs", ["account_id"], unique=False)
        op.create_index("ix_playbook_runs_pb_account", "playbook_runs", ["playbook_id", "account_id", "started_at"], unique=False)
    if "playbook_steps" not in existing:
        op.create_table(
            "playbook_steps",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=20), nullable=False),
            sa.Column("status", sa.String(length=30), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("requires_confirmation", sa.Boolean(), nullable=False),
            sa.Column("confirmed_by", sa.String(length=200), nullable=True),
            sa.Column("confirmed_at", sa.DateTime(), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("max_attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
            sa.Column("claim_token", sa.String(length=64), nullable=True),
            sa.Column("claimed_at", sa.DateTime(), nullable=True),
            sa.Column("delivered_at", sa.DateTime(), nullable=True),
            sa.Column("result", sa.Text(), nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["run_id"], ["playbook_runs.id"], ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("run_id", "position", name="uq_playbook_steps_run_position")
        )
        op.create_index("ix_playbook_steps_status", "playbook_steps", ["status", "next_attempt_at"], unique=False)
    if "playbook_alerts" not in existing:
        op.create_table(
            "playbook_alerts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("step_id", sa.Integer(), nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("account_id", sa.String(length=200), nullable=False),
            sa.Column("recipient_user", sa.String(length=200), nullable=True),
            sa.Column("recipient_role", sa.String(length=50), nullable=True),
            sa.Column("message", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["run_id"], ["playbook_runs.id"], ),
            sa.ForeignKeyConstraint(["step_id"], ["playbook_steps.id"], ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("step_id")
        )
    if "playbook_tasks" not in existing:
        op.create_table(
            "playbook_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("step_id", sa.Integer(), nullable=False),
            sa.Column("run_id", sa.Integer(), nullable=False),
            sa.Column("account_id", sa.String(length=200), nullable=False),
            sa.Column("title", sa.String(length=500), nullable=False),
            sa.Column("description", sa.Text(), nullable=True),
            sa.Column("assignee", sa.String(length=200), nullable=True),
            sa.Column("due_at", sa.DateTime(), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("snoozed_until", sa.DateTime(), nullable=True),
            sa.Column("completed_at", sa.DateTime(), nullable=True),
            sa.Column("completed_by", sa.String(length=200), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["run_id"], ["playbook_runs.id"], ),
            sa.ForeignKeyConstraint(["step_id"], ["playbook_steps.id"], ),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("step_id")
        )
        op.create_index("ix_playbook_tasks_assignee", "playbook_tasks", ["assignee", "status"], unique=False)
    if "playbook_alert_reads" not in existing:
        op.create_table(
            "playbook_alert_reads",
            sa.Column("alert_id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=200), nullable=False),
            sa.Column("read_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["alert_id"], ["playbook_alerts.id"], ),
            sa.PrimaryKeyConstraint("alert_id", "username")
        )


def downgrade() -> None:
    for table in ("playbook_alert_reads", "playbook_tasks", "playbook_alerts", "playbook_steps", "playbook_runs",
                  "playbooks", "model_registry", "audit_log", "account_notes"):
        op.drop_table(table)
