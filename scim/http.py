"""Reading SCIM requests: bodies, query parameters and the base URL.

Everything here raises SCIM exceptions, which ``scim.errors`` turns into
responses.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    ResponseParameters,
)
from starlette.requests import Request

from scim.errors import UnsupportedMediaTypeError, scim_exception
from scim.provider import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

SCIM_PREFIX = "/scim/v2"
MAX_BODY_BYTES = 10 * 1024 * 1024


def base_url(request: Request) -> str:
    """The SCIM base URL as the client reached it, for ``meta.location`` and ``$ref``."""
    return str(request.base_url).rstrip("/") + SCIM_PREFIX


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type in ("", "application/json", "text/json") or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_json(request: Request) -> Any:
    """The request body as JSON; 415 for a non-JSON media type, 400 invalidSyntax if unreadable."""
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaTypeError()
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLargeException(detail=f"The body exceeds {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeException(detail=f"The body exceeds {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvalidSyntaxException(detail=f"The body is not valid JSON: {exc}") from exc


def response_parameters(request: Request, model: Any) -> ResponseParameters[Any]:
    """``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9) resolved against ``model``."""
    query = {
        key: request.query_params[key]
        for key in ("attributes", "excludedAttributes")
        if request.query_params.get(key)
    }
    try:
        return ResponseParameters[model].model_validate(query)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise scim_exception(exc) from exc  # type: ignore[misc]


def _integer(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidValueException(detail=f"{name} must be an integer, got {raw!r}") from exc


def page(request: Request) -> tuple[int, int]:
    """``startIndex`` (1-based) and ``count`` of a list request, clamped per RFC 7644 §3.4.2.4.

    A ``startIndex`` below 1 is read as 1, a negative ``count`` as 0, and a
    ``count`` above the advertised maximum as that maximum.
    """
    start_index = max(1, _integer(request, "startIndex", 1))
    count = min(MAX_PAGE_SIZE, max(0, _integer(request, "count", DEFAULT_PAGE_SIZE)))
    return start_index, count
