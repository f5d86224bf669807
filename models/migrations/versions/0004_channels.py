"""channels: e-mail fields on the outbox, automated inbound messages

Revision ID: 0004
Revises: 0001
Inbound e-mail and SMS through an Android phone (issue 6): outbox.subject, outbox.in_reply_to and
outbox.thread_references for threaded mail, and inbound_messages.automated for auto-replies, bounces and
list mail that are stored but never answered.

Create Date: 2026-11-23 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automated', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('in_reply_to', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('thread_references', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('thread_references')
        batch_op.drop_column('in_reply_to')
        batch_op.drop_column('subject')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('automated')
