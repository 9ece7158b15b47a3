"""What real identity providers send that RFC 7643 does not allow, made valid before validation.

scim2-models' ``ScimPolicy`` (see ``scim.provider.POLICY``) covers most
departures. The ones it does not cover are handled here, in this one module,
each with the provider that needs it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import email_validator

from directory.users import ENTERPRISE
from scim.provider import PROVIDER

# Email addresses: scim2-models validates emails[].value with pydantic's
# EmailStr (email-validator), which refuses special-use domains and dotless
# ones. Directories hold such addresses (on-premises AD `user@corp.local`; Okta
# tests use `@okta.local`), so they are accepted: a provisioning server stores
# addresses, it does not deliver mail to them. These module settings are
# email-validator's documented configuration; they apply process-wide.
email_validator.GLOBALLY_DELIVERABLE = False
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = []


@cache
def _attributes(schema_id: str) -> tuple[Any, ...]:
    """A schema's attribute definitions, read from the generated schema."""
    for schema in PROVIDER.schemas:
        if schema.id == schema_id:
            return tuple(attribute for attribute in schema.attributes or () if attribute.name)
    return ()


@cache
def _multi_valued(schema_id: str) -> frozenset[str]:
    """The (lower-cased) names of a schema's multi-valued attributes."""
    return frozenset(a.name.lower() for a in _attributes(schema_id) if a.multi_valued)


def _manager(value: Any) -> Any:
    """Entra sends the manager as a bare id, and without ``$ref``, which RFC 7643 requires."""
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"Users/{value['value']}"}
    return value


def normalize_resource(payload: Any, schema_id: str) -> Any:
    """Make a resource payload of ``schema_id`` acceptable to the strict models.

    - OneLogin sends ``emails`` (and other multi-valued attributes) as a
      single object: it is wrapped in a list.
    - Entra sends the enterprise ``manager`` as a bare id, without ``$ref``.
    """
    if not isinstance(payload, dict):
        return payload
    multi_valued = _multi_valued(schema_id)
    normalized = {
        key: [value] if isinstance(value, dict) and key.lower() in multi_valued else value
        for key, value in payload.items()
    }
    for key, extension in normalized.items():
        if key.lower() == ENTERPRISE.lower() and isinstance(extension, dict):
            normalized[key] = {
                name: _manager(value) if name.lower() == "manager" else value
                for name, value in extension.items()
            }
    return normalized


@cache
def _attribute_names(schema_id: str) -> frozenset[str]:
    return frozenset(a.name.lower() for a in _attributes(schema_id))


def qualified(path: Any) -> Any:
    """An unqualified path naming an enterprise attribute gets its URN (``manager``)."""
    if not isinstance(path, str) or ":" in path:
        return path
    head = path.split(".", 1)[0].split("[", 1)[0].lower()
    core = _attribute_names("urn:ietf:params:scim:schemas:core:2.0:User")
    if head not in core and head in _attribute_names(ENTERPRISE):
        return f"{ENTERPRISE}:{path}"
    return path


def _manager_value(value: Any) -> Any:
    """Entra's manager PATCH values: a bare id, or a one-element list of ``{"value", "$ref"}``."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return {"value": value}
    return value


def _is_manager_path(path: Any) -> bool:
    return str(path or "").lower() == f"{ENTERPRISE.lower()}:manager"


def normalize_patch(payload: Any) -> Any:
    """Make a PATCH body of a user acceptable to the strict models.

    - Entra sends a bare-id ``manager`` value (``"value": "id"``), with a path or as
      a pathless ``urn:...:manager`` key: it becomes ``{"value": id}``.
    - ``path: manager`` (and other enterprise attributes) without the URN gets it.
    - A pathless value's read-only ``id`` and ``meta`` are dropped.
    """
    if not isinstance(payload, dict):
        return payload
    key = next((k for k in payload if k.lower() == "operations"), None)
    if key is None or not isinstance(payload[key], list):
        return payload
    operations = []
    for operation in payload[key]:
        if isinstance(operation, dict):
            path_key = next((k for k in operation if k.lower() == "path"), None)
            path = qualified(operation[path_key]) if path_key else None
            if path_key:
                operation = {**operation, path_key: path}
            value = operation.get("value")
            if _is_manager_path(path):
                operation = {**operation, "value": _manager_value(value)}
            elif path is None and isinstance(value, dict):
                # Entra sends the read-only `id` (and sometimes `meta`) in pathless
                # values: ignored, as read-only attributes of a creation are.
                operation = {
                    **operation,
                    "value": {
                        k: _manager_value(v) if _is_manager_path(k) else v
                        for k, v in value.items()
                        if k.lower() not in ("id", "meta")
                    },
                }
        operations.append(operation)
    return {**payload, key: operations}


def is_empty_patch(payload: Any) -> bool:
    """An empty ``Operations`` array, which RFC 7644 forbids and some clients send: a no-op."""
    if not isinstance(payload, dict):
        return False
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    return operations == []


_BARE_VALUE = re.compile(
    r"""(?P<head>\b(?:eq|ne|co|sw|ew|gt|ge|lt|le)\s+)"""
    # a bare word that is not a JSON literal: true, false, null or a whole number
    r"""(?P<value>(?!(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?=[\s)\]]|$))"""
    r"""[^\s"()\[\]]+)""",
    re.IGNORECASE,
)


def quote_bare_values(text: str) -> str:
    """Quote the unquoted string values of legacy filters: ``userName eq bob``.

    Only used when the filter does not parse as it is; ``true``, ``false``,
    ``null`` and numbers stay literals.
    """
    return _BARE_VALUE.sub(lambda m: f'{m["head"]}"{m["value"]}"', text)
