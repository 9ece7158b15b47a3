"""Secrets a user holds besides the password: sessions, trusted devices, sign-in challenges,
password-reset links. Only the SHA-256 of a secret is stored; the secret is shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from directory import tables
from directory.clock import as_utc, utcnow


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    kind: str,
    lifetime: timedelta,
    client: str | None,
    detail: dict[str, Any] | None = None,
) -> tuple[str, datetime]:
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + lifetime
    conn.execute(
        insert(tables.Credential).values(
            token_hash=digest(secret),
            tenant_id=tenant_id,
            user_id=user_id,
            kind=kind,
            created=now,
            expires=expires,
            last_used=None,
            client=client,
            detail=detail or {},
        )
    )
    return secret, expires


def live(conn: Connection, secret: Any, kind: str) -> Any:
    """The live credential of ``kind`` a secret stands for, or None."""
    if not isinstance(secret, str) or not secret or len(secret) > 200:
        return None
    row = conn.execute(
        select(tables.Credential.__table__).where(
            tables.Credential.token_hash == digest(secret), tables.Credential.kind == kind
        )
    ).first()
    if row is None or (row.expires is not None and as_utc(row.expires) <= utcnow()):
        return None
    return row


HANDLE_LENGTH = 16  # how much of a secret's hash names it in listings


@dataclass(frozen=True)
class Listed:
    """A credential as admins see it: never its secret, nor its whole hash."""

    handle: str
    kind: str
    created: datetime
    expires: datetime | None
    last_used: datetime | None
    client: str | None
    name: str | None

    def to_json(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat().replace("+00:00", "Z")

        return {
            "id": self.handle,
            "created": iso(self.created),
            "expires": iso(self.expires),
            "lastUsed": iso(self.last_used),
            "client": self.client,
            "name": self.name,
        }


def listed(conn: Connection, tenant_id: int, user_id: str, kind: str) -> list[Listed]:
    """A user's live credentials of one kind, newest first."""
    credential = tables.Credential
    now = utcnow()
    rows = conn.execute(
        select(credential.__table__)
        .where(
            credential.tenant_id == tenant_id,
            credential.user_id == user_id,
            credential.kind == kind,
        )
        .order_by(credential.created.desc())
    )
    return [
        Listed(
            handle=row.token_hash[:HANDLE_LENGTH],
            kind=row.kind,
            created=as_utc(row.created),
            expires=row.expires and as_utc(row.expires),
            last_used=row.last_used and as_utc(row.last_used),
            client=row.client,
            name=row.detail.get("name"),
        )
        for row in rows
        if row.expires is None or as_utc(row.expires) > now
    ]


def revoke(conn: Connection, tenant_id: int, user_id: str, kind: str, handle: str) -> bool:
    """Revoke the credential a listing's ``id`` names; False if there is none."""
    if len(handle) != HANDLE_LENGTH or not all(c in "0123456789abcdef" for c in handle):
        return False
    prefix = tables.Credential.token_hash.startswith(handle, autoescape=True)
    return bool(revoke_all(conn, tenant_id, user_id, kind, prefix))


def revoke_all(conn: Connection, tenant_id: int, user_id: str, kind: str, *narrower: Any) -> int:
    """Revoke every credential of one kind a user holds (``narrower``: only those matching
    these conditions too); how many there were."""
    credential = tables.Credential
    result = conn.execute(
        delete(credential).where(
            credential.tenant_id == tenant_id,
            credential.user_id == user_id,
            credential.kind == kind,
            *narrower,
        )
    )
    return int(result.rowcount)
