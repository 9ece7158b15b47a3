"""indexes of the admin users grid: its sorts, the locked filter, deep pages and prefix
search

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 07:40:00

The grid (``directory/grid.py``) reads a page in the order of an index that ends with the
user id, its tiebreaker, so that a page costs the same at any depth: accounts by last login
and by failed tries, users by creation (at 100,000 users a sort by creation took 360 ms on
SQLite without it). Locked users, the filter admins use most, are found through an index.
On PostgreSQL the unique userName index carries the id (INCLUDE), so that a page far into
the userName order is an index-only scan (the last page by startIndex: 180 ms before, 9 ms).

The search is ``LIKE 'prefix%'`` on the folded user name, name and emails. SQLite's LIKE
uses the tables' plain indexes (``case_sensitive_like``); PostgreSQL's uses a btree only
with pattern operators unless the database's collation is "C", and read every user instead
(150 ms at 100,000 users, whatever the prefix; 3 ms with these). The pattern indexes are
declared empty on SQLite (``WHERE 0``), so the schemas stay one at no cost there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ACCOUNTS = {
    "ix_accounts_tenant_id_last_login_user_id": ["tenant_id", "last_login", "user_id"],
    "ix_accounts_tenant_id_failed_tries_user_id": ["tenant_id", "failed_tries", "user_id"],
    "ix_accounts_tenant_id_locked": ["tenant_id", "locked"],
}
_PREFIXES = (
    ("users", "user_name_key"),
    ("users", "display_name_key"),
    ("user_emails", "value_key"),
)


def upgrade() -> None:
    for name, columns in _ACCOUNTS.items():
        op.create_index(name, "accounts", columns, unique=False)
    op.create_index("ix_users_tenant_id_created_id", "users", ["tenant_id", "created", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # The same unique index, carrying the id (built before the old one goes, so that
        # userName stays unique throughout).
        op.create_index(
            "ix_users_tenant_id_user_name_key_with_id",
            "users",
            ["tenant_id", "user_name_key"],
            unique=True,
            postgresql_include=["id"],
        )
        op.drop_index("ix_users_tenant_id_user_name_key", table_name="users")
        op.execute(
            "ALTER INDEX ix_users_tenant_id_user_name_key_with_id "
            "RENAME TO ix_users_tenant_id_user_name_key"
        )
    for table, column in _PREFIXES:
        op.create_index(
            f"ix_{table}_prefix_{column}",
            table,
            ["tenant_id", column],
            unique=False,
            postgresql_ops={column: "varchar_pattern_ops"},
            sqlite_where=sa.text("0"),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_users_tenant_id_user_name_key", table_name="users")
        op.create_index(
            "ix_users_tenant_id_user_name_key", "users", ["tenant_id", "user_name_key"], unique=True
        )
    op.drop_index("ix_users_tenant_id_created_id", table_name="users")
    for table, column in reversed(_PREFIXES):
        op.drop_index(f"ix_{table}_prefix_{column}", table_name=table)
    for name in reversed(_ACCOUNTS):
        op.drop_index(name, table_name="accounts")
