"""Turning anything a SCIM request raises into SCIM Error JSON: the one place.

scim2-models' ``SCIMException`` hierarchy (one class per RFC 7644 scimType) is
the protocol's error vocabulary; directory errors and validation errors are
translated into it here, so handlers just raise.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Error,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    SCIMException,
    UniquenessException,
)

from directory import errors as directory_errors
from scim.responses import ScimResponse

log = logging.getLogger("scimd.scim")


class ServiceUnavailableError(SCIMException):
    """The store is unreachable or busy for now; nothing was written, the request can be retried."""

    status = 503
    _default_detail = "The service is unavailable; try again"


_FROM_DIRECTORY: dict[type[directory_errors.DirectoryError], type[SCIMException]] = {
    directory_errors.NotFound: NotFoundException,
    directory_errors.Conflict: UniquenessException,
    directory_errors.VersionMismatch: PreconditionFailedException,
    directory_errors.InvalidValue: InvalidValueException,
    directory_errors.Unavailable: ServiceUnavailableError,
}


class UnauthorizedError(SCIMException):
    """No bearer token, or one no tenant owns (RFC 7644 §3.12: 401, no scimType).

    ``bearer_error`` is the RFC 6750 §3.1 error code the challenge carries, if any
    (``invalid_token``).
    """

    status = 401
    _default_detail = "Authentication required: send 'Authorization: Bearer <token>'"

    def __init__(self, *, detail: str | None = None, bearer_error: str | None = None) -> None:
        super().__init__(detail=detail)
        self.bearer_error = bearer_error


class ForbiddenError(SCIMException):
    """A valid token whose scopes do not cover the request."""

    status = 403
    _default_detail = "This token may not perform this operation"


class TooManyRequestsError(SCIMException):
    """The token spent its request budget (``SCIMD_RATE_LIMIT_PER_SECOND``): wait, then retry."""

    status = 429
    _default_detail = "Too many requests for this token; retry after the time given"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class MethodNotAllowedError(SCIMException):
    status = 405
    _default_detail = "Method not allowed on this endpoint"


class UnsupportedMediaTypeError(SCIMException):
    status = 415
    _default_detail = "Send the body as application/scim+json or application/json"


def scim_exception(exc: Exception) -> SCIMException | None:
    """The SCIM exception an error stands for, or None for an unexpected error."""
    if isinstance(exc, SCIMException):
        return exc
    if isinstance(exc, directory_errors.DirectoryError):
        return _FROM_DIRECTORY[type(exc)](detail=exc.detail)
    if isinstance(exc, ValidationError):
        return validation_exception(exc)
    return None


def validation_exception(exc: ValidationError) -> SCIMException:
    """The SCIM error (scimType included) scim2-models reads from a validation error."""
    return SCIMException.from_error(Error.from_validation_errors(exc)[0])


def error_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The HTTP status and SCIM Error JSON for an exception; unexpected ones are logged, 500."""
    scim_exc = scim_exception(exc)
    if scim_exc is None:
        log.error("unexpected error while serving a SCIM request", exc_info=exc)
        error = Error(status=500, detail="Internal server error")
    else:
        error = scim_exc.to_error()
    return int(error.status or 500), error.model_dump()


def error_response(exc: Exception) -> ScimResponse:
    """The SCIM Error response for an exception."""
    status, body = error_body(exc)
    headers = None
    if status == 401:
        challenge = 'Bearer realm="SCIM"'
        bearer_error = getattr(exc, "bearer_error", None)
        if bearer_error:
            challenge += f', error="{bearer_error}"'
        headers = {"WWW-Authenticate": challenge}
    elif status == 503:
        headers = {"Retry-After": "1"}
    elif status == 429:
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))}
    return ScimResponse(body, status_code=status, headers=headers)
