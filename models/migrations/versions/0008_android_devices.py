"""SMS Gateway for Android as the app ships now (issue 10, part 2)

Revision ID: 0008
Revises: 0007
The phones a channel works through (devices: last heard, last event, last ping) and the e-mail alerts when
they all go quiet (device_alerts, one per silence under a unique key); on inbound_messages, the device and
SIM a message came in through, so the reply goes out the same way.

Create Date: 2026-12-01 05:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('device_id', sa.String(length=64), nullable=False),
        sa.Column('first_seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_event', sa.String(length=40), nullable=False),
        sa.Column('last_ping_at', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_sim_number', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
        sa.UniqueConstraint('channel', 'device_id', name=op.f('uq_devices_channel_device_id')),
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_last_seen_at'), ['last_seen_at'], unique=False)

    op.create_table(
        'device_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('silent_since', models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('waiting', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_alerts')),
        sa.UniqueConstraint('key', name=op.f('uq_device_alerts_key')),
    )
    with op.batch_alter_table('device_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_alerts_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sim_number', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('sim_number')
        batch_op.drop_column('device_id')

    with op.batch_alter_table('device_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_alerts_created_at'))
    op.drop_table('device_alerts')

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_last_seen_at'))
    op.drop_table('devices')
