"""The router learns from the city: labelled examples and trained models (issue 12)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routing_examples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('stance', sa.String(length=8), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                            name=op.f('fk_routing_examples_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_examples')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_routing_examples_dedupe_key'))
    )
    with op.batch_alter_table('routing_examples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_examples_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_examples_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_examples_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_routing_examples_source'), ['source'], unique=False)
    op.create_table('router_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('example_count', sa.Integer(), nullable=False),
    sa.Column('last_example_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_models')),
    sa.UniqueConstraint('version', name=op.f('uq_router_models_version'))
    )


def downgrade() -> None:
    op.drop_table('router_models')
    with op.batch_alter_table('routing_examples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_examples_source'))
        batch_op.drop_index(batch_op.f('ix_routing_examples_content_hash'))
        batch_op.drop_index(batch_op.f('ix_routing_examples_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_routing_examples_agency_code'))
    op.drop_table('routing_examples')
