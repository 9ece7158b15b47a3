"""What real identity providers send that RFC 7643 does not allow, made valid before validation.

scim2-models' ``ScimPolicy`` (see ``scim.provider.POLICY``) covers most
departures. The ones it does not cover are handled here, in this one module,
each with the provider that needs it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from scim.provider import PROVIDER


@cache
def _multi_valued(schema_id: str) -> frozenset[str]:
    """The (lower-cased) names of a schema's multi-valued attributes, read from the schema."""
    for schema in PROVIDER.schemas:
        if schema.id == schema_id:
            return frozenset(
                attribute.name.lower()
                for attribute in schema.attributes or ()
                if attribute.multi_valued and attribute.name
            )
    return frozenset()


def normalize_resource(payload: Any, schema_id: str) -> Any:
    """Make a resource payload of ``schema_id`` acceptable to the strict models.

    - OneLogin sends ``emails`` (and other multi-valued attributes) as a
      single object: it is wrapped in a list.
    """
    if not isinstance(payload, dict):
        return payload
    multi_valued = _multi_valued(schema_id)
    return {
        key: [value] if isinstance(value, dict) and key.lower() in multi_valued else value
        for key, value in payload.items()
    }


def is_empty_patch(payload: Any) -> bool:
    """An empty ``Operations`` array, which RFC 7644 forbids and some clients send: a no-op."""
    if not isinstance(payload, dict):
        return False
    operations = next((v for k, v in payload.items() if k.lower() == "operations"), None)
    return operations == []
