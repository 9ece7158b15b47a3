"""``POST /Bulk`` (RFC 7644 §3.7): many operations in one request, in one transaction.

Operations run in the order given, except that one referring to a ``bulkId``
not created yet waits until the operation creating it has run (forward
references: a group listed before the users it contains). Each operation runs
in a savepoint, so a failed one leaves no trace and the others go on; after
``failOnErrors`` failures the rest are not run. Everything that succeeded is
committed together when the request ends, so an interrupted request writes
nothing half-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim2_models import (
    Context,
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from directory import audit
from directory.audit import Actor
from scim import http
from scim.auth import TokenAuthenticator
from scim.errors import error_body
from scim.etags import etag, expected_version
from scim.http import strings_of
from scim.provider import MAX_BULK_BYTES, MAX_BULK_OPERATIONS
from scim.responses import ScimResponse
from scim.routes.resources import ResourceEndpoints, scim_actor, under

MAX_OPERATIONS = MAX_BULK_OPERATIONS
MAX_PAYLOAD_BYTES = MAX_BULK_BYTES
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"bulkId:([^/\s\"]+)")
_STATUS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}


class UnresolvedReference(SCIMException):
    """An operation names a bulkId that no successful operation created (RFC 7644 §3.7.2)."""

    status = 409
    scim_type = "invalidValue"


@dataclass
class Operation:
    index: int
    method: str
    path: str
    bulk_id: str | None
    version: str | None
    data: Any

    def references(self) -> set[str]:
        """The bulkIds this operation's path and data refer to."""
        texts = [self.path, *strings_of(self.data)]
        return {ref for text in texts for ref in _REFERENCE.findall(text)}


def _read_operations(body: Any) -> tuple[list[Operation], int | None]:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="A bulk request is a JSON object")
    raw = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(raw, list):
        raise InvalidSyntaxException(detail="A bulk request needs an Operations array")
    if len(raw) > MAX_OPERATIONS:
        raise PayloadTooLargeException(
            detail=f"{len(raw)} operations exceed maxOperations ({MAX_OPERATIONS})"
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (
        not isinstance(fail_on_errors, int)
        or isinstance(fail_on_errors, bool)
        or fail_on_errors < 1
    ):
        raise InvalidValueException(detail="failOnErrors must be a positive integer")
    operations = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidSyntaxException(detail=f"Operation {index} is not a JSON object")
        method = str(item.get("method", "")).upper()
        path = item.get("path")
        if method not in _STATUS or not isinstance(path, str) or not path.startswith("/"):
            raise InvalidValueException(
                detail=f"Operation {index} needs a method (POST, PUT, PATCH, DELETE) and a path"
            )
        bulk_id = item.get("bulkId")
        if method == "POST" and not isinstance(bulk_id, str):
            raise InvalidValueException(detail=f"Operation {index}: a POST needs a bulkId")
        operations.append(
            Operation(index, method, path, bulk_id, item.get("version"), item.get("data"))
        )
    seen: set[str] = set()
    for operation in operations:
        if operation.bulk_id in seen:
            raise InvalidValueException(detail=f"bulkId {operation.bulk_id!r} is used twice")
        if operation.bulk_id:
            seen.add(operation.bulk_id)
    return operations, fail_on_errors


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: ids.get(m[1], m[0]), value)
    if isinstance(value, list):
        return [_substitute(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, ids) for key, item in value.items()}
    return value


