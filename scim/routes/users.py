"""``/Users`` (RFC 7644 §3, RFC 7643 §4.1): users with the enterprise extension."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scim2_models import PatchOp, ResponseParameters
from sqlalchemy import Connection

from directory import users
from directory.errors import VersionMismatch
from directory.paging import Page, PageRequest
from directory.records import StoredUser
from scim import accounts as scim_accounts
from scim.documents import user_json, user_resource
from scim.extensions import ACCOUNT
from scim.filters import equality_value
from scim.provider import UserModel
from scim.routes.resources import ACTOR, ResourceEndpoints
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

    def requested(self, query: Mapping[str, Any]) -> Mapping[str, Any]:
        """``attributes`` naming the account extension names each of its attributes: they are
        ``returned: request``, which scim2-models honours per attribute."""
        return scim_accounts.expand_requested(query)

    def wants_everything(self, parameters: ResponseParameters[Any]) -> bool:
        """The account extension is read only when asked for (it is ``returned: request``)."""
        return any(ACCOUNT.lower() in str(path).lower() for path in parameters.attributes or [])

    def _with_account(self, conn: Connection, tenant_id: int, found: list[StoredUser]) -> None:
        extensions = scim_accounts.load(conn, tenant_id, [user.id for user in found])
        for user in found:
            user.extras[ACCOUNT] = extensions[user.id]

    def _apply_account(
        self, conn: Connection, tenant_id: int, user_id: str, extension: dict[str, Any] | None
    ) -> None:
        if extension:
            scim_accounts.apply(conn, tenant_id, user_id, extension, ACTOR.get())

    def create(self, conn: Connection, tenant_id: int, resource: Any) -> StoredUser:
        document, extension = scim_accounts.split(resource)
        stored = users.create_user(conn, tenant_id, document, shared_logins=self.shared_logins)
        self._apply_account(conn, tenant_id, stored.id, extension)
        return stored

    def get(self, conn: Connection, tenant_id: int, id: str, full: bool) -> StoredUser:
        user = users.get_user(conn, tenant_id, id)
        if full:
            self._with_account(conn, tenant_id, [user])
        return user

    def replace(
        self, conn: Connection, tenant_id: int, id: str, resource: Any, version: int | None
    ) -> StoredUser:
        document, extension = scim_accounts.split(resource)
        stored = users.replace_user(
            conn,
            tenant_id,
            id,
            document,
            expected_version=version,
            shared_logins=self.shared_logins,
        )
        self._apply_account(conn, tenant_id, id, extension)
        return stored

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
        touches = scim_accounts.touches(patch)
        if touches:  # PATCH paths address it: the operations apply to the current state
            self._with_account(conn, tenant_id, [current])
        resource = user_resource(current, "")
        current.extras.pop(ACCOUNT, None)
        if not patch.patch(resource):
            return self._shown(conn, tenant_id, current, full)
        document, extension = scim_accounts.split(resource)
        stored = users.replace_user(
            conn,
            tenant_id,
            id,
            document,
            expected_version=version,
            current=current,
            shared_logins=self.shared_logins,
        )
        if touches:
            self._apply_account(conn, tenant_id, id, extension)
        return self._shown(conn, tenant_id, stored, full)

    def _shown(self, conn: Connection, tenant_id: int, user: StoredUser, full: bool) -> StoredUser:
        if full:
            self._with_account(conn, tenant_id, [user])
        return user

    def delete(self, conn: Connection, tenant_id: int, id: str, version: int | None) -> None:
        users.delete_user(conn, tenant_id, id, expected_version=version)

    def query(
        self, conn: Connection, tenant_id: int, request: PageRequest, full: bool
    ) -> tuple[Page, list[StoredUser]]:
        found, page = users.query_users(conn, tenant_id, request)
        if full:
            self._with_account(conn, tenant_id, page)
        return found, page

    def to_json(self, stored: StoredUser, base_url: str) -> dict[str, Any]:
        document = user_json(stored, base_url)
        extension = stored.extras.get(ACCOUNT)
        if extension:
            document[ACCOUNT] = extension
            document["schemas"] = [*document["schemas"], ACCOUNT]
        return document
