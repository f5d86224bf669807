"""agencies.source: whether an agency's name and active flag follow config.yaml or the console

Revision ID: 0006
Revises: 0005
The super-admin manages agencies in the console (issue 4): adds agencies that config.yaml does not list,
renames them, deactivates and reactivates them. ``source`` says who owns the row: ``config`` (kept in step
with config.yaml at every start) or ``console`` (changed by the super-admin; the start leaves it alone).

Create Date: 2026-11-23 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='config', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('source')
