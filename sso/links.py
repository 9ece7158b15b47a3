"""Links between accounts and their identities at a provider, and the local side of matching.

A link is unique both ways within a tenant and provider (``sso_links``): an
object id names one account, an account has one object id. Adding and
removing are audited in the caller's transaction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from directory import audit, tables, users
from directory.audit import Actor
from directory.clock import as_utc, utcnow
from directory.errors import Conflict, InvalidValue, NotFound

BATCH = 500


@dataclass(frozen=True)
class Link:
    provider: str
    object_id: str
    user_id: str
    email: str | None
    created: datetime
    created_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "objectId": self.object_id,
            "userId": self.user_id,
            "email": self.email,
            "created": as_utc(self.created).isoformat().replace("+00:00", "Z"),
            "createdBy": self.created_by,
        }


def accounts_by_email(
    conn: Connection, tenant_id: int, keys: Iterable[str]
) -> dict[str, list[str]]:
    """Email key → ids of the tenant's accounts with that email (any of their emails, or a
    userName that is the email)."""
    wanted = sorted(set(keys))
    found: dict[str, set[str]] = defaultdict(set)
    email, user = tables.UserEmail, tables.User
    for start in range(0, len(wanted), BATCH):
        part = wanted[start : start + BATCH]
        for key, user_id in conn.execute(
            select(email.value_key, email.user_id).where(
                email.tenant_id == tenant_id, email.value_key.in_(part)
            )
        ):
            found[key].add(user_id)
        for key, user_id in conn.execute(
            select(user.user_name_key, user.id).where(
                user.tenant_id == tenant_id, user.user_name_key.in_(part)
            )
        ):
            found[key].add(user_id)
    return {key: sorted(ids) for key, ids in found.items()}


def links_of(
    conn: Connection, tenant_id: int, provider: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The provider's links both ways: object id → account, account → object id."""
    link = tables.SsoLink
    by_object: dict[str, str] = {}
    by_account: dict[str, str] = {}
    for object_id, user_id in conn.execute(
        select(link.object_id, link.user_id).where(
            link.tenant_id == tenant_id, link.provider == provider
        )
    ):
        by_object[object_id] = user_id
        by_account[user_id] = object_id
    return by_object, by_account


def listed(
    conn: Connection, tenant_id: int, provider: str | None = None, user_id: str | None = None
) -> list[Link]:
    link = tables.SsoLink
    query = select(link.__table__).where(link.tenant_id == tenant_id)
    if provider is not None:
        query = query.where(link.provider == provider)
    if user_id is not None:
        query = query.where(link.user_id == user_id)
    rows = conn.execute(query.order_by(link.provider, link.object_id))
    return [
        Link(r.provider, r.object_id, r.user_id, r.email, r.created, r.created_by) for r in rows
    ]


def account_of(conn: Connection, tenant_id: int, provider: str, object_id: str) -> str | None:
    link = tables.SsoLink
    return conn.execute(
        select(link.user_id).where(
            link.tenant_id == tenant_id, link.provider == provider, link.object_id == object_id
        )
    ).scalar()


def add(
    conn: Connection,
    tenant_id: int,
    provider: str,
    object_id: str,
    user_id: str,
    actor: Actor,
    email: str | None = None,
) -> None:
    """Link ``user_id`` to ``object_id``; Conflict when either is linked already."""
    users.require_user(conn, tenant_id, user_id)
    if account_of(conn, tenant_id, provider, object_id) is not None:
        raise Conflict(f"object id {object_id!r} is already linked")
    if listed(conn, tenant_id, provider, user_id):
        raise Conflict(f"the account is already linked to another {provider} object id")
    conn.execute(
        insert(tables.SsoLink).values(
            tenant_id=tenant_id,
            provider=provider,
            object_id=object_id,
            user_id=user_id,
            email=email,
            created=utcnow(),
            created_by=str(actor),
        )
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "sso.link",
        f"user:{user_id}",
        detail={"provider": provider, "objectId": object_id},
    )


def remove(conn: Connection, tenant_id: int, provider: str, object_id: str, actor: Actor) -> str:
    """Unlink ``object_id``; the account it was linked to. NotFound when it was not."""
    user_id = account_of(conn, tenant_id, provider, object_id)
    if user_id is None:
        raise NotFound(f"no {provider} link for object id {object_id!r}")
    link = tables.SsoLink
    conn.execute(
        delete(link).where(
            link.tenant_id == tenant_id, link.provider == provider, link.object_id == object_id
        )
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "sso.unlink",
        f"user:{user_id}",
        detail={"provider": provider, "objectId": object_id},
    )
    return user_id


_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def provider_name(value: Any) -> str:
    """A provider's name as links store it: lowercase letters, digits, ``-`` and ``_``."""
    if not isinstance(value, str) or not _PROVIDER_NAME.fullmatch(value.strip().lower()):
        raise InvalidValue("provider is a name of 1 to 64 letters, digits, - or _ (e.g. onelogin)")
    return value.strip().lower()
