"""merge the admin (0002), intake (0003) and channels (0004) branches into one head

Revision ID: 0005
Revises: 0002, 0003, 0004
The three were written side by side from 0001; they touch different tables. From here on there is one
head again, so ``alembic upgrade head`` and ``sambat db upgrade`` mean the same thing.

Create Date: 2026-11-22 22:45:00
"""

revision = '0005'
down_revision = ('0002', '0003', '0004')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
