"""What every SCIM resource endpoint does (RFC 7644 §3.2-3.6), whatever the resource.

``ResourceEndpoints`` handles HTTP: authentication, reading the request,
conditional headers, projection, status codes and headers. Its subclasses
(``users``, ``groups``) say how their resource is stored, in sync functions
that run in a worker thread inside ONE transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from scim2_models import Context, ListResponse, PatchOp, Resource, ResponseParameters
from sqlalchemy import ColumnElement, Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.tenants import Principal
from scim import http
from scim.auth import TokenAuthenticator
from scim.errors import error_response
from scim.etags import etag, expected_version, not_modified
from scim.filters import SqlFilter, compile_filter
from scim.leniency import is_empty_patch, normalize_resource
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


def list_response(total: int, start_index: int, resources: list[dict[str, Any]]) -> ScimResponse:
    """A ListResponse (RFC 7644 §3.4.2) of already-rendered resources."""
    return ScimResponse(
        {
            "schemas": [str(ListResponse.__schema__)],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


class ResourceEndpoints:
    """The endpoints of one resource type; subclasses provide the storage hooks."""

    endpoint: str  # "Users"
    model: Any
    schema_id: str
    sql_filter: SqlFilter

    def __init__(self, engine: Engine, authenticator: TokenAuthenticator) -> None:
        self.engine = engine
        self.authenticator = authenticator

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

    def query(
        self,
        conn: Connection,
        tenant_id: int,
        where: ColumnElement[bool] | None,
        offset: int,
        limit: int,
        full: bool,
    ) -> tuple[int, list[Stored]]:
        raise NotImplementedError

    def render(self, stored: Stored, base_url: str) -> Resource[Any]:
        raise NotImplementedError

    def wants_everything(self, parameters: ResponseParameters[Any]) -> bool:
        """Whether a response needs the expensive derived attributes (a group's members)."""
        return True

    # --- plumbing ---------------------------------------------------------------

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with PROVIDER, self.engine.begin() as conn:
            return work(conn)

    async def _run(self, work: Callable[[Connection], T]) -> T:
        return await run_in_threadpool(self._transaction, work)

    def _validate(self, payload: Any, context: Context) -> Any:
        with PROVIDER:
            return self.model.model_validate(
                normalize_resource(payload, self.schema_id), scim_ctx=context
            )

    def _respond(
        self,
        stored: Stored,
        request: Request,
        parameters: ResponseParameters[Any],
        context: Context,
        status: int = 200,
    ) -> ScimResponse:
        resource = self.render(stored, http.base_url(request))
        body = resource.model_dump(scim_ctx=context, response_parameters=parameters)
        headers = {"ETag": etag(stored.version)}
        if status == 201 and resource.meta and resource.meta.location:
            headers["Location"] = resource.meta.location
        return ScimResponse(body, status_code=status, headers=headers)

    # --- endpoints ----------------------------------------------------------------

    async def page(
        self, principal: Principal, query: Mapping[str, Any], offset: int, limit: int, base: str
    ) -> tuple[int, list[dict[str, Any]]]:
        """Matching resources ``offset..offset+limit`` as response JSON, and how many match."""
        parameters = http.response_parameters(query, self.model)
        text = query.get("filter")
        where = compile_filter(text, self.model, self.sql_filter) if text else None
        full = self.wants_everything(parameters)
        total, page = await self._run(
            lambda conn: self.query(conn, principal.tenant_id, where, offset, limit, full)
        )
        return total, [
            self.render(stored, base).model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
            )
            for stored in page
        ]

    async def _list(self, request: Request, query: Mapping[str, Any]) -> Response:
        principal = await self.authenticator.principal(request)
        start_index, count = http.page(query)
        total, resources = await self.page(
            principal, query, start_index - 1, count, http.base_url(request)
        )
        return list_response(total, start_index, resources)

    async def list_resources(self, request: Request) -> Response:
        return await self._list(request, request.query_params)

    async def search_resources(self, request: Request) -> Response:
        return await self._list(request, await http.read_search(request))

    async def create_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = http.response_parameters(request.query_params, self.model)
        resource = self._validate(await http.read_json(request), Context.RESOURCE_CREATION_REQUEST)
        stored = await self._run(lambda conn: self.create(conn, principal.tenant_id, resource))
        return self._respond(
            stored, request, parameters, Context.RESOURCE_CREATION_RESPONSE, status=201
        )

    async def get_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = http.response_parameters(request.query_params, self.model)
        id = request.path_params["id"]
        full = self.wants_everything(parameters)
        stored = await self._run(lambda conn: self.get(conn, principal.tenant_id, id, full))
        if not_modified(request.headers, stored.version):
            return Response(status_code=304, headers={"ETag": etag(stored.version)})
        return self._respond(stored, request, parameters, Context.RESOURCE_QUERY_RESPONSE)

    async def replace_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = http.response_parameters(request.query_params, self.model)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        resource = self._validate(
            await http.read_json(request), Context.RESOURCE_REPLACEMENT_REQUEST
        )
        stored = await self._run(
            lambda conn: self.replace(conn, principal.tenant_id, id, resource, version)
        )
        return self._respond(stored, request, parameters, Context.RESOURCE_REPLACEMENT_RESPONSE)

    async def patch_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        parameters = http.response_parameters(request.query_params, self.model)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        payload = await http.read_json(request)
        full = self.wants_everything(parameters)
        if is_empty_patch(payload):
            stored = await self._run(lambda conn: self.get(conn, principal.tenant_id, id, full))
            return self._respond(stored, request, parameters, Context.RESOURCE_PATCH_RESPONSE)
        with PROVIDER:
            patch = PatchOp[self.model].model_validate(  # type: ignore[name-defined]
                payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST
            )
        stored = await self._run(
            lambda conn: self.patch(conn, principal.tenant_id, id, patch, version, full)
        )
        return self._respond(stored, request, parameters, Context.RESOURCE_PATCH_RESPONSE)

    async def delete_resource(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        id = request.path_params["id"]
        version = expected_version(request.headers)
        await self._run(lambda conn: self.delete(conn, principal.tenant_id, id, version))
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
