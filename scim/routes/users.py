"""``/Users`` (RFC 7644 §3, RFC 7643 §4.1): users with the enterprise extension."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim2_models import PatchOp
from sqlalchemy import Connection

from directory import users
from directory.errors import VersionMismatch
from directory.paging import Page, PageRequest
from directory.records import StoredUser
from scim.documents import to_document, user_json, user_resource
from scim.filters import equality_value
from scim.provider import UserModel
from scim.routes.resources import ResourceEndpoints
from scim.specs import USER_SPEC


class UserEndpoints(ResourceEndpoints):
    endpoint = "Users"
    model = UserModel
    schema_id = "urn:ietf:params:scim:schemas:core:2.0:User"
    spec = USER_SPEC

    def is_point_read(self, full: bool) -> bool:
        return True  # its row, and its group references through the member index

    def describe(self, stored: StoredUser) -> dict[str, Any]:
        return {"userName": stored.document.get("userName")}

    def unique_lookup(self, filter: str) -> Callable[[Connection, int], StoredUser | None] | None:
        user_name = equality_value(filter, "userName")
        if user_name is None:
            return None
        return lambda conn, tenant_id: users.find_user_by_name(conn, tenant_id, user_name)

    def create(self, conn: Connection, tenant_id: int, resource: Any) -> StoredUser:
        return users.create_user(
            conn, tenant_id, to_document(resource), shared_logins=self.shared_logins
        )

    def get(self, conn: Connection, tenant_id: int, id: str, full: bool) -> StoredUser:
        return users.get_user(conn, tenant_id, id)

    def replace(
        self, conn: Connection, tenant_id: int, id: str, resource: Any, version: int | None
    ) -> StoredUser:
        return users.replace_user(
            conn,
            tenant_id,
            id,
            to_document(resource),
            expected_version=version,
            shared_logins=self.shared_logins,
        )

    def patch(
        self,
        conn: Connection,
        tenant_id: int,
        id: str,
        patch: PatchOp[Any],
        version: int | None,
        full: bool,
    ) -> StoredUser:
        current = users.get_user(conn, tenant_id, id, for_update=True)
        if version is not None and current.version != version:
            # Checked before applying: a stale If-Match fails even when the
            # PATCH would change nothing.
            raise VersionMismatch(f"User {id} is at version {current.version}")
        resource = user_resource(current, "")
        if not patch.patch(resource):
            return current
        return users.replace_user(
            conn,
            tenant_id,
            id,
            to_document(resource),
            expected_version=version,
            current=current,
            shared_logins=self.shared_logins,
        )

    def delete(self, conn: Connection, tenant_id: int, id: str, version: int | None) -> None:
        users.delete_user(conn, tenant_id, id, expected_version=version)

    def query(
        self, conn: Connection, tenant_id: int, request: PageRequest, full: bool
    ) -> tuple[Page, list[StoredUser]]:
        return users.query_users(conn, tenant_id, request)

    def to_json(self, stored: StoredUser, base_url: str) -> dict[str, Any]:
        return user_json(stored, base_url)
