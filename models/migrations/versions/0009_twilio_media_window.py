"""Twilio: photos, WhatsApp's 24-hour window, locations (issue 10, part 3)

Revision ID: 0009
Revises: 0008
media_fetches: MMS and WhatsApp files to download with the provider's credentials, each retried on its own
with backoff. outbox.path (freeform, template, sms_fallback) and outbox.template_values: how a WhatsApp
message went, and the values an approved template is filled with past the 24-hour window.
inbound_messages.location: a WhatsApp location pin; an index on (sender, received_at) finds a citizen's
last WhatsApp message, which opens the window.

Create Date: 2026-12-01 05:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', JSON, nullable=True))
        batch_op.create_index('ix_inbound_messages_sender_received_at', ['sender', 'received_at'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('path', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('template_values', JSON, nullable=True))
    op.create_table('media_fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'],
                            name=op.f('fk_media_fetches_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_messages.id'],
                            name=op.f('fk_media_fetches_inbound_message_id_inbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_fetches')),
    sa.UniqueConstraint('inbound_message_id', 'position', name=op.f('uq_media_fetches_inbound_message_id_position'))
    )
    with op.batch_alter_table('media_fetches', schema=None) as batch_op:
        batch_op.create_index('ix_media_fetches_status_next_attempt', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('media_fetches', schema=None) as batch_op:
        batch_op.drop_index('ix_media_fetches_status_next_attempt')
    op.drop_table('media_fetches')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('template_values')
        batch_op.drop_column('path')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_messages_sender_received_at')
        batch_op.drop_column('location')
