"""Where each resource type's attributes live in SQL, for the filter compiler (scim.filters).

Indexed attributes map to their columns, emails and memberships to their side
tables; everything else is read from the stored JSON document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, cast, func, literal, select

from directory import tables
from scim.filters import Column, ResourceSpec, SideTable
from scim.provider import GroupModel, UserModel


def _etag(version: Any) -> Any:
    """``meta.version`` as clients see it: the weak ETag of the version column."""
    return literal('W/"') + cast(version, String) + literal('"')


def _user_spec() -> ResourceSpec:
    user, email, member, group = tables.User, tables.UserEmail, tables.Membership, tables.Group
    primary_email = (
        select(email.value_key)
        .where(email.tenant_id == user.tenant_id, email.user_id == user.id)
        .order_by(email.primary.desc(), email.position)
        .limit(1)
        .correlate(user)
        .scalar_subquery()
    )
    return ResourceSpec(
        model=UserModel,
        core_schema="urn:ietf:params:scim:schemas:core:2.0:user",
        columns={
            "id": Column(user.id, case_exact=True),
            "username": Column(user.user_name_key),
            "externalid": Column(user.external_id, case_exact=True),
            "displayname": Column(user.display_name_key),
            "active": Column(user.active, kind="bool"),
            "meta.created": Column(user.created, kind="datetime"),
            "meta.lastmodified": Column(user.last_modified, kind="datetime"),
            "meta.resourcetype": Column(literal("User"), case_exact=True),
            "meta.version": Column(_etag(user.version), case_exact=True),
        },
        side_tables={
            "emails": SideTable(
                email,
                and_(email.tenant_id == user.tenant_id, email.user_id == user.id),
                {
                    "value": Column(email.value_key),
                    "type": Column(func.lower(email.type)),
                    "primary": Column(email.primary, kind="bool"),
                    "sort": Column(primary_email),
                },
                in_document=True,
            ),
            "groups": SideTable(
                member,
                and_(member.tenant_id == user.tenant_id, member.member_id == user.id),
                {
                    "value": Column(member.group_id, case_exact=True),
                    "type": Column(literal("direct")),
                    "display": Column(
                        select(group.display_name_key)
                        .where(group.tenant_id == member.tenant_id, group.id == member.group_id)
                        .scalar_subquery()
                    ),
                },
            ),
        },
        table=user,
    )


def _group_spec() -> ResourceSpec:
    group, member = tables.Group, tables.Membership
    return ResourceSpec(
        model=GroupModel,
        core_schema="urn:ietf:params:scim:schemas:core:2.0:group",
        columns={
            "id": Column(group.id, case_exact=True),
            "displayname": Column(group.display_name_key),
            "externalid": Column(group.external_id, case_exact=True),
            "meta.created": Column(group.created, kind="datetime"),
            "meta.lastmodified": Column(group.last_modified, kind="datetime"),
            "meta.resourcetype": Column(literal("Group"), case_exact=True),
            "meta.version": Column(_etag(group.version), case_exact=True),
        },
        side_tables={
            "members": SideTable(
                member,
                and_(member.tenant_id == group.tenant_id, member.group_id == group.id),
                {
                    "value": Column(member.member_id, case_exact=True),
                    "type": Column(func.lower(member.member_type)),
                },
            ),
        },
        table=group,
    )


USER_SPEC = _user_spec()
GROUP_SPEC = _group_spec()
