"""The admin API application: users, approvals, settings, audit, imports and exports, and its
OpenAPI description."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import audit, environment
from directory.sealing import Sealer
from directory.units import Units
from scim.auth import TokenAuthenticator
from scimd.admin.audit import AuditAdmin
from scimd.admin.catalog import CatalogAdmin
from scimd.admin.imports import ImportAdmin
from scimd.admin.openapi import OPENAPI
from scimd.admin.sso import SsoAdmin
from scimd.admin.users import UserAdmin
from scimd.errors import ApiError, api_errors, error_response, read_object
from scimd.imports import Imports
from scimd.mail import Mailer
from scimd.sso import Sso


class SettingsAdmin:
    def __init__(self, units: Units, users: UserAdmin) -> None:
        self.units = units
        self.users = users

    async def get(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        found = await self.units.read(lambda conn: environment.get(conn, tenant_id))
        return JSONResponse(found.to_json())

    async def put(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        wanted = environment.from_json(await read_object(request))

        def work(conn: Connection) -> dict[str, Any]:
            environment.put(conn, tenant_id, wanted)
            audit.record(
                conn,
                tenant_id,
                actor,
                "settings.update",
                "settings",
                detail={"settings": wanted.to_json()},
            )
            return wanted.to_json()

        return JSONResponse(await self.units.write(work))


async def _openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return error_response(ApiError(exc.status_code, code, f"{exc.detail}: {request.url.path}"))


def create_admin_app(
    units: Units,
    authenticator: TokenAuthenticator,
    imports: Imports,
    sso: Sso,
    sealer: Sealer,
    mailer: Mailer | None = None,
    public_url: str = "http://127.0.0.1:8000",
    shared_logins: bool = False,
) -> Starlette:
    users = UserAdmin(units, authenticator, mailer, public_url, shared_logins=shared_logins)
    settings = SettingsAdmin(units, users)
    routes = [
        Route("/openapi.json", _openapi, methods=["GET"]),
        *users.routes(),
        *CatalogAdmin(units, users).routes(),
        *ImportAdmin(units, users, imports).routes(),
        *SsoAdmin(units, users, sso, sealer).routes(),
        Route("/settings", api_errors(settings.get), methods=["GET"]),
        Route("/settings", api_errors(settings.put), methods=["PUT"]),
        *AuditAdmin(units, users).routes(),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
