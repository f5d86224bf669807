"""A phone or an e-mail joins a contact only when proven (issue 14): contacts of one identity, and pairs

The unique constraints on contacts.phone and contacts.email become: one contact per phone alone, one per
address alone (partial unique indexes), and one per pair of both, so an unproven pair from the form is a
contact of its own instead of joining someone else's.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_contacts_phone', type_='unique')
        batch_op.drop_constraint('uq_contacts_email', type_='unique')
        batch_op.create_unique_constraint('uq_contacts_pair', ['phone', 'email'])
    op.create_index('uq_contacts_phone_only', 'contacts', ['phone'], unique=True,
                    postgresql_where=sa.text('email IS NULL'), sqlite_where=sa.text('email IS NULL'))
    op.create_index('uq_contacts_email_only', 'contacts', ['email'], unique=True,
                    postgresql_where=sa.text('phone IS NULL'), sqlite_where=sa.text('phone IS NULL'))
    op.create_index('ix_contacts_email', 'contacts', ['email'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contacts_email', table_name='contacts')
    op.drop_index('uq_contacts_email_only', table_name='contacts')
    op.drop_index('uq_contacts_phone_only', table_name='contacts')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_contacts_pair', type_='unique')
        batch_op.create_unique_constraint('uq_contacts_email', ['email'])
        batch_op.create_unique_constraint('uq_contacts_phone', ['phone'])
