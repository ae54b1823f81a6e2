"""Indexes for the last-touch column and its change marker

Revision ID: 0004_touch_indexes
Revises: 0003_activities_contacts
The "Days since last touch" column is cached under a change marker (playbooks.today.touch_marker) that
reads the done tasks and the manual playbook starts on every Accounts rerun; without these indexes it scanned
every task and run (0.2 s a rerun with 385,000 tasks and 322,000 runs, at 1,000,000 accounts).
``if_not_exists``: a store whose tables were created from the current metadata (before migrations) has them.
"""

from __future__ import annotations

from alembic import op

revision = '0004_touch_indexes'
down_revision = '0003_activities_contacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account_activities', schema=None) as batch_op:
        batch_op.create_index('ix_account_activities_occurred_on', ['occurred_on'], unique=False, if_not_exists=True)

    with op.batch_alter_table('account_notes', schema=None) as batch_op:
        batch_op.create_index('ix_account_notes_created_at', ['created_at'], unique=False, if_not_exists=True)

    with op.batch_alter_table('playbook_runs', schema=None) as batch_op:
        batch_op.create_index('ix_playbook_runs_trigger', ['trigger_type', 'account_id', 'started_at'], unique=False, if_not_exists=True)

    with op.batch_alter_table('playbook_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_playbook_tasks_status_account', ['status', 'account_id', 'completed_at'], unique=False, if_not_exists=True)



def downgrade() -> None:
    with op.batch_alter_table('playbook_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_playbook_tasks_status_account', if_exists=True)

    with op.batch_alter_table('playbook_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_playbook_runs_trigger', if_exists=True)

    with op.batch_alter_table('account_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_account_notes_created_at', if_exists=True)

    with op.batch_alter_table('account_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_account_activities_occurred_on', if_exists=True)

