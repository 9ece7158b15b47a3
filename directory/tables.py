"""The SQL schema of the directory.

Every tenant-owned table carries ``tenant_id`` as the first column of its key
and of every index, and no query joins across tenants: the schema can be
distributed by tenant (Citus) without redesign. Alembic owns the schema in a
database; these declarations are what its migrations are checked against.

A user or group is stored as its canonical SCIM document (``document``) plus
the columns and side tables that are filtered, sorted, joined or unique.
``id``, ``meta``, a user's ``groups`` and a group's ``members`` are never kept
in the document: they are derived from the columns and the memberships table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL, so that later filters on unindexed attributes can use
# its operators; plain JSON text elsewhere.
Document = JSON().with_variant(JSONB(), "postgresql")

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: Document}


class Tenant(Base):
    """A customer organisation; everything else belongs to exactly one."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of a tenant. Only the SHA-256 of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # A high-entropy random secret needs no slow hash: SHA-256 makes the lookup
    # an index probe, and a stolen table still yields no usable token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, shown in listings so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[datetime]
    revoked: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "id"),)


class User(Base):
    """A user: its SCIM document and the columns queries use."""

    __tablename__ = "users"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(256))
    # userName is caseExact=false: the comparison key (NFC, lower case) is what
    # is unique and what filters compare.
    user_name_key: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(256))
    display_name_key: Mapped[str | None] = mapped_column(String(256))
    # As the document says: None when the client sent no `active` (filters then
    # do not match `active eq true`; sign-in treats it as active).
    active: Mapped[bool | None] = mapped_column(Boolean)
    created: Mapped[datetime]
    last_modified: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    document: Mapped[dict[str, Any]]

    __table_args__ = (
        Index(None, "tenant_id", "user_name_key", unique=True),
        Index(None, "tenant_id", "external_id"),
        Index(None, "tenant_id", "display_name_key"),
    )


class UserEmail(Base):
    """A user's email addresses, kept beside the document so they can be searched."""

    __tablename__ = "user_emails"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(String(320))
    value_key: Mapped[str] = mapped_column(String(320))
    type: Mapped[str | None] = mapped_column(String(64))
    primary: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "value_key"),
    )


class Group(Base):
    """A group: its SCIM document (without members) and the columns queries use."""

    __tablename__ = "groups"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    display_name_key: Mapped[str] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    created: Mapped[datetime]
    last_modified: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    document: Mapped[dict[str, Any]]

    __table_args__ = (
        Index(None, "tenant_id", "display_name_key"),
        Index(None, "tenant_id", "external_id"),
    )


class Membership(Base):
    """One member of one group, a user or a group.

    Indexed both ways: a group's members by the primary key, a member's groups
    by the second index. Adding a member is one row, whatever the group's size.
    """

    __tablename__ = "memberships"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_type: Mapped[str] = mapped_column(String(16))
    # The label the client gave the member (``display`` is readWrite in RFC 7643);
    # without one, the member's own displayName (or userName) is shown.
    display: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "group_id"], ["groups.tenant_id", "groups.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "member_id"),
    )
