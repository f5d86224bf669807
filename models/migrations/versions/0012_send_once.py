"""Nothing sent twice, nothing retried forever (issue 13: points 2 and 4)

Revision ID: 0012
Revises: 0010
inbound_messages.attempts, next_attempt_at, last_error, dead_at: the processing job's runs, the time before
which the scheduler leaves the message to the run that has it, the last error, and when it was given up after
jobs.max_attempts runs (dead: listed in the console with a retry button). outbox.unsure_since: the provider may
hold this message though we have no id for it; it is asked before the message is sent again.

Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('dead_at', models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsure_since', models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('unsure_since')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('dead_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
