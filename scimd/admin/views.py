"""How the admin API shows users: its JSON view of a user, the SCIM document its contact
fields make, and the CSV export's cells. Shared by the API and the ``scimd user`` commands."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context
from sqlalchemy import Connection

from directory import accounts, catalog, users
from directory.errors import InvalidValue, NotFound
from directory.paging import PageRequest
from directory.records import StoredUser
from directory.tables import User
from scim.documents import to_document
from scim.provider import PROVIDER, UserModel
from scimd.errors import validation_detail

EXPORT_COLUMNS = (
    "id",
    "userName",
    "name",
    "email",
    "mobile",
    "active",
    "userType",
    "accessLocked",
    "lockedReason",
    "lastLogin",
    "failedTries",
    "mfaEnabled",
    "mfaRequired",
    "accessLicence",
    "roles",
    "roleGroups",
    "userGroups",
    "dacGroups",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _primary(values: Any, kind: str | None = None) -> str | None:
    """The primary (else first) value of a multi-valued attribute, of ``kind`` if given."""
    if not isinstance(values, list):
        return None
    chosen = [v for v in values if isinstance(v, dict) and (kind is None or v.get("type") == kind)]
    for value in chosen:
        if value.get("primary"):
            return value.get("value")
    return chosen[0].get("value") if chosen else None


GRANT_FIELDS = {
    "roles": "role",
    "roleGroups": "role_group",
    "userGroups": "user_group",
    "dacGroups": "dac_group",
}


def user_view(
    stored: StoredUser, account: accounts.Account, grants: dict[str, list[str]]
) -> dict[str, Any]:
    document = stored.document
    name = document.get("displayName") or (document.get("name") or {}).get("formatted")
    return {
        "id": stored.id,
        "userName": document.get("userName"),
        "name": name,
        "email": _primary(document.get("emails")),
        "mobile": _primary(document.get("phoneNumbers"), "mobile"),
        "active": document.get("active"),
        "version": stored.version,
        "created": stored.created.isoformat().replace("+00:00", "Z"),
        "lastModified": stored.last_modified.isoformat().replace("+00:00", "Z"),
        **account.to_json(),
        **{field: grants[kind] for field, kind in GRANT_FIELDS.items()},
    }


def contact_document(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The SCIM document after contact-field changes, validated as a SCIM write is."""
    document = {key: value for key, value in current.items()}
    if "userName" in changes:
        document["userName"] = changes["userName"]
    if "name" in changes:
        document["displayName"] = changes["name"]
        if changes["name"] is None:
            document.pop("displayName")
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidValue("active must be true or false")
        document["active"] = changes["active"]
    if "email" in changes:
        others = [e for e in document.get("emails") or [] if not e.get("primary")]
        email = changes["email"]
        document["emails"] = (
            [{"value": email, "type": "work", "primary": True}] if email else []
        ) + [e for e in others if e.get("value") != email]
    if "mobile" in changes:
        phones = [p for p in document.get("phoneNumbers") or [] if p.get("type") != "mobile"]
        if changes["mobile"]:
            phones.insert(0, {"value": changes["mobile"], "type": "mobile"})
        document["phoneNumbers"] = phones
    document.setdefault("schemas", ["urn:ietf:params:scim:schemas:core:2.0:User"])
    return validated_document(document)


def validated_document(document: dict[str, Any]) -> dict[str, Any]:
    """A User document as a SCIM write would store it; ``InvalidValue`` if SCIM refuses it."""
    try:
        with PROVIDER:
            resource = UserModel.model_validate(
                document, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
            )
    except ValidationError as exc:
        raise InvalidValue(validation_detail(exc)) from None
    return to_document(resource)


def user_views(conn: Connection, tenant_id: int, ids: list[str]) -> list[dict[str, Any]]:
    """The admin view of several users, in their order (three queries, whatever the count)."""
    if not ids:
        return []
    _, found = users.query_users(
        conn, tenant_id, PageRequest(where=User.id.in_(ids), limit=len(ids))
    )
    by_id = {user.id: user for user in found}
    states = accounts.accounts_of(conn, tenant_id, ids)
    held = catalog.grants_of(conn, tenant_id, ids)
    return [user_view(by_id[i], states[i], held[i]) for i in ids if i in by_id]


def user_view_of(conn: Connection, tenant_id: int, user_id: str) -> dict[str, Any]:
    views = user_views(conn, tenant_id, [user_id])
    if not views:
        raise NotFound(f"User {user_id} not found")
    return views[0]
