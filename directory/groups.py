"""Groups: the canonical SCIM document (members excluded) plus the columns queries use.

Members live in the memberships table (``directory.memberships``); the
functions here read them along with the group when asked, and write them when
a whole group is created or replaced.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from directory import memberships, paging, tables
from directory.clock import as_utc, utcnow
from directory.errors import NotFound, VersionMismatch
from directory.paging import Page, PageRequest
from directory.records import StoredGroup
from directory.values import NAME_LENGTH, bounded_key, bounded_text

_GROUP_COLUMNS = (
    tables.Group.id,
    tables.Group.document,
    tables.Group.created,
    tables.Group.last_modified,
    tables.Group.version,
)


def _indexed_columns(document: dict[str, Any]) -> dict[str, Any]:
    display_name = bounded_text(
        "displayName", document.get("displayName"), NAME_LENGTH, required=True
    )
    assert display_name is not None
    return {
        "display_name": display_name,
        "display_name_key": bounded_key("displayName", display_name, NAME_LENGTH),
        "external_id": bounded_text("externalId", document.get("externalId"), NAME_LENGTH),
    }


def create_group(
    conn: Connection,
    tenant_id: int,
    document: dict[str, Any],
    members: Mapping[str, str | None] | None = None,
) -> StoredGroup:
    """Store a new group with its members (id -> display label or None)."""
    columns = _indexed_columns(document)
    group_id = str(uuid.uuid4())
    now = utcnow()
    # A savepoint: an invalid member leaves no memberless group behind, even
    # for a caller (a /Bulk request) that goes on with its transaction.
    with conn.begin_nested():
        conn.execute(
            insert(tables.Group).values(
                tenant_id=tenant_id,
                id=group_id,
                created=now,
                last_modified=now,
                version=1,
                document=document,
                **columns,
            )
        )
        memberships.add_members(conn, tenant_id, group_id, members or {})
    return get_group(conn, tenant_id, group_id)


# Built once, like directory.users' statements: compiled once, reused.
_GET_GROUP = select(*_GROUP_COLUMNS).where(
    tables.Group.tenant_id == bindparam("tenant"), tables.Group.id == bindparam("id")
)
_GET_GROUP_FOR_UPDATE = _GET_GROUP.with_for_update()


def get_group(
    conn: Connection,
    tenant_id: int,
    group_id: str,
    *,
    with_members: bool = True,
    for_update: bool = False,
) -> StoredGroup:
    query = _GET_GROUP_FOR_UPDATE if for_update else _GET_GROUP
    row = conn.execute(query, {"tenant": tenant_id, "id": group_id}).first()
    if row is None:
        raise NotFound(f"Group {group_id} not found")
    group = _stored(row)
    if with_members:
        group.members = memberships.members_of(conn, tenant_id, [group_id]).get(group_id, [])
    return group


def replace_group(
    conn: Connection,
    tenant_id: int,
    group_id: str,
    document: dict[str, Any],
    members: Mapping[str, str | None],
    *,
    expected_version: int | None = None,
) -> StoredGroup:
    """Replace a group's document and its whole member list."""
    current = lock_group(conn, tenant_id, group_id, expected_version=expected_version)
    memberships.set_members(conn, tenant_id, group_id, members)
    save_group(conn, tenant_id, current, document)
    return get_group(conn, tenant_id, group_id)


def lock_group(
    conn: Connection, tenant_id: int, group_id: str, *, expected_version: int | None = None
) -> StoredGroup:
    """Read a group (without its members) for a change, checking the caller's version."""
    current = get_group(conn, tenant_id, group_id, with_members=False, for_update=True)
    if expected_version is not None and current.version != expected_version:
        raise VersionMismatch(f"Group {group_id} is at version {current.version}")
    return current


def save_group(
    conn: Connection, tenant_id: int, current: StoredGroup, document: dict[str, Any]
) -> StoredGroup:
    """Write a locked group's new document and give it a new version.

    Called after any change of the group, members included, so that its ETag
    and lastModified always move when what a GET returns moves.
    """
    columns = _indexed_columns(document)
    now = utcnow()
    result = conn.execute(
        update(tables.Group)
        .where(
            tables.Group.tenant_id == tenant_id,
            tables.Group.id == current.id,
            tables.Group.version == current.version,
        )
        .values(document=document, last_modified=now, version=current.version + 1, **columns)
    )
    if result.rowcount != 1:
        raise VersionMismatch(f"Group {current.id} changed meanwhile")
    return StoredGroup(
        id=current.id,
        document=document,
        created=current.created,
        last_modified=now,
        version=current.version + 1,
    )


def delete_group(
    conn: Connection, tenant_id: int, group_id: str, *, expected_version: int | None = None
) -> None:
    lock_group(conn, tenant_id, group_id, expected_version=expected_version)
    memberships.clear_members(conn, tenant_id, group_id)
    memberships.forget_member(conn, tenant_id, group_id)
    conn.execute(
        delete(tables.Group).where(tables.Group.tenant_id == tenant_id, tables.Group.id == group_id)
    )


def query_groups(
    conn: Connection, tenant_id: int, request: PageRequest, *, with_members: bool = True
) -> tuple[Page, list[StoredGroup]]:
    """The page of groups ``request`` asks for, with their members unless told otherwise."""
    found = paging.page(conn, tables.Group, _GROUP_COLUMNS, tenant_id, request)
    groups = [_stored(row) for row in found.rows]
    if with_members:
        members = memberships.members_of(conn, tenant_id, [group.id for group in groups])
        for group in groups:
            group.members = members.get(group.id, [])
    return found, groups


def _stored(row: Any) -> StoredGroup:
    return StoredGroup(
        id=row.id,
        document=row.document,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
        version=row.version,
    )
