"""Reading SCIM requests: bodies, query parameters and the base URL.

Everything here raises SCIM exceptions, which ``scim.errors`` turns into
responses.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    ResponseParameters,
)
from starlette.requests import Request

from scim.errors import UnsupportedMediaTypeError, validation_exception

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


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON; 415 for a non-JSON media type, 413 past ``limit`` bytes,
    400 invalidSyntax if unreadable."""
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaTypeError()
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeException(detail=f"The body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a chunked body announces no length: count as it comes
            raise PayloadTooLargeException(detail=f"The body exceeds {limit} bytes")
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise InvalidSyntaxException(detail=f"The body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidSyntaxException(detail="The body is nested too deeply") from exc
    # Without \u escapes, JSON text can hold neither NUL (raw control characters
    # are invalid JSON) nor lone surrogates (invalid UTF-8): no need to look.
    if b"\\u" in body:
        for text in strings_of(document):
            check_storable(text)
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strings_of(document: Any) -> Iterator[str]:
    """Every string (keys included) of a parsed JSON document, without recursion."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (key for key in item if isinstance(key, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_storable(text: str) -> None:
    """400 for text no backend can store: NUL (PostgreSQL text and jsonb refuse it) and
    lone UTF-16 surrogates (not encodable as UTF-8)."""
    if "\x00" in text:
        raise InvalidValueException(detail="Strings cannot hold the NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueException(detail="Strings cannot hold lone UTF-16 surrogates") from exc


def response_parameters(query: Mapping[str, Any], model: Any) -> ResponseParameters[Any]:
    """``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9) resolved against ``model``.

    ``query`` is the query string, or the body of a POST ``.search``.
    """
    wanted = {key: query[key] for key in ("attributes", "excludedAttributes") if query.get(key)}
    if not wanted:
        return _no_projection(model)
    try:
        parameters: ResponseParameters[Any] = ResponseParameters[model].model_validate(wanted)
    except ValidationError as exc:
        raise validation_exception(exc) from exc
    return parameters


@functools.cache
def _no_projection(model: Any) -> ResponseParameters[Any]:
    """What most requests ask for: the default attributes. Validated once per resource type."""
    parameters: ResponseParameters[Any] = ResponseParameters[model].model_validate({})
    return parameters


async def read_search(request: Request) -> dict[str, Any]:
    """The body of a POST ``.search`` (RFC 7644 §3.4.3) as the query parameters a GET takes."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="A search request is a JSON object")
    query = {key: value for key, value in body.items() if key != "schemas"}
    for key in ("attributes", "excludedAttributes"):
        if isinstance(query.get(key), list):
            query[key] = ",".join(str(item) for item in query[key])
    if "filter" in query and not isinstance(query["filter"], str):
        raise InvalidValueException(detail="filter must be a string")
    return query
