"""Secrets a user holds besides the password: sessions, trusted devices, sign-in challenges,
password-reset links. Only the SHA-256 of a secret is stored; the secret is shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

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
