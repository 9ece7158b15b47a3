"""What the directory hands back: stored resources with their bookkeeping.

Plain data, so that the protocol layers can render them without knowing SQL.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def comparison_key(value: str) -> str:
    """The form a case-insensitive string is stored and compared in.

    NFC, then lower case, then NFC again (lower-casing can denormalize). It is
    the same key scim2-models compares ``caseExact: false`` strings with, so a
    SQL comparison on the stored key agrees with the RFC's semantics.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())


@dataclass(frozen=True)
class Reference:
    """A user or group as seen from the other side of a membership."""

    id: str
    type: str  # "User" or "Group"
    display: str | None


@dataclass
class StoredUser:
    id: str
    document: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    groups: list[Reference] = field(default_factory=list)


@dataclass
class StoredGroup:
    id: str
    document: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    members: list[Reference] = field(default_factory=list)
