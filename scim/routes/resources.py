"""What every SCIM resource endpoint does (RFC 7644 §3.2-3.6), whatever the resource.

``ResourceEndpoints`` handles HTTP: authentication, reading the request,
conditional headers, projection, status codes and headers. Its subclasses
(``users``, ``groups``) say how their resource is stored, in sync functions
that run in a worker thread inside ONE transaction.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scim2_models import (
    Context,
    ListResponse,
    PatchOp,
    ResponseParameters,
    ScimProvider,
)
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory import audit
from directory.audit import Actor
from directory.paging import Page, PageRequest
from directory.tenants import Principal
from directory.units import Units
from scim import http
from scim.auth import TokenAuthenticator
from scim.errors import error_response
from scim.etags import etag, expected_version, not_modified
from scim.filters import ResourceSpec, compile_filter, sort_key
from scim.leniency import is_empty_patch, normalize_patch, normalize_resource
from scim.pagination import ListRequest, decode_cursor, encode_cursor, read_list_request
from scim.provider import PROVIDER
from scim.responses import ScimResponse

T = TypeVar("T")
Stored = Any  # StoredUser | StoredGroup


def scim_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Answer any exception a handler raises as SCIM Error JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:  # noqa: BLE001 - the one place errors become responses
            return error_response(exc)

    endpoint.__name__ = handler.__name__
    return endpoint


@dataclass
class Listing:
    """One page of rendered resources, ready for a ListResponse."""

    total: int
    resources: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    previous_cursor: str | None = None


def list_response(listed: Listing, start_index: int | None) -> ScimResponse:
    """A ListResponse (RFC 7644 §3.4.2; RFC 9865 cursors when paging by cursor)."""
    body: dict[str, Any] = {
        "schemas": [str(ListResponse.__schema__)],
        "totalResults": listed.total,
        "itemsPerPage": len(listed.resources),
    }
    if start_index is not None:
        body["startIndex"] = start_index
    if listed.next_cursor:
        body["nextCursor"] = listed.next_cursor
    if listed.previous_cursor:
        body["previousCursor"] = listed.previous_cursor
    body["Resources"] = listed.resources
    return ScimResponse(body)


# Who the request being served acts as: set with the principal, read by storage hooks that
# run account actions (the account extension), which audit under it.
ACTOR: contextvars.ContextVar[Actor] = contextvars.ContextVar("scim_actor")


def scim_actor(principal: Principal, request: Request) -> Actor:
    """Who a SCIM request acts as, for the audit trail: its token (or JWT subject), and the
    client's address."""
    actor = principal.actor("scim-token", request.client.host if request.client else None)
    ACTOR.set(actor)
    return actor


def patch_summary(patch: PatchOp[Any]) -> dict[str, Any]:
    """The operations of a PATCH without their values (a value may be a password)."""
    return {
        "operations": [
            {
                "op": str(op.op.value if hasattr(op.op, "value") else op.op),
                "path": str(op.path or ""),
            }
            for op in patch.operations or []
        ]
    }


def under(provider: ScimProvider, work: Callable[[Connection], T]) -> Callable[[Connection], T]:
    """``work`` run under ``provider``'s policy, wherever it runs (PATCH reads the policy)."""

    def run(conn: Connection) -> T:
        with provider:
            return work(conn)

    return run


