"""The process holding a send's claim: outbox.claimed_by, so a claim whose process is gone is taken back at once
(issue 13)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('claimed_by')
