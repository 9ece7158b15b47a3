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
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    text,
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


def _prefix_index(table: str, column: str) -> Index:
    """An index for ``LIKE 'prefix%'`` on PostgreSQL (the admin grid's search), whose btree
    indexes serve LIKE only with pattern operators unless the database's collation is "C".
    SQLite's LIKE uses the plain index (``case_sensitive_like``), so there the index is
    declared empty (``WHERE 0``): it costs no write and the two schemas stay one."""
    return Index(
        f"ix_{table}_prefix_{column}",
        "tenant_id",
        column,
        postgresql_ops={column: "varchar_pattern_ops"},
        sqlite_where=text("0"),
    )


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
        # With the id on PostgreSQL, so that a grid page far into the userName order is an
        # index-only scan (SQLite's index entries carry the row already).
        Index(None, "tenant_id", "user_name_key", unique=True, postgresql_include=["id"]),
        Index(None, "tenant_id", "external_id"),
        Index(None, "tenant_id", "display_name_key"),
        Index(None, "tenant_id", "created", "id"),  # the grid's sort by creation
        # The one index not led by tenant_id, on purpose: sign-in takes a login
        # without a tenant, and one account per login holds across tenants. On a
        # schema distributed by tenant, these lookups fan out to every shard.
        Index("ix_users_login", "user_name_key"),
        _prefix_index("users", "user_name_key"),
        _prefix_index("users", "display_name_key"),
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
        Index("ix_user_emails_login", "value_key"),  # sign-in by email: see users' ix_users_login
        _prefix_index("user_emails", "value_key"),
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


# --- accounts: what admins manage and sign-in enforces -------------------------------


class Account(Base):
    """The sign-in side of a user: state admins set and facts sign-in records.

    One row per user, created with it. Kept out of the SCIM document so that a
    sign-in (last login, failed tries) never rewrites the document; SCIM shows
    these columns as the ``urn:scimd:schemas:extension:account:2.0:User``
    extension.
    """

    __tablename__ = "accounts"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_type: Mapped[str | None] = mapped_column(String(64))
    # False until an admin grants login access (or approves the user); block-login sets it
    # back to False with a reason.
    login_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_date: Mapped[datetime | None]
    locked_reason: Mapped[str | None] = mapped_column(String(500))
    last_login: Mapped[datetime | None]
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    # Sealed with the server key (directory.sealing); never in the clear at rest.
    mfa_secret: Mapped[str | None] = mapped_column(String(200))
    # The TOTP time step of the last code accepted: a code is good once.
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: the tenant's default decides.
    mfa_required: Mapped[bool | None] = mapped_column(Boolean)
    mfa_not_enforced: Mapped[bool] = mapped_column(Boolean, default=False)
    force_password_change: Mapped[bool] = mapped_column(Boolean, default=False)
    login_allowed_from: Mapped[datetime | None]
    login_allowed_to: Mapped[datetime | None]
    access_licence: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # "admin" while the password is one an admin set, "user" once its owner chose it.
    password_set_by: Mapped[str | None] = mapped_column(String(16))
    password_changed: Mapped[datetime | None]
    # "pending" while self-registered or just-in-time users wait for an admin.
    approval: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "approval"),
        # The admin grid: its sorts by last login and failed tries read pages in index order
        # (ending with the id, its tiebreaker), and its most used filter is "locked".
        Index(None, "tenant_id", "last_login", "user_id"),
        Index(None, "tenant_id", "failed_tries", "user_id"),
        Index(None, "tenant_id", "locked"),
    )


class TenantSettings(Base):
    """A tenant's environment defaults (password policy, MFA, lockout), as one document."""

    __tablename__ = "tenant_settings"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[dict[str, Any]]


class CatalogEntry(Base):
    """What can be granted: roles, role groups, licences, user types, user and DAC groups.

    ``kind`` says which; a role's ``rules`` say which licences and user types may
    hold it, a role group's say which roles it grants.
    """

    __tablename__ = "catalog"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[dict[str, Any]]


class Grant(Base):
    """One catalog entry granted to one user (a role, role group, user group or DAC group)."""

    __tablename__ = "grants"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "kind", "code"),
    )


