"""accounts, catalog, credentials, audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 01:16:32.086536
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_throttle',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttle'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('client', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_audit_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_tenant_id_id'), 'audit_events', ['tenant_id', 'id'], unique=False)
    op.create_index(op.f('ix_audit_events_tenant_id_target_id'), 'audit_events', ['tenant_id', 'target', 'id'], unique=False)
    op.create_table('catalog',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_catalog_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'kind', 'code', name=op.f('pk_catalog'))
    )
    op.create_table('tenant_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_settings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenant_settings'))
    )
    op.create_table('accounts',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('user_type', sa.String(length=64), nullable=True),
    sa.Column('login_allowed', sa.Boolean(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('locked_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_reason', sa.String(length=500), nullable=True),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_tries', sa.Integer(), nullable=False),
    sa.Column('mfa_secret', sa.String(length=64), nullable=True),
    sa.Column('mfa_enabled', sa.Boolean(), nullable=False),
    sa.Column('mfa_required', sa.Boolean(), nullable=True),
    sa.Column('mfa_not_enforced', sa.Boolean(), nullable=False),
    sa.Column('force_password_change', sa.Boolean(), nullable=False),
    sa.Column('login_allowed_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('login_allowed_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('access_licence', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('password_set_by', sa.String(length=16), nullable=True),
    sa.Column('password_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approval', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_accounts_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'user_id', name=op.f('pk_accounts'))
    )
    op.create_index(op.f('ix_accounts_tenant_id_approval'), 'accounts', ['tenant_id', 'approval'], unique=False)
    op.create_table('credentials',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('client', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_credentials_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_credentials'))
    )
    op.create_index(op.f('ix_credentials_tenant_id_user_id_kind'), 'credentials', ['tenant_id', 'user_id', 'kind'], unique=False)
    op.create_table('grants',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_grants_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'user_id', 'kind', 'code', name=op.f('pk_grants'))
    )
    op.create_index(op.f('ix_grants_tenant_id_kind_code'), 'grants', ['tenant_id', 'kind', 'code'], unique=False)
    op.create_table('password_history',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_password_history_tenant_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'user_id', 'id', name=op.f('pk_password_history'))
    )
    op.create_index('ix_user_emails_login', 'user_emails', ['value_key'], unique=False)
    op.create_index('ix_users_login', 'users', ['user_name_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_users_login', table_name='users')
    op.drop_index('ix_user_emails_login', table_name='user_emails')
    op.drop_table('password_history')
    op.drop_index(op.f('ix_grants_tenant_id_kind_code'), table_name='grants')
    op.drop_table('grants')
    op.drop_index(op.f('ix_credentials_tenant_id_user_id_kind'), table_name='credentials')
    op.drop_table('credentials')
    op.drop_index(op.f('ix_accounts_tenant_id_approval'), table_name='accounts')
    op.drop_table('accounts')
    op.drop_table('tenant_settings')
    op.drop_table('catalog')
    op.drop_index(op.f('ix_audit_events_tenant_id_target_id'), table_name='audit_events')
    op.drop_index(op.f('ix_audit_events_tenant_id_id'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_table('sign_in_throttle')
