"""SMS Gateway for Android as the app ships now (issue 10, part 2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 05:00:00
"""

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
