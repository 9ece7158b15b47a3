"""Memberships: who is in which group, read and written as rows.

A group's members are never part of its document. Adding or removing a member
touches the rows of that member only, so its cost does not grow with the
group's size; the group gets a new version and lastModified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from directory import tables
from directory.clock import utcnow
from directory.errors import InvalidValue
from directory.records import Reference
from directory.values import NAME_LENGTH, bounded_text

# A membership row names its member's type; these are the two SCIM knows.
MEMBER_TYPES = ("User", "Group")


_GROUPS_OF = (
    select(tables.Membership.member_id, tables.Group.id, tables.Group.display_name)
    .join(
        tables.Group,
        (tables.Group.tenant_id == tables.Membership.tenant_id)
        & (tables.Group.id == tables.Membership.group_id),
    )
    .where(tables.Membership.tenant_id == bindparam("tenant"))
    .order_by(tables.Group.display_name_key, tables.Group.id)
)
_GROUPS_OF_ONE = _GROUPS_OF.where(tables.Membership.member_id == bindparam("member"))


def groups_of(
    conn: Connection, tenant_id: int, member_ids: Sequence[str]
) -> dict[str, list[Reference]]:
    """The groups each of ``member_ids`` is a direct member of, in one query."""
    if not member_ids:
        return {}
    if len(member_ids) == 1:  # a GET by id: the prebuilt statement, no expanding IN
        rows = conn.execute(_GROUPS_OF_ONE, {"tenant": tenant_id, "member": member_ids[0]}).all()
    else:
        rows = conn.execute(
            _GROUPS_OF.where(tables.Membership.member_id.in_(member_ids)),
            {"tenant": tenant_id},
        ).all()
    result: dict[str, list[Reference]] = {}
    for member_id, group_id, display in rows:
        result.setdefault(member_id, []).append(Reference(group_id, "Group", display))
    return result


def members_of(
    conn: Connection, tenant_id: int, group_ids: Sequence[str]
) -> dict[str, list[Reference]]:
    """The direct members of each of ``group_ids``, users then groups, in two queries."""
    if not group_ids:
        return {}
    result: dict[str, list[Reference]] = {}
    given = tables.Membership.display
    shown_as: dict[str, tuple[type[tables.User] | type[tables.Group], ColumnElement[Any]]] = {
        "User": (
            tables.User,
            func.coalesce(given, tables.User.display_name, tables.User.user_name),
        ),
        "Group": (tables.Group, func.coalesce(given, tables.Group.display_name)),
    }
    for label, (member_table, display) in shown_as.items():
        rows = conn.execute(
            select(tables.Membership.group_id, member_table.id, display)
            .join(
                member_table,
                (member_table.tenant_id == tables.Membership.tenant_id)
                & (member_table.id == tables.Membership.member_id),
            )
            .where(
                tables.Membership.tenant_id == tenant_id,
                tables.Membership.group_id.in_(group_ids),
                tables.Membership.member_type == label,
            )
            .order_by(tables.Membership.group_id, tables.Membership.member_id)
        ).all()
        for group_id, member_id, shown in rows:
            result.setdefault(group_id, []).append(Reference(member_id, label, shown))
    return result


def resolve_members(conn: Connection, tenant_id: int, member_ids: Iterable[str]) -> dict[str, str]:
    """Map each id to its member type; raise InvalidValue for an id this tenant lacks."""
    wanted = set(member_ids)
    found: dict[str, str] = {}
    if wanted:
        for table, label in ((tables.User, "User"), (tables.Group, "Group")):
            missing = wanted - found.keys()
            if not missing:
                break
            ids = conn.execute(
                select(table.id).where(table.tenant_id == tenant_id, table.id.in_(missing))
            ).scalars()
            found.update(dict.fromkeys(ids, label))
    unknown = wanted - found.keys()
    if unknown:
        raise InvalidValue(f"no user or group with id {', '.join(sorted(unknown))}")
    return found


def add_members(
    conn: Connection, tenant_id: int, group_id: str, members: Mapping[str, str | None]
) -> int:
    """Add members (id -> display label or None) not in the group yet; returns how many."""
    types = resolve_members(conn, tenant_id, members)
    if group_id in types:
        raise InvalidValue("a group cannot be a member of itself")
    if not types:
        return 0
    present = set(
        conn.execute(
            select(tables.Membership.member_id).where(
                tables.Membership.tenant_id == tenant_id,
                tables.Membership.group_id == group_id,
                tables.Membership.member_id.in_(types),
            )
        ).scalars()
    )
    rows = [
        {
            "tenant_id": tenant_id,
            "group_id": group_id,
            "member_id": member,
            "member_type": kind,
            "display": bounded_text("members.display", members[member], NAME_LENGTH),
        }
        for member, kind in sorted(types.items())
        if member not in present
    ]
    if rows:
        conn.execute(insert(tables.Membership), rows)
    return len(rows)


def remove_members(
    conn: Connection, tenant_id: int, group_id: str, member_ids: Iterable[str]
) -> int:
    """Remove the given members; ids that are not members are ignored."""
    ids = list(set(member_ids))
    if not ids:
        return 0
    result = conn.execute(
        delete(tables.Membership).where(
            tables.Membership.tenant_id == tenant_id,
            tables.Membership.group_id == group_id,
            tables.Membership.member_id.in_(ids),
        )
    )
    return result.rowcount


def set_members(
    conn: Connection, tenant_id: int, group_id: str, members: Mapping[str, str | None]
) -> int:
    """Make the group's members exactly ``members``; returns how many rows changed.

    Members already in the group keep their rows, so replacing a list with
    itself changes nothing.
    """
    if not members:
        return clear_members(conn, tenant_id, group_id)
    removed = conn.execute(
        delete(tables.Membership).where(
            tables.Membership.tenant_id == tenant_id,
            tables.Membership.group_id == group_id,
            tables.Membership.member_id.not_in(list(members)),
        )
    ).rowcount
    relabelled = relabel_members(conn, tenant_id, group_id, members)
    return removed + relabelled + add_members(conn, tenant_id, group_id, members)


def relabel_members(
    conn: Connection, tenant_id: int, group_id: str, labels: Mapping[str, str | None]
) -> int:
    """Give existing members these display labels; returns how many labels changed."""
    if not labels:
        return 0
    rows = conn.execute(
        select(tables.Membership.member_id, tables.Membership.display).where(
            tables.Membership.tenant_id == tenant_id,
            tables.Membership.group_id == group_id,
            tables.Membership.member_id.in_(list(labels)),
        )
    )
    current = {member: display for member, display in rows}
    changes = [
        {"member": member, "label": bounded_text("members.display", label, NAME_LENGTH)}
        for member, label in labels.items()
        if member in current and current[member] != label
    ]
    if changes:
        conn.execute(
            update(tables.Membership)
            .where(
                tables.Membership.tenant_id == tenant_id,
                tables.Membership.group_id == group_id,
                tables.Membership.member_id == bindparam("member"),
            )
            .values(display=bindparam("label")),
            changes,
        )
    return len(changes)


def clear_members(conn: Connection, tenant_id: int, group_id: str) -> int:
    result = conn.execute(
        delete(tables.Membership).where(
            tables.Membership.tenant_id == tenant_id, tables.Membership.group_id == group_id
        )
    )
    return result.rowcount


def forget_member(conn: Connection, tenant_id: int, member_id: str) -> None:
    """Take a deleted user or group out of every group, giving those groups a new version."""
    group_ids = select(tables.Membership.group_id).where(
        tables.Membership.tenant_id == tenant_id, tables.Membership.member_id == member_id
    )
    conn.execute(
        update(tables.Group)
        .where(tables.Group.tenant_id == tenant_id, tables.Group.id.in_(group_ids))
        .values(version=tables.Group.version + 1, last_modified=utcnow())
    )
    conn.execute(
        delete(tables.Membership).where(
            tables.Membership.tenant_id == tenant_id, tables.Membership.member_id == member_id
        )
    )
