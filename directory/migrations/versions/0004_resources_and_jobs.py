"""resources and jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 03:42:02.093222
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_jobs_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index(op.f('ix_jobs_status_id'), 'jobs', ['status', 'id'], unique=False)
    op.create_index(op.f('ix_jobs_tenant_id_id'), 'jobs', ['tenant_id', 'id'], unique=False)
    op.create_table('resources',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('legacy_ref', sa.String(length=100), nullable=True),
    sa.Column('resource_group', sa.String(length=64), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('department_description', sa.String(length=200), nullable=True),
    sa.Column('manager', sa.String(length=64), nullable=True),
    sa.Column('cost_centre', sa.String(length=100), nullable=True),
    sa.Column('cost_centre_description', sa.String(length=200), nullable=True),
    sa.Column('staff', sa.Boolean(), nullable=True),
    sa.Column('payment_method', sa.String(length=100), nullable=True),
    sa.Column('payment_terms', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_resources_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'code', name=op.f('pk_resources'))
    )
    op.create_index(op.f('ix_resources_tenant_id_user_id'), 'resources', ['tenant_id', 'user_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_resources_tenant_id_user_id'), table_name='resources')
    op.drop_table('resources')
    op.drop_index(op.f('ix_jobs_tenant_id_id'), table_name='jobs')
    op.drop_index(op.f('ix_jobs_status_id'), table_name='jobs')
    op.drop_table('jobs')
