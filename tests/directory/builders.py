"""Builders shared by the directory tests: each call is its own committed unit of work."""

from __future__ import annotations

from directory import groups, users
from directory.paging import PageRequest


def new_user(engine, tenant_id: int, user_name: str, display_name: str | None = None):
    document = {"userName": user_name}
    if display_name is not None:
        document["displayName"] = display_name
    with engine.begin() as conn:
        return users.create_user(conn, tenant_id, document)


def new_group(engine, tenant_id: int, display_name: str, members=None):
    with engine.begin() as conn:
        return groups.create_group(conn, tenant_id, {"displayName": display_name}, members)


def get_group(engine, tenant_id: int, group_id: str):
    with engine.begin() as conn:
        return groups.get_group(conn, tenant_id, group_id)


def query_users(conn, tenant_id, where, *, offset, limit):
    """The (total, users) of one index page: the shape these tests read."""
    found, page = users.query_users(
        conn, tenant_id, PageRequest(where=where, offset=offset, limit=limit)
    )
    return found.total, page


def query_groups(conn, tenant_id, where, *, offset, limit, with_members=True):
    """The (total, groups) of one index page: the shape these tests read."""
    found, page = groups.query_groups(
        conn,
        tenant_id,
        PageRequest(where=where, offset=offset, limit=limit),
        with_members=with_members,
    )
    return found.total, page
