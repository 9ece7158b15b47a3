"""``/Groups`` (RFC 7644 §3, RFC 7643 §4.2): members are rows, not part of the document."""

from __future__ import annotations

from typing import Any

from scim2_models import PatchOp, ResponseParameters
from sqlalchemy import Connection

from directory import groups, memberships
from directory.paging import Page, PageRequest
from directory.records import StoredGroup
from scim import members
from scim.documents import group_json, group_resource, to_document
from scim.provider import GroupModel
from scim.routes.resources import ResourceEndpoints
from scim.specs import GROUP_SPEC


def _members(resource: Any) -> dict[str, str | None]:
    return {member.value: member.display for member in resource.members or [] if member.value}


class GroupEndpoints(ResourceEndpoints):
    endpoint = "Groups"
    model = GroupModel
    schema_id = "urn:ietf:params:scim:schemas:core:2.0:Group"
    spec = GROUP_SPEC

    def describe(self, stored: Any) -> dict[str, Any]:
        return {"displayName": stored.document.get("displayName")}

    def wants_everything(self, parameters: ResponseParameters[Any]) -> bool:
        """Members are read only when the response shows them (Entra and Okta exclude them)."""
        if parameters.attributes:
            return any(str(path).lower().startswith("members") for path in parameters.attributes)
        return not any(
            str(path).lower() == "members" for path in parameters.excluded_attributes or []
        )

    def create(self, conn: Connection, tenant_id: int, resource: Any) -> StoredGroup:
        return groups.create_group(conn, tenant_id, to_document(resource), _members(resource))

    def get(self, conn: Connection, tenant_id: int, id: str, full: bool) -> StoredGroup:
        return groups.get_group(conn, tenant_id, id, with_members=full)

    def replace(
        self, conn: Connection, tenant_id: int, id: str, resource: Any, version: int | None
    ) -> StoredGroup:
        return groups.replace_group(
            conn,
            tenant_id,
            id,
            to_document(resource),
            _members(resource),
            expected_version=version,
        )

    def patch(
        self,
        conn: Connection,
        tenant_id: int,
        id: str,
        patch: PatchOp[Any],
        version: int | None,
        full: bool,
    ) -> StoredGroup:
        current = groups.lock_group(conn, tenant_id, id, expected_version=version)
        member_changes, others = members.split(patch)
        changed = False
        apply = {
            "add": memberships.add_members,
            "remove": memberships.remove_members,
            "set": memberships.set_members,
            "clear": lambda conn, tenant_id, id, _: memberships.clear_members(conn, tenant_id, id),
            "display": memberships.relabel_members,
        }
        for step, members_of_step in member_changes.steps:
            changed |= apply[step](conn, tenant_id, id, members_of_step) > 0
        document = current.document
        if others:
            resource = group_resource(current, "")
            if PatchOp[GroupModel](operations=others).patch(resource):
                document = to_document(resource)
                changed = True
        if changed:
            groups.save_group(conn, tenant_id, current, document)
        return groups.get_group(conn, tenant_id, id, with_members=full)

    def delete(self, conn: Connection, tenant_id: int, id: str, version: int | None) -> None:
        groups.delete_group(conn, tenant_id, id, expected_version=version)

    def query(
        self, conn: Connection, tenant_id: int, request: PageRequest, full: bool
    ) -> tuple[Page, list[StoredGroup]]:
        return groups.query_groups(conn, tenant_id, request, with_members=full)

    def to_json(self, stored: StoredGroup, base_url: str) -> dict[str, Any]:
        return group_json(stored, base_url)