class PasswordHistory(Base):
    """Hashes of a user's earlier passwords, for the policy's no-reuse rule."""

    __tablename__ = "password_history"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )


class Credential(Base):
    """A secret a user holds besides the password: a session, a trusted device, an API key,
    a sign-in challenge or a password-reset link. Only the SHA-256 of the secret is kept."""

    __tablename__ = "credentials"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column()
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime]
    expires: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    client: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id", "kind"),
    )


class AuditEvent(Base):
    """One thing that happened: who did what to which target, when, from where, with what result.

    Append-only: nothing in scimd updates or deletes these rows, and triggers (migration
    0006) make the database refuse to; they go only by the cascade of their tenant's deletion.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]

    __table_args__ = (
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "target", "id"),
    )


class SignInThrottle(Base):
    """Failed sign-ins per client address and per login, in a time window, for every process.

    Installation-wide, not a tenant's: an address or a login name is throttled
    before anyone knows which tenant it is about.
    """

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=0)


class Resource(Base):
    """A person's HR and finance record (a "resource"), linked to their account.

    Imported and exported with the account; defaults for its department, cost
    centre and the rest come from its resource group (a catalog entry of kind
    ``resource_group``). ``manager`` is another resource's code, kept as text: a
    manager may be imported after the people they manage, or leave first.
    """

    __tablename__ = "resources"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    description: Mapped[str | None] = mapped_column(String(200))
    legacy_ref: Mapped[str | None] = mapped_column(String(100))
    resource_group: Mapped[str | None] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str | None] = mapped_column(String(3))
    department: Mapped[str | None] = mapped_column(String(100))
    department_description: Mapped[str | None] = mapped_column(String(200))
    manager: Mapped[str | None] = mapped_column(String(64))
    cost_centre: Mapped[str | None] = mapped_column(String(100))
    cost_centre_description: Mapped[str | None] = mapped_column(String(200))
    staff: Mapped[bool | None] = mapped_column(Boolean)
    payment_method: Mapped[str | None] = mapped_column(String(100))
    payment_terms: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        # Deleting the account deletes its resource: the record exists for the account.
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id", unique=True),
    )


class Job(Base):
    """A queued piece of work (an import), claimed and run by any server process.

    A claim is a lease: the runner renews ``heartbeat`` as it goes, and a
    ``running`` job whose heartbeat is older than the lease is claimed again
    (its process died). ``done`` counts the rows whose outcome is committed, so
    a resumed job starts after them.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    actor: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    options: Mapped[dict[str, Any]]
    # The uploaded file, until the job ends.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[datetime]
    started: Mapped[datetime | None]
    finished: Mapped[datetime | None]
    heartbeat: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "status", "id"),
        Index(None, "tenant_id", "id"),
    )


class SsoProvider(Base):
    """An identity provider a tenant links its accounts to and signs in through.

    ``kind`` is ``azure_ad`` (msal, Microsoft Graph), ``oidc`` (any OpenID
    Connect provider) or ``csv`` (object ids uploaded as a file: OneLogin,
    Okta). ``config`` holds the public settings; the client secret is sealed
    with the server key (``directory.sealing``), never stored in the clear.
    """

    __tablename__ = "sso_providers"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]]
    client_secret: Mapped[str | None] = mapped_column(String(500))


class SsoLink(Base):
    """An account linked to its identity at a provider: one per (provider, object id) and
    one per (provider, account)."""

    __tablename__ = "sso_links"

    tenant_id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    email: Mapped[str | None] = mapped_column(String(320))
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "provider", "user_id", unique=True),
    )


class SsoSnapshot(Base):
    """A provider's users as the link wizard fetched them (Graph) or received them (CSV),
    kept so that the admin can page, filter and apply over the same list."""

    __tablename__ = "sso_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    users: Mapped[list[Any]] = mapped_column(Document)

    __table_args__ = (Index(None, "tenant_id", "id"),)


class SsoFlow(Base):
    """A sign-in or wizard login started at a provider and not yet come back: its state,
    nonce and PKCE verifier (msal's flow), found by the SHA-256 of the state, used once."""

    __tablename__ = "sso_flows"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))  # sign_in | wizard
    flow: Mapped[dict[str, Any]]
    expires: Mapped[datetime]
