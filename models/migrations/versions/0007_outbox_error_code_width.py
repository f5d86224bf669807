"""outbox.error_code: 100 characters, so every provider's failure code fits whole

Revision ID: 0007
Revises: 0006
Twilio's codes are five digits, but the SMS Gateway for Android reports a failure as a reason string
(``RESULT_ERROR_GENERIC_FAILURE``, ``RESULT_ERROR_NO_SERVICE`` ...) and a mail bounce as an enhanced status
code; 20 characters cut the reasons short.

Create Date: 2026-11-23 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('error_code', existing_type=sa.String(length=20), type_=sa.String(length=100),
                              existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbox SET error_code = substr(error_code, 1, 20) WHERE length(error_code) > 20")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('error_code', existing_type=sa.String(length=100), type_=sa.String(length=20),
                              existing_nullable=True)
