"""List requests: filter, sort (RFC 7644 §3.4.2.3), index pages (§3.4.2.4) and cursors (RFC 9865).

A cursor is opaque to clients: the sort-key values of the row a page starts
after (or ends before), and a fingerprint of the query it belongs to, so that a
cursor used with another filter or order is refused as ``invalidCursor``
rather than silently paging something else. Cursors point into the data, not
into server memory, so they never expire and any server process can serve
the next page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import InvalidCursorException, InvalidValueException

from scim.provider import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True)
class ListRequest:
    """The query of a GET on a resource endpoint, or the body of a ``.search``."""

    filter: str | None
    sort_by: str | None
    descending: bool
    start_index: int
    count: int
    cursor: str | None  # None: index paging; "": the first page of cursor paging

    def fingerprint(self, resource_type: str) -> str:
        query = [resource_type, self.filter or "", self.sort_by or "", self.descending]
        digest = hashlib.sha256(json.dumps(query).encode()).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()


def _integer(query: Mapping[str, Any], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        # Past 2**31 nothing is there to page to; the database's integers stop too.
        return min(int(raw), 2**31 - 1)
    except (TypeError, ValueError) as exc:
        raise InvalidValueException(detail=f"{name} must be an integer, got {raw!r}") from exc


def read_list_request(query: Mapping[str, Any]) -> ListRequest:
    """Read and clamp the list parameters (a ``startIndex`` below 1 is 1, a ``count`` above the
    advertised maximum is that maximum, per RFC 7644 §3.4.2.4)."""
    order = str(query.get("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValueException(detail="sortOrder is 'ascending' or 'descending'")
    cursor = query.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidCursorException(detail="cursor must be a string")
    if cursor is not None and query.get("startIndex") not in (None, ""):
        raise InvalidValueException(detail="cursor and startIndex cannot be used together")
    text = query.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValueException(detail="filter must be a string")
    sort_by = query.get("sortBy")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValueException(detail="sortBy must be a string")
    return ListRequest(
        filter=text or None,
        sort_by=sort_by or None,
        descending=order == "descending",
        start_index=max(1, _integer(query, "startIndex", 1)),
        count=min(MAX_PAGE_SIZE, max(0, _integer(query, "count", DEFAULT_PAGE_SIZE))),
        cursor=cursor,
    )


def _encode_value(value: Any) -> Any:
    return {"dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["dt"])
    return value


def encode_cursor(keys: Sequence[Any], direction: str, fingerprint: str) -> str:
    """An opaque cursor: seek ``direction`` ("next" or "prev") from the row with ``keys``."""
    payload = {"k": [_encode_value(key) for key in keys], "d": direction, "q": fingerprint}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[str, list[Any]]:
    """The direction and keys of a cursor; 400 invalidCursor for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        direction, keys, query = payload["d"], payload["k"], payload["q"]
        if direction not in ("next", "prev") or not isinstance(keys, list):
            raise ValueError(direction)
        values = [_decode_value(key) for key in keys]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidCursorException(detail="The cursor is not one this server issued") from exc
    if query != fingerprint:
        raise InvalidCursorException(detail="The cursor belongs to another query")
    return direction, values
