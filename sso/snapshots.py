"""A provider's users as the link wizard received them, kept for paging and applying.

Fetching 10,000 users from Microsoft Graph takes seconds and a file is
uploaded once: the wizard stores what it got, and every preview page and
the apply read the stored list, computing statuses against the store as it
is at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from directory import tables
from directory.audit import Actor
from directory.clock import utcnow
from directory.errors import NotFound
from sso.matching import ProviderUser


@dataclass(frozen=True)
class Snapshot:
    id: int
    provider: str
    created: datetime
    users: list[ProviderUser]


def create(
    conn: Connection, tenant_id: int, provider: str, users: list[ProviderUser], actor: Actor
) -> int:
    return int(
        conn.execute(
            insert(tables.SsoSnapshot)
            .values(
                tenant_id=tenant_id,
                provider=provider,
                created=utcnow(),
                created_by=str(actor),
                users=[user.to_json() for user in users],
            )
            .returning(tables.SsoSnapshot.id)
        ).scalar_one()
    )


def get(conn: Connection, tenant_id: int, snapshot_id: int) -> Snapshot:
    snapshot = tables.SsoSnapshot
    row = conn.execute(
        select(snapshot.id, snapshot.provider, snapshot.created, snapshot.users).where(
            snapshot.tenant_id == tenant_id, snapshot.id == snapshot_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no provider list {snapshot_id}")
    users = [ProviderUser.from_json(user) for user in row.users]
    return Snapshot(row.id, row.provider, row.created, users)
