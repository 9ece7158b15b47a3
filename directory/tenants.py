"""Tenants and their API tokens.

A token is shown once, when created; the store keeps only its SHA-256. The
secret carries 256 bits of randomness, so a fast hash is enough to make a
stolen table useless, and it lets a request find its token with one index probe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from directory import tables
from directory.audit import Actor
from directory.clock import as_utc, utcnow
from directory.errors import Conflict, InvalidValue, NotFound
from directory.values import TENANT_NAME_LENGTH, bounded_text

TOKEN_PREFIX = "scimd_"
# "scim" reads and writes SCIM resources, "scim:read" only reads them, "admin" is the admin API.
SCOPES = frozenset({"scim", "scim:read", "admin"})
DEFAULT_SCOPES = ("scim",)


@dataclass(frozen=True)
class TenantInfo:
    id: int
    name: str
    created: datetime


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token after its creation: never the secret."""

    id: int
    tenant_id: int
    tenant_name: str
    prefix: str
    scopes: tuple[str, ...]
    description: str
    created: datetime
    revoked: datetime | None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the tenant a valid token belongs to, and its scopes.

    An API token of the store is known by its ``token_id``; a JWT access token of an identity
    provider has none, and is known by its ``subject`` instead; a person signed in (the admin
    console's admins) by their ``user_id``.
    """

    tenant_id: int
    token_id: int | None
    scopes: frozenset[str]
    subject: str | None = None
    """For a JWT access token: ``"<issuer host>/<sub>"``."""
    user_id: str | None = None
    """For a user's sign-in session or API key: the user."""

    @property
    def rate_limit_key(self) -> str:
        """The key of this principal's request budget: its API token, JWT subject or user."""
        if self.subject is not None:
            return f"jwt:{self.subject}"
        if self.user_id is not None:
            return f"user:{self.tenant_id}:{self.user_id}"
        return f"token:{self.token_id}"

    def actor(self, token_kind: str, client: str | None) -> Actor:
        """Who this principal is in the audit log: ``token_kind`` (scim-token, admin-token)
        and the token's id, ``jwt`` and the subject, or ``user`` and the user's id."""
        if self.subject is not None:
            return Actor("jwt", self.subject, client)
        if self.user_id is not None:
            return Actor("user", self.user_id, client)
        return Actor(token_kind, str(self.token_id), client)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _tenant_info(row: Any) -> TenantInfo:
    return TenantInfo(id=row.id, name=row.name, created=as_utc(row.created))


def _tenant_name(name: str) -> str:
    checked = bounded_text("tenant name", name.strip(), TENANT_NAME_LENGTH, required=True)
    assert checked is not None
    return checked


def create_tenant(conn: Connection, name: str) -> TenantInfo:
    name = _tenant_name(name)
    try:
        with conn.begin_nested():
            created = utcnow()
            tenant_id = conn.execute(
                insert(tables.Tenant).values(name=name, created=created).returning(tables.Tenant.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise Conflict(f"tenant {name!r} already exists") from exc
    return TenantInfo(id=tenant_id, name=name, created=created)


def get_tenant(conn: Connection, name: str) -> TenantInfo:
    row = conn.execute(select(tables.Tenant).where(tables.Tenant.name == name)).first()
    if row is None:
        raise NotFound(f"no tenant named {name!r}")
    return _tenant_info(row)


def ensure_tenant(conn: Connection, name: str) -> TenantInfo:
    """Return the tenant of that name, creating it if it does not exist yet."""
    name = _tenant_name(name)
    try:
        return get_tenant(conn, name)
    except NotFound:
        try:
            return create_tenant(conn, name)
        except Conflict:  # created meanwhile by another process
            return get_tenant(conn, name)


def list_tenants(conn: Connection) -> list[TenantInfo]:
    rows = conn.execute(select(tables.Tenant).order_by(tables.Tenant.name)).all()
    return [_tenant_info(row) for row in rows]


def delete_tenant(conn: Connection, name: str) -> None:
    """Delete a tenant and everything it owns."""
    tenant = get_tenant(conn, name)
    # The big tables first, explicitly, in an order that never leaves a dangling
    # reference; every other tenant-owned row (accounts, credentials, grants, SSO rows,
    # jobs, audit events) goes by its foreign key's ON DELETE CASCADE, which SQLite
    # enforces too (directory.database turns foreign_keys on). Audit events must go that
    # way: the database refuses to delete one while its tenant exists (migration 0006).
    for table in (
        tables.Membership,
        tables.UserEmail,
        tables.Group,
        tables.User,
        tables.ApiToken,
    ):
        conn.execute(delete(table).where(table.tenant_id == tenant.id))
    conn.execute(delete(tables.Tenant).where(tables.Tenant.id == tenant.id))


def create_token(
    conn: Connection,
    tenant_id: int,
    *,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    description: str = "",
) -> tuple[str, TokenInfo]:
    """Create a token; returns the secret (shown once) and what is stored about it."""
    unknown = set(scopes) - SCOPES
    if unknown or not scopes:
        raise InvalidValue(f"unknown scopes {sorted(unknown)}; known: {sorted(SCOPES)}")
    tenant_name = conn.execute(
        select(tables.Tenant.name).where(tables.Tenant.id == tenant_id)
    ).scalar_one_or_none()
    if tenant_name is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = utcnow()
    token_id = conn.execute(
        insert(tables.ApiToken)
        .values(
            tenant_id=tenant_id,
            token_hash=hash_token(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            scopes=" ".join(sorted(set(scopes))),
            description=description,
            created=created,
        )
        .returning(tables.ApiToken.id)
    ).scalar_one()
    info = TokenInfo(
        id=token_id,
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=tuple(sorted(set(scopes))),
        description=description,
        created=created,
        revoked=None,
    )
    return secret, info


def list_tokens(conn: Connection, tenant_name: str | None = None) -> list[TokenInfo]:
    query = (
        select(tables.ApiToken, tables.Tenant.name.label("tenant_name"))
        .join(tables.Tenant, tables.Tenant.id == tables.ApiToken.tenant_id)
        .order_by(tables.Tenant.name, tables.ApiToken.id)
    )
    if tenant_name is not None:
        query = query.where(tables.Tenant.name == tenant_name)
    return [
        TokenInfo(
            id=row.id,
            tenant_id=row.tenant_id,
            tenant_name=row.tenant_name,
            prefix=row.prefix,
            scopes=tuple(row.scopes.split()),
            description=row.description,
            created=as_utc(row.created),
            revoked=as_utc(row.revoked) if row.revoked else None,
        )
        for row in conn.execute(query)
    ]


def revoke_token(conn: Connection, token_id: int) -> None:
    result = conn.execute(
        update(tables.ApiToken)
        .where(tables.ApiToken.id == token_id, tables.ApiToken.revoked.is_(None))
        .values(revoked=utcnow())
    )
    if result.rowcount == 0:
        raise NotFound(f"no active token with id {token_id}")


# Built once (compiled once): token lookups run on every uncached request.
_TOKEN_BY_HASH = select(
    tables.ApiToken.id,
    tables.ApiToken.tenant_id,
    tables.ApiToken.token_hash,
    tables.ApiToken.scopes,
).where(tables.ApiToken.token_hash == bindparam("digest"), tables.ApiToken.revoked.is_(None))


def authenticate(conn: Connection, secret: str) -> Principal | None:
    """Return who a bearer secret stands for, or None for an unknown or revoked token."""
    digest = hash_token(secret)
    row = conn.execute(_TOKEN_BY_HASH, {"digest": digest}).first()
    # The lookup already matched on the digest; comparing again in constant
    # time keeps a database collation or index quirk from ever deciding it.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return Principal(tenant_id=row.tenant_id, token_id=row.id, scopes=frozenset(row.scopes.split()))
