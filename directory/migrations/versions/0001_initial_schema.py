"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 22:05:22.107168
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('name', name=op.f('uq_tenants_name'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_tenant_id_id'), 'api_tokens', ['tenant_id', 'id'], unique=False)
    op.create_table('groups',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('display_name', sa.String(length=256), nullable=False),
    sa.Column('display_name_key', sa.String(length=256), nullable=False),
    sa.Column('external_id', sa.String(length=256), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_groups_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_groups'))
    )
    op.create_index(op.f('ix_groups_tenant_id_display_name_key'), 'groups', ['tenant_id', 'display_name_key'], unique=False)
    op.create_index(op.f('ix_groups_tenant_id_external_id'), 'groups', ['tenant_id', 'external_id'], unique=False)
    op.create_table('users',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_name', sa.String(length=256), nullable=False),
    sa.Column('user_name_key', sa.String(length=256), nullable=False),
    sa.Column('external_id', sa.String(length=256), nullable=True),
    sa.Column('display_name', sa.String(length=256), nullable=True),
    sa.Column('display_name_key', sa.String(length=256), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_modified', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_users'))
    )
    op.create_index(op.f('ix_users_tenant_id_display_name_key'), 'users', ['tenant_id', 'display_name_key'], unique=False)
    op.create_index(op.f('ix_users_tenant_id_external_id'), 'users', ['tenant_id', 'external_id'], unique=False)
    op.create_index(op.f('ix_users_tenant_id_user_name_key'), 'users', ['tenant_id', 'user_name_key'], unique=True)
    op.create_table('memberships',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('member_type', sa.String(length=16), nullable=False),
    sa.Column('display', sa.String(length=256), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'group_id'], ['groups.tenant_id', 'groups.id'], name=op.f('fk_memberships_tenant_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'group_id', 'member_id', name=op.f('pk_memberships'))
    )
    op.create_index(op.f('ix_memberships_tenant_id_member_id'), 'memberships', ['tenant_id', 'member_id'], unique=False)
    op.create_table('user_emails',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('value_key', sa.String(length=320), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=True),
    sa.Column('primary', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_user_emails_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'user_id', 'position', name=op.f('pk_user_emails'))
    )
    op.create_index(op.f('ix_user_emails_tenant_id_value_key'), 'user_emails', ['tenant_id', 'value_key'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_user_emails_tenant_id_value_key'), table_name='user_emails')
    op.drop_table('user_emails')
    op.drop_index(op.f('ix_memberships_tenant_id_member_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_index(op.f('ix_users_tenant_id_user_name_key'), table_name='users')
    op.drop_index(op.f('ix_users_tenant_id_external_id'), table_name='users')
    op.drop_index(op.f('ix_users_tenant_id_display_name_key'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_groups_tenant_id_external_id'), table_name='groups')
    op.drop_index(op.f('ix_groups_tenant_id_display_name_key'), table_name='groups')
    op.drop_table('groups')
    op.drop_index(op.f('ix_api_tokens_tenant_id_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('tenants')