class ResourceEndpoints:
    """The endpoints of one resource type; subclasses provide the storage hooks."""

    endpoint: str  # "Users"
    model: Any
    schema_id: str
    spec: ResourceSpec

    def __init__(
        self,
        units: Units,
        authenticator: TokenAuthenticator,
        provider: ScimProvider = PROVIDER,
        *,
        shared_logins: bool = False,
    ) -> None:
        self.units = units
        self.shared_logins = shared_logins  # one login may be active in several tenants
        self.authenticator = authenticator
        self.provider = provider

    # --- storage hooks, run in a worker thread inside a transaction -----------

    def create(self, conn: Connection, tenant_id: int, resource: Any) -> Stored:
        raise NotImplementedError

    def get(self, conn: Connection, tenant_id: int, id: str, full: bool) -> Stored:
        raise NotImplementedError

    def replace(
        self, conn: Connection, tenant_id: int, id: str, resource: Any, version: int | None
    ) -> Stored:
        raise NotImplementedError

    def patch(
        self,
        conn: Connection,
        tenant_id: int,
        id: str,
        patch: PatchOp[Any],
        version: int | None,
        full: bool,
    ) -> Stored:
        raise NotImplementedError

    def delete(self, conn: Connection, tenant_id: int, id: str, version: int | None) -> None:
        raise NotImplementedError

    def apply_patch(
        self,
        conn: Connection,
        tenant_id: int,
        id: str,
        patch: PatchOp[Any] | None,
        version: int | None,
        full: bool,
    ) -> Stored:
        """A validated PATCH, or the unchanged resource for an empty one."""
        if patch is None:
            return self.get(conn, tenant_id, id, full)
        return self.patch(conn, tenant_id, id, patch, version, full)

    def query(
        self, conn: Connection, tenant_id: int, request: PageRequest, full: bool
    ) -> tuple[Page, list[Stored]]:
        raise NotImplementedError

    def to_json(self, stored: Stored, base_url: str) -> dict[str, Any]:
        """The stored resource's default response JSON."""
        raise NotImplementedError

    def response_parameters(self, query: Mapping[str, Any]) -> ResponseParameters[Any]:
        """``attributes``/``excludedAttributes`` of a request, resolved for this type."""
        return http.response_parameters(self.requested(query), self.model)

    def requested(self, query: Mapping[str, Any]) -> Mapping[str, Any]:
        """The query as the projection should read it (a subclass may expand names)."""
        return query

    def describe(self, stored: Stored) -> dict[str, Any]:
        """What an audit event says of a created or replaced resource (never secrets)."""
        return {}

    def wants_everything(self, parameters: ResponseParameters[Any]) -> bool:
        """Whether a response needs the expensive derived attributes (a group's members)."""
        return True

    def unique_lookup(self, filter: str) -> Callable[[Connection, int], Stored | None] | None:
        """How to answer ``filter`` with one index lookup, when it names a unique value."""
        return None

    def is_point_read(self, full: bool) -> bool:
        """Whether reading one resource costs a few index lookups, however big the tenant."""
        return not full

    # --- the audit trail ----------------------------------------------------------

    @property
    def kind(self) -> str:
        """``user`` or ``group``: how audit events name this type."""
        return self.endpoint[:-1].lower()

    def audited(
        self,
        tenant_id: int,
        actor: Actor,
        action: str,
        work: Callable[[Connection], Stored],
        detail: Callable[[Stored], dict[str, Any]] = lambda stored: {},
    ) -> Callable[[Connection], Stored]:
        """``work`` followed, in its transaction, by the audit event of what it changed."""

        def run(conn: Connection) -> Stored:
            stored = work(conn)
            audit.record(
                conn,
                tenant_id,
                actor,
                f"{self.kind}.{action}",
                f"{self.kind}:{stored.id}",
                detail=detail(stored),
            )
            return stored

        return run

    # --- plumbing ---------------------------------------------------------------

    async def _run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` as one unit of work that may write."""
        return await self.units.write(under(self.provider, work))

    async def _read(self, work: Callable[[Connection], T]) -> T:
        """Like ``_run``, for work that only reads: it never waits for writers."""
        return await self.units.read(under(self.provider, work))

    def validate_resource(self, payload: Any, context: Context) -> Any:
        """A request body as this type's model, in a request context, IdP leniency applied."""
        with self.provider:
            return self.model.model_validate(
                normalize_resource(payload, self.schema_id), scim_ctx=context
            )

    def validate_patch(self, payload: Any) -> PatchOp[Any] | None:
        """A PATCH body as a PatchOp of this type; None for an empty (no-op) one."""
        if is_empty_patch(payload):
            return None
        with self.provider:
            patch: PatchOp[Any] = PatchOp[self.model].model_validate(  # type: ignore[name-defined]
                normalize_patch(payload), scim_ctx=Context.RESOURCE_PATCH_REQUEST
            )
        return patch

    def _respond(
        self,
        stored: Stored,
        request: Request,
        parameters: ResponseParameters[Any],
        context: Context,
        status: int = 200,
    ) -> ScimResponse:
        base = http.base_url(request)
        body = self.render_json(stored, base, parameters, context)
        headers = {"ETag": etag(stored.version)}
        if status == 201:
            headers["Location"] = f"{base}/{self.endpoint}/{stored.id}"
        return ScimResponse(body, status_code=status, headers=headers)

    def render_json(
        self,
        stored: Stored,
        base: str,
        parameters: ResponseParameters[Any],
        context: Context = Context.RESOURCE_QUERY_RESPONSE,
    ) -> dict[str, Any]:
        """A stored resource as response JSON, projected by ``attributes``/``excludedAttributes``.

        Without either, the stored document already is the default response
        (``to_json``), so the models are skipped: validating and dumping cost
        ~200 µs a resource, the bulk of a page of 100.
        """
        document = self.to_json(stored, base)
        if not parameters.attributes and not parameters.excluded_attributes:
            return document
        with self.provider:
            resource = self.model.model_validate(document)
        body: dict[str, Any] = resource.model_dump(scim_ctx=context, response_parameters=parameters)
        return body

    # --- endpoints ----------------------------------------------------------------

    def page_request(
        self, listing: ListRequest, offset: int, limit: int, *, across_types: bool = False
    ) -> PageRequest:
        """The directory's page request for a list request: filter and order compiled to SQL.

        ``across_types``: the filter is read against every type (root ``.search``), so
        an attribute this type lacks matches nothing here instead of being an error.
        """
        dialect = self.units.dialect
        where = None
        if listing.filter:
            where = compile_filter(
                listing.filter, self.spec, dialect, unknown_matches_nothing=across_types
            )
        order = []
        if listing.sort_by:
            order.append((sort_key(listing.sort_by, self.spec, dialect).expr, listing.descending))
        if listing.cursor is None:
            return PageRequest(where=where, order=order, offset=offset, limit=limit)
        after = before = None
        if listing.cursor:
            direction, keys = decode_cursor(listing.cursor, listing.fingerprint(self.endpoint))
            after, before = (keys, None) if direction == "next" else (None, keys)
        # One row more than asked tells whether there is a page beyond this one.
        return PageRequest(where=where, order=order, limit=limit + 1, after=after, before=before)

    async def page(
        self,
        principal: Principal,
        listing: ListRequest,
        parameters: ResponseParameters[Any],
        base: str,
        offset: int,
        limit: int,
        *,
        across_types: bool = False,
    ) -> Listing:
        """The resources a list request asks for, rendered, with the total and cursors."""
        if not (across_types or offset or limit <= 0):
            unique = await self._unique_match(principal, listing, parameters, base)
            if unique is not None:
                return unique
        request = self.page_request(listing, offset, limit, across_types=across_types)
        full = self.wants_everything(parameters)
        found, stored = await self._read(
            lambda conn: self.query(conn, principal.tenant_id, request, full)
        )
        keys = found.keys
        listed = Listing(total=found.total)
        if listing.cursor is not None:
            more = len(stored) > limit
            if request.before is not None:  # a previous page: the extra row is the first
                stored, keys = stored[len(stored) - limit :], keys[len(keys) - limit :]
            else:
                stored, keys = stored[:limit], keys[:limit]
            fingerprint = listing.fingerprint(self.endpoint)
            backwards = request.before is not None
            if keys and (more if not backwards else True):
                listed.next_cursor = encode_cursor(keys[-1], "next", fingerprint)
            if keys and (more if backwards else bool(listing.cursor)):
                listed.previous_cursor = encode_cursor(keys[0], "prev", fingerprint)
        listed.resources = [self.render_json(one, base, parameters) for one in stored]
        return listed

    async def _unique_match(
        self,
        principal: Principal,
        listing: ListRequest,
        parameters: ResponseParameters[Any],
        base: str,
    ) -> Listing | None:
        """The first page of a filter on a unique value, as one point read; None otherwise."""
        if not listing.filter or listing.cursor is not None or listing.sort_by:
            return None
        lookup = self.unique_lookup(listing.filter)
        if lookup is None or not self.is_point_read(self.wants_everything(parameters)):
            return None
        tenant_id = principal.tenant_id
        found = await self.units.read_point(under(self.provider, lambda c: lookup(c, tenant_id)))
        resources = [] if found is None else [self.render_json(found, base, parameters)]
        return Listing(total=len(resources), resources=resources)

    async def _list(self, request: Request, query: Mapping[str, Any]) -> Response:
        principal = await self.authenticator.principal(request)
        listing = read_list_request(query)
        parameters = self.response_parameters(query)
        listed = await self.page(
            principal,
            listing,
            parameters,
            http.base_url(request),
            listing.start_index - 1,
            listing.count,
        )
        start_index = None if listing.cursor is not None else listing.start_index
        return list_response(listed, start_index)

    async def list_resources(self, request: Request) -> Response:
        return await self._list(request, request.query_params)

    async def search_resources(self, request: Request) -> Response:
        return await self._list(request, await http.read_search(request))

    async def create_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = self.response_parameters(request.query_params)
        resource = self.validate_resource(
            await http.read_json(request), Context.RESOURCE_CREATION_REQUEST
        )
        actor = scim_actor(principal, request)
        stored = await self._run(
            self.audited(
                principal.tenant_id,
                actor,
                "create",
                lambda conn: self.create(conn, principal.tenant_id, resource),
                self.describe,
            )
        )
        return self._respond(
            stored, request, parameters, Context.RESOURCE_CREATION_RESPONSE, status=201
        )

    async def get_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = self.response_parameters(request.query_params)
        id = request.path_params["id"]
        full = self.wants_everything(parameters)
        read = self.units.read_point if self.is_point_read(full) else self.units.read
        stored = await read(
            under(self.provider, lambda conn: self.get(conn, principal.tenant_id, id, full))
        )
        if not_modified(request.headers, stored.version):
            return Response(status_code=304, headers={"ETag": etag(stored.version)})
        return self._respond(stored, request, parameters, Context.RESOURCE_QUERY_RESPONSE)

    async def replace_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = self.response_parameters(request.query_params)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        resource = self.validate_resource(
            await http.read_json(request), Context.RESOURCE_REPLACEMENT_REQUEST
        )
        stored = await self._run(
            self.audited(
                principal.tenant_id,
                scim_actor(principal, request),
                "replace",
                lambda conn: self.replace(conn, principal.tenant_id, id, resource, version),
                self.describe,
            )
        )
        return self._respond(stored, request, parameters, Context.RESOURCE_REPLACEMENT_RESPONSE)

    async def patch_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = self.response_parameters(request.query_params)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        payload = await http.read_json(request)
        full = self.wants_everything(parameters)
        patch = self.validate_patch(payload)
        work = lambda conn: self.apply_patch(  # noqa: E731
            conn, principal.tenant_id, id, patch, version, full
        )
        if patch is not None:
            work = self.audited(
                principal.tenant_id,
                scim_actor(principal, request),
                "patch",
                work,
                lambda _: patch_summary(patch),
            )
        stored = await self._run(work)
        return self._respond(stored, request, parameters, Context.RESOURCE_PATCH_RESPONSE)

    async def delete_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        actor = scim_actor(principal, request)

        def work(conn: Connection) -> None:
            self.delete(conn, principal.tenant_id, id, version)
            kind = self.kind
            audit.record(conn, principal.tenant_id, actor, f"{kind}.delete", f"{kind}:{id}")

        await self._run(work)
        return Response(status_code=204)

    def routes(self) -> list[Route]:
        path = f"/{self.endpoint}"
        return [
            Route(path, scim_errors(self.list_resources), methods=["GET"]),
            Route(path, scim_errors(self.create_resource), methods=["POST"]),
            Route(path + "/.search", scim_errors(self.search_resources), methods=["POST"]),
            Route(path + "/{id}", scim_errors(self.get_resource), methods=["GET"]),
            Route(path + "/{id}", scim_errors(self.replace_resource), methods=["PUT"]),
            Route(path + "/{id}", scim_errors(self.patch_resource), methods=["PATCH"]),
            Route(path + "/{id}", scim_errors(self.delete_resource), methods=["DELETE"]),
        ]