class Bulk:
    def __init__(
        self,
        authenticator: TokenAuthenticator,
        endpoints: list[ResourceEndpoints],
    ) -> None:
        self.authenticator = authenticator
        self.endpoints = {f"/{endpoint.endpoint.lower()}": endpoint for endpoint in endpoints}
        self.units = endpoints[0].units
        self.provider = endpoints[0].provider

    def _route(self, path: str) -> tuple[ResourceEndpoints, str | None]:
        head, _, id = path.strip("/").partition("/")
        endpoint = self.endpoints.get(f"/{head.lower()}")
        if endpoint is None or "/" in id:
            raise InvalidValueException(detail=f"No resource endpoint at {path!r}")
        return endpoint, id or None

    def _run_one(
        self, conn: Connection, tenant_id: int, operation: Operation, actor: Actor
    ) -> tuple[int, str | None, str | None]:
        """Run one operation and audit it; its status, the id it touched, the version it left."""
        status, id, version = self._apply_one(conn, tenant_id, operation)
        endpoint, _ = self._route(operation.path)
        action = {"POST": "create", "PUT": "replace", "PATCH": "patch", "DELETE": "delete"}
        audit.record(
            conn,
            tenant_id,
            actor,
            f"{endpoint.kind}.{action[operation.method]}",
            f"{endpoint.kind}:{id}",
            detail={"bulk": True},
        )
        return status, id, version

    def _apply_one(
        self, conn: Connection, tenant_id: int, operation: Operation
    ) -> tuple[int, str | None, str | None]:
        endpoint, id = self._route(operation.path)
        # An operation's version is an ETag, pinned as an If-Match header would.
        version = expected_version({"if-match": operation.version or ""})
        if operation.method == "POST":
            if id is not None:
                raise InvalidValueException(detail="POST goes to a resource endpoint, not an id")
            resource = endpoint.validate_resource(operation.data, Context.RESOURCE_CREATION_REQUEST)
            stored = endpoint.create(conn, tenant_id, resource)
            return 201, stored.id, etag(stored.version)
        if id is None:
            raise InvalidValueException(detail=f"{operation.method} needs a resource id in path")
        if operation.method == "PUT":
            resource = endpoint.validate_resource(
                operation.data, Context.RESOURCE_REPLACEMENT_REQUEST
            )
            stored = endpoint.replace(conn, tenant_id, id, resource, version)
        elif operation.method == "PATCH":
            patch = endpoint.validate_patch(operation.data)
            stored = endpoint.apply_patch(conn, tenant_id, id, patch, version, False)
        else:
            endpoint.delete(conn, tenant_id, id, version)
            return 204, id, None
        return 200, stored.id, etag(stored.version)

    def _execute(
        self,
        conn: Connection,
        tenant_id: int,
        operations: list[Operation],
        fail_on_errors: int | None,
        base: str,
        actor: Actor,
    ) -> list[dict[str, Any]]:
        ids: dict[str, str] = {}
        failed: set[str] = set()
        results: dict[int, dict[str, Any]] = {}
        errors = 0
        pending = list(operations)
        while pending:
            # Run what can run now; an operation waiting on a bulkId a later
            # operation creates is kept for the next pass.
            ready = [op for op in pending if op.references() <= set(ids) | failed]
            if not ready:
                ready = pending  # circular or unknown references: they fail below
            for operation in ready:
                pending.remove(operation)
                result = self._result(operation)
                try:
                    missing = operation.references() - set(ids)
                    if missing:
                        raise UnresolvedReference(
                            detail=f"bulkId {sorted(missing)[0]!r} was not created"
                        )
                    resolved = Operation(
                        operation.index,
                        operation.method,
                        _substitute(operation.path, ids),
                        operation.bulk_id,
                        operation.version,
                        _substitute(operation.data, ids),
                    )
                    with conn.begin_nested():
                        status, id, version = self._run_one(conn, tenant_id, resolved, actor)
                except Exception as exc:  # noqa: BLE001 - each failure is this operation's result
                    errors += 1
                    if operation.bulk_id:
                        failed.add(operation.bulk_id)
                    result.update(_failure(exc))
                else:
                    if operation.bulk_id and id:
                        ids[operation.bulk_id] = id
                    result["status"] = str(status)
                    if id and operation.method != "DELETE":
                        endpoint, _ = self._route(resolved.path)
                        result["location"] = f"{base}/{endpoint.endpoint}/{id}"
                    if version:
                        result["version"] = version
                results[operation.index] = result
                if fail_on_errors is not None and errors >= fail_on_errors:
                    return [results[i] for i in sorted(results)]
        return [results[i] for i in sorted(results)]

    @staticmethod
    def _result(operation: Operation) -> dict[str, Any]:
        result: dict[str, Any] = {"method": operation.method}
        if operation.bulk_id:
            result["bulkId"] = operation.bulk_id
        if operation.method != "POST":
            result["location"] = operation.path
        return result

    async def bulk(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeException(
                detail=f"The bulk request exceeds maxPayloadSize ({MAX_PAYLOAD_BYTES} bytes)"
            )
        body = await http.read_json(request, limit=MAX_PAYLOAD_BYTES)
        operations, fail_on_errors = _read_operations(body)
        base = http.base_url(request)
        actor = scim_actor(principal, request)
        results = await self.units.write(
            under(
                self.provider,
                lambda conn: self._execute(
                    conn, principal.tenant_id, operations, fail_on_errors, base, actor
                ),
            )
        )
        return ScimResponse({"schemas": [BULK_RESPONSE], "Operations": results})


def _failure(exc: Exception) -> dict[str, Any]:
    status, body = error_body(exc)
    return {"status": str(status), "response": body}
