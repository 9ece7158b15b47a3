"""Errors of scimd's own JSON APIs (``/admin/v1``, ``/auth``): the one place they become responses.

Their shape is ``{"error": code, "detail": text}`` with a fitting status.
Directory errors carry their ``code``; authentication errors come from the
SCIM token authenticator (shared by both APIs) and are answered in this shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from scim2_models import SCIMException
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from directory import errors as directory_errors
from scim.http import strings_of

log = logging.getLogger("scimd.api")
MAX_INTEGER = 2**63 - 1  # the largest number the drivers bind (a signed 64-bit integer)
MAX_ID = 2**31 - 1  # the largest id an INTEGER key holds (PostgreSQL's int4: jobs, snapshots)

_STATUS: dict[type[directory_errors.DirectoryError], int] = {
    directory_errors.NotFound: 404,
    directory_errors.Conflict: 409,
    directory_errors.VersionMismatch: 412,
    directory_errors.InvalidValue: 400,
    directory_errors.Unavailable: 503,
    directory_errors.NotConfigured: 503,
    directory_errors.RegistrationClosed: 403,
    directory_errors.ProviderFailed: 502,
    directory_errors.InvalidCredentials: 401,
    directory_errors.AccountLocked: 403,
    directory_errors.LoginNotAllowed: 403,
    directory_errors.Throttled: 429,
}
# What a refused sign-in may tell the client: the code, never the account's state.
_SIGN_IN_DETAIL = {
    "invalid_credentials": "The login or the credentials are not valid",
    "account_locked": "The account is locked; ask an administrator",
    "login_not_allowed": "This account may not sign in now; ask an administrator",
    "throttled": "Too many failed attempts; try again later",
}


class ApiError(Exception):
    """An error found by the API layer itself (a malformed request, an unknown route)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def validation_detail(exc: ValidationError) -> str:
    """The first thing pydantic refused, readably: where, and why."""
    errors = exc.errors()
    if not errors:
        return str(exc)
    where = ".".join(str(part) for part in errors[0].get("loc", ()))
    return f"{where}: {errors[0]['msg']}" if where else str(errors[0]["msg"])


def error_response(exc: Exception) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        status, code, detail = exc.status, exc.code, exc.detail
    elif isinstance(exc, directory_errors.SignInRefused):
        status, code = _STATUS.get(type(exc), 401), exc.code
        detail = _SIGN_IN_DETAIL.get(code, "Sign-in refused")
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, directory_errors.DirectoryError):
        status, code, detail = _STATUS.get(type(exc), 400), exc.code, exc.detail
        if isinstance(exc, directory_errors.Unavailable):
            headers["Retry-After"] = "1"
    elif isinstance(exc, HTTPException):  # Starlette's own: a malformed multipart body
        status, code, detail = exc.status_code, "invalid_request", str(exc.detail)
    elif isinstance(exc, ValidationError):  # a document scim2-models refused
        status, code, detail = 400, "invalid_value", validation_detail(exc)
    elif isinstance(exc, SCIMException):  # the bearer-token check
        status = exc.status
        code = {401: "unauthorized", 403: "forbidden", 429: "throttled"}.get(status, "error")
        detail = exc.detail or code
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="scimd"'
        elif status == 429:
            headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
    else:
        log.error("unexpected error while serving an API request", exc_info=exc)
        status, code, detail = 500, "internal_error", "Internal server error"
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def api_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Answer anything a handler raises in the API's error shape."""

    async def endpoint(request: Request) -> Response:
        try:
            for value in (*request.path_params.values(), *request.query_params.values()):
                if isinstance(value, str):
                    check_storable(value, "parameters")
            return await handler(request)
        except Exception as exc:  # noqa: BLE001 - the one place errors become responses
            return error_response(exc)

    endpoint.__name__ = getattr(handler, "__name__", "endpoint")
    return endpoint


async def read_object(request: Request, limit: int = 1024 * 1024) -> dict[str, Any]:
    """The request body as a JSON object; 400 otherwise, 413 past ``limit`` bytes (read no
    further than that)."""
    body = bytearray()
    async for chunk in bounded(request, limit).stream():
        body += chunk
    if not body:
        return {}
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "The body is nested too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object")
    # Without \u escapes, JSON text holds neither NUL nor lone surrogates: no need to look.
    if b"\\u" in body:
        for text in strings_of(value):
            check_storable(text, "strings")
    return value


def bounded(request: Request, limit: int, detail: str | None = None) -> Request:
    """``request`` with a body that is refused (413, ``detail``) once more than ``limit``
    bytes came: a declared length at once, a chunked body as it comes, so that a parser
    reading it (a multipart form spooling its file to disk) stops there."""
    too_large = ApiError(413, "too_large", detail or f"The body exceeds {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large
        return message

    return Request(request.scope, receive)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_storable(text: str, what: str) -> None:
    """400 for text no backend can store: NUL (PostgreSQL refuses it in text and jsonb) and
    lone UTF-16 surrogates (not encodable as UTF-8)."""
    if "\x00" in text:
        raise ApiError(400, "invalid_value", f"{what.capitalize()} cannot hold the NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "invalid_value", f"{what.capitalize()} cannot hold lone UTF-16 surrogates"
        ) from None


def integer_param(value: str | None, name: str, default: int) -> int:
    """A whole number from a query or path parameter; ``default`` when absent. Past 64 bits
    it is refused here: no column holds it, and the drivers raise on binding it."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise directory_errors.InvalidValue(f"{name} must be a whole number") from None
    if not -MAX_INTEGER <= number <= MAX_INTEGER:
        raise directory_errors.InvalidValue(f"{name} is out of range")
    return number
