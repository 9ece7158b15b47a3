"""Logins started at a provider and not yet back: msal's flow (state, nonce, PKCE verifier)
kept in the store, so that any server process can take the callback, once.

The flow is found by the SHA-256 of its ``state``; taking it deletes it, so a
replayed callback finds nothing, and one older than ``MINUTES`` is refused.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from directory import tables
from directory.clock import as_utc, utcnow
from directory.errors import InvalidCredentials

MINUTES = 10
SIGN_IN, WIZARD = "sign_in", "wizard"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def save(
    conn: Connection, tenant_id: int, provider: str, purpose: str, flow: dict[str, Any]
) -> None:
    conn.execute(
        insert(tables.SsoFlow).values(
            state_hash=_hash(flow["state"]),
            tenant_id=tenant_id,
            provider=provider,
            purpose=purpose,
            flow=flow,
            expires=utcnow() + timedelta(minutes=MINUTES),
        )
    )
    # Abandoned logins would pile up: each new one sweeps the expired.
    conn.execute(delete(tables.SsoFlow).where(tables.SsoFlow.expires < utcnow()))


def take(conn: Connection, state: Any) -> tuple[int, str, str, dict[str, Any]]:
    """The tenant, provider, purpose and flow of a callback's ``state``, used up; refused if
    unknown, used or expired. Run it in a unit of its own: the flow stays used up even when
    what follows is refused."""
    if not isinstance(state, str) or not state or len(state) > 500:
        raise InvalidCredentials("no state")
    flow = tables.SsoFlow
    row = conn.execute(
        select(flow.__table__).where(flow.state_hash == _hash(state)).with_for_update()
    ).first()
    if row is None:
        raise InvalidCredentials("unknown or used state")
    conn.execute(delete(flow).where(flow.state_hash == row.state_hash))
    if as_utc(row.expires) < utcnow():
        raise InvalidCredentials("expired state")
    return row.tenant_id, row.provider, row.purpose, dict(row.flow)
