"""Citizens confirm or dispute a resolution: the questionnaire asked after it (issue 15)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaires',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_questionnaires_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_questionnaires_contact_id_contacts')),
    sa.ForeignKeyConstraint(['event_id'], ['status_events.id'], name=op.f('fk_questionnaires_event_id_status_events')),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_questionnaires_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')),
    sa.UniqueConstraint('event_id', name=op.f('uq_questionnaires_event_id'))
    )
    with op.batch_alter_table('questionnaires', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questionnaires_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaires_asked_at'), ['asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaires_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaires_contact_id'), ['contact_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('questionnaires', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaires_contact_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaires_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaires_asked_at'))
        batch_op.drop_index(batch_op.f('ix_questionnaires_agency_code'))
    op.drop_table('questionnaires')
