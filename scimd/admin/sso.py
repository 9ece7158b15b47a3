"""``/admin/v1/sso/...``: the link wizard and the links, over the admin API.

``POST /sso/snapshots`` (multipart ``provider`` and ``file``: ``email,object_id``)
stores a provider's users and answers the first page of the preview;
``GET /sso/snapshots/{id}`` pages it (``status``, ``startIndex``, ``count``);
``POST /sso/links/apply`` ``{"provider", "choices": [{"action": "add",
"objectId", "userId"} | {"action": "remove", "objectId"}]}`` makes them all or
none (409 with a result per choice); ``GET /sso/links`` lists links and
``DELETE /sso/links/{provider}/{objectId}`` removes one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import sheets
from directory.errors import NotFound
from directory.sealing import Sealer
from directory.units import Units
from scimd.admin.users import UserAdmin
from scimd.errors import (
    MAX_ID,
    ApiError,
    api_errors,
    bounded,
    check_storable,
    integer_param,
    read_object,
)
from scimd.sso import Sso, return_path
from sso import csv_source, flows, links, providers, snapshots, wizard


class SsoAdmin:
    def __init__(self, units: Units, users: UserAdmin, sso: Sso, sealer: Sealer) -> None:
        self.units = units
        self.users = users
        self.sso = sso
        self.sealer = sealer

    async def list_providers(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        found = await self.units.read(lambda conn: providers.listed(conn, tenant_id))
        return JSONResponse({"providers": found})

    async def put_provider(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        body = await read_object(request)
        name = request.path_params["name"]
        stored = await self.units.write(
            lambda conn: providers.put(conn, tenant_id, name, body, self.sealer, actor)
        )
        return JSONResponse(stored.to_json())

    async def delete_provider(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        name = request.path_params["name"]
        await self.units.write(lambda conn: providers.remove(conn, tenant_id, name, actor))
        return Response(status_code=204)

    async def provider_login(self, request: Request) -> Response:
        """Start the wizard's login at Azure AD: the URL to open; the provider sends the
        browser back to ``/sso/azure/callback``, which answers the list of its users (or,
        given ``{"returnTo": "/console/..."}``, sends the browser there)."""
        tenant_id, actor = await self.users._actor(request)
        name = request.path_params["name"]
        return_to = return_path((await read_object(request)).get("returnTo"))
        auth_uri = await self.sso.start(tenant_id, name, flows.WIZARD, actor, return_to)
        return JSONResponse({"authUri": auth_uri})

    async def provider_list(self, request: Request) -> Response:
        """The wizard app-only: the provider's users read with the app's own credentials."""
        tenant_id, actor = await self.users._actor(request)
        return await self.sso.app_only_list(tenant_id, request.path_params["name"], actor)

    async def upload(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        request = bounded(
            request,
            sheets.MAX_FILE_BYTES + 65536,
            f"files are limited to {sheets.MAX_FILE_BYTES} bytes",
        )
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(400, "invalid_value", "send provider and file as multipart/form-data")
        async with request.form(max_files=1, max_fields=2) as form:
            provider = links.provider_name(form.get("provider"))
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "invalid_value", "file is required (email,object_id CSV)")
            data = await upload.read(sheets.MAX_FILE_BYTES + 1)
        users = csv_source.read_users(data, upload.filename or "users.csv")
        for user in users:  # the csv module reads NUL (since Python 3.11); PostgreSQL stores none
            for text in (user.object_id, user.email or ""):
                check_storable(text, f"line {user.line}")

        def work(conn: Connection) -> dict[str, Any]:
            snapshot_id = snapshots.create(conn, tenant_id, provider, users, actor)
            return wizard.preview(conn, tenant_id, snapshot_id)

        return JSONResponse(await self.units.write(work), status_code=201)

    async def preview(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        snapshot_id = integer_param(request.path_params["id"], "id", 0)
        if not 0 < snapshot_id <= MAX_ID:  # no list has one; PostgreSQL raises on comparing it
            raise NotFound(f"no provider list {snapshot_id}")
        params = request.query_params
        status = params.get("status") or None
        start = integer_param(params.get("startIndex"), "startIndex", 1)
        count = integer_param(params.get("count"), "count", 100)
        found = await self.units.read(
            lambda conn: wizard.preview(
                conn, tenant_id, snapshot_id, status=status, offset=start - 1, limit=count
            )
        )
        return JSONResponse(found)

    async def apply(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        body = await read_object(request)
        provider = links.provider_name(body.get("provider"))
        try:
            results = await self.units.write(
                lambda conn: wizard.apply(conn, tenant_id, provider, body.get("choices"), actor)
            )
        except wizard.ApplyFailed as failed:
            return JSONResponse(
                {"error": failed.code, "detail": failed.detail, "results": failed.results},
                status_code=409,
            )
        return JSONResponse({"provider": provider, "results": results})

    async def list_links(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        provider = request.query_params.get("provider")
        chosen = links.provider_name(provider) if provider else None
        found = await self.units.read(lambda conn: links.listed(conn, tenant_id, chosen))
        return JSONResponse({"links": [link.to_json() for link in found]})

    async def unlink(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        provider = links.provider_name(request.path_params["provider"])
        object_id = request.path_params["object_id"]
        await self.units.write(
            lambda conn: links.remove(conn, tenant_id, provider, object_id, actor)
        )
        return Response(status_code=204)

    def routes(self) -> list[Route]:
        return [
            Route("/sso/providers", api_errors(self.list_providers), methods=["GET"]),
            Route("/sso/providers/{name}", api_errors(self.put_provider), methods=["PUT"]),
            Route("/sso/providers/{name}", api_errors(self.delete_provider), methods=["DELETE"]),
            Route("/sso/providers/{name}/login", api_errors(self.provider_login), methods=["POST"]),
            Route(
                "/sso/providers/{name}/snapshots", api_errors(self.provider_list), methods=["POST"]
            ),
            Route("/sso/snapshots", api_errors(self.upload), methods=["POST"]),
            Route("/sso/snapshots/{id}", api_errors(self.preview), methods=["GET"]),
            Route("/sso/links/apply", api_errors(self.apply), methods=["POST"]),
            Route("/sso/links", api_errors(self.list_links), methods=["GET"]),
            Route("/sso/links/{provider}/{object_id}", api_errors(self.unlink), methods=["DELETE"]),
        ]
