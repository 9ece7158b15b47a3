"""What the directory hands back: stored resources with their bookkeeping.

Plain data, so that the protocol layers can render them without knowing SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    # What protocol layers attach for rendering (the SCIM account extension, when asked for).
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoredGroup:
    id: str
    document: dict[str, Any]
    created: datetime
    last_modified: datetime
    version: int
    members: list[Reference] = field(default_factory=list)
