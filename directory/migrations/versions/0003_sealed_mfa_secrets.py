"""sealed MFA secrets and the last TOTP step used

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sealed secrets are longer than the clear ones; batch mode copies the table on SQLite,
    # which cannot alter a column's type.
    with op.batch_alter_table('accounts') as batch:
        batch.alter_column('mfa_secret', type_=sa.String(length=200), existing_nullable=True)
        batch.add_column(sa.Column('mfa_last_step', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('mfa_last_step')
        batch.alter_column('mfa_secret', type_=sa.String(length=64), existing_nullable=True)
