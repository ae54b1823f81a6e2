"""Activities and contact edits

Revision ID: 0003_activities_contacts
Revises: 0002_sign_in
What CSMs log on the Account page (calls, meetings, emails, notes) and the contacts they add or edit
there (the warehouse's imported contacts win again at the next contacts import).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_activities_contacts'
down_revision = '0002_sign_in'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_activities',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_activities_account_id'), ['account_id'], unique=False)

    op.create_table('contact_edits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'contact_id', name='uq_contact_edits_account_contact')
    )


def downgrade() -> None:
    op.drop_table('contact_edits')
    with op.batch_alter_table('account_activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_activities_account_id'))

    op.drop_table('account_activities')
