"""Between scim2-models resources and the documents the directory stores.

The stored document is the resource as a client may read it, without what the
directory derives itself: ``id``, ``meta``, a user's ``groups``, a group's
``members``. Attributes that are never returned (``password``) are not stored
in it either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scim2_models import Context, Resource

from directory.records import Reference, StoredGroup, StoredUser
from directory.users import ENTERPRISE, manager_id
from scim.etags import etag
from scim.provider import PROVIDER, GroupModel, UserModel

_KNOWN_SCHEMAS = frozenset(str(schema.id).lower() for schema in PROVIDER.schemas)
_DERIVED = ("id", "meta", "groups", "members")


def to_document(resource: Resource[Any]) -> dict[str, Any]:
    """The document to store for a validated resource."""
    document = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in _DERIVED:
        document.pop(key, None)
    # Clients send URNs we do not serve (Entra's ADSCIM group schema, SCIM 1.1);
    # their attributes were dropped on validation, so the URNs go too.
    document["schemas"] = [
        urn for urn in document.get("schemas", []) if str(urn).lower() in _KNOWN_SCHEMAS
    ]
    extension = document.get(ENTERPRISE)
    if isinstance(extension, dict) and isinstance(extension.get("manager"), dict):
        # Only the manager's id is stored: its $ref is derived from it on output,
        # and its displayName is read-only (RFC 7643 §4.3), never set by clients.
        manager = extension["manager"]
        if manager.get("value"):
            extension["manager"] = {"value": manager["value"]}
        else:
            del extension["manager"]
    return document


def _timestamp(moment: datetime) -> str:
    """A dateTime as scim2-models serialises it (UTC, "Z")."""
    return moment.isoformat().replace("+00:00", "Z")


def _meta(resource_type: str, stored: StoredUser | StoredGroup, location: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": _timestamp(stored.created),
        "lastModified": _timestamp(stored.last_modified),
        "location": location,
        "version": etag(stored.version),
    }


def _reference(base_url: str, ref: Reference) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "value": ref.id,
        "$ref": f"{base_url}/{ref.type}s/{ref.id}",
        "type": ref.type,
    }
    if ref.display:
        entry["display"] = ref.display
    return entry


def _payload(
    kind: str,
    stored: StoredUser | StoredGroup,
    base_url: str,
    derived: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """A stored document with what the directory derives: id, meta, groups or members."""
    payload = {"schemas": stored.document.get("schemas", []), "id": stored.id}
    payload.update(stored.document)
    payload["meta"] = _meta(kind, stored, f"{base_url}/{kind}s/{stored.id}")
    payload.update({key: value for key, value in derived.items() if value})
    return payload


def user_json(stored: StoredUser, base_url: str) -> dict[str, Any]:
    """A user's response JSON with every default attribute, built without the models.

    Stored documents were dumped by the models in the query-response context, so
    this is what validating and dumping them again would give (a test holds the
    two equal); it is the fast path for responses that select no attributes.
    """
    groups = [{**_reference(base_url, group), "type": "direct"} for group in stored.groups]
    payload = _payload("User", stored, base_url, {"groups": groups})
    manager = manager_id(stored.document)
    if manager:
        shown = {**stored.document[ENTERPRISE]["manager"], "$ref": f"{base_url}/Users/{manager}"}
        # A copy: the stored document is shared with the caller.
        payload[ENTERPRISE] = {**stored.document[ENTERPRISE], "manager": shown}
    return payload


def group_json(stored: StoredGroup, base_url: str) -> dict[str, Any]:
    """A group's response JSON with every default attribute (see ``user_json``)."""
    members = [_reference(base_url, member) for member in stored.members]
    return _payload("Group", stored, base_url, {"members": members})


def user_resource(stored: StoredUser, base_url: str) -> Resource[Any]:
    resource: Resource[Any] = UserModel.model_validate(user_json(stored, base_url))
    return resource


def group_resource(stored: StoredGroup, base_url: str) -> Resource[Any]:
    resource: Resource[Any] = GroupModel.model_validate(group_json(stored, base_url))
    return resource
