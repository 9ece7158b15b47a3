"""Resource versions as weak ETags, and the conditional headers of RFC 7232 / RFC 7644 §3.14."""

from __future__ import annotations

from collections.abc import Mapping

from scim2_models import PreconditionFailedException


def etag(version: int) -> str:
    return f'W/"{version}"'


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def _matches(header: str, version: int) -> bool:
    tags = _tags(header)
    return "*" in tags or f'"{version}"' in tags


def expected_version(headers: Mapping[str, str]) -> int | None:
    """The version an ``If-Match`` header pins, for the store to check atomically.

    ``*`` pins nothing (any existing version matches). A header naming a version
    that is not an integer can never match, so it pins -1.
    """
    header = headers.get("if-match")
    if not header:
        return None
    tags = _tags(header)
    if "*" in tags:
        return None
    versions = [tag.strip('"') for tag in tags]
    if len(versions) != 1 or not versions[0].isdigit():
        raise PreconditionFailedException(detail=f"If-Match {header!r} names no current version")
    return int(versions[0])


def not_modified(headers: Mapping[str, str], version: int) -> bool:
    """Whether a GET's ``If-None-Match`` names the current version (answer 304)."""
    header = headers.get("if-none-match")
    return bool(header) and _matches(header or "", version)
