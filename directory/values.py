"""The rules every stored string follows: its comparison form and its bounds.

Checked here, before any SQL runs, so that an over-long or mistyped value is an
``InvalidValue`` on every backend instead of a backend-specific driver error
(SQLite stores anything; PostgreSQL refuses past the column's length).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from directory.errors import InvalidValue

# Column widths of directory.tables, by what they hold.
NAME_LENGTH = 256  # userName, displayName, externalId, member display
EMAIL_LENGTH = 320  # RFC 5321: 64 + 1 + 255
TENANT_NAME_LENGTH = 100


def comparison_key(value: str) -> str:
    """The form a case-insensitive string is stored and compared in.

    NFC, then lower case, then NFC again (lower-casing can denormalize). It is
    the same key scim2-models compares ``caseExact: false`` strings with, so a
    SQL comparison on the stored key agrees with the RFC's semantics.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())


def bounded_key(name: str, value: str, max_length: int) -> str:
    """The comparison key of ``value``, bounded too: case-folding can lengthen a string
    ("İ" lower-cases to two characters)."""
    key = comparison_key(value)
    if len(key) > max_length:
        raise InvalidValue(f"{name} is longer than {max_length} characters once case-folded")
    return key


def bounded_text(name: str, value: Any, max_length: int, *, required: bool = False) -> str | None:
    """``value`` as a bounded string (None when optional and absent); InvalidValue otherwise."""
    if value is None:
        if required:
            raise InvalidValue(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidValue(f"{name} must not be empty")
    if len(value) > max_length:
        raise InvalidValue(f"{name} is longer than {max_length} characters")
    return value
