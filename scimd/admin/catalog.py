"""``/admin/v1/roles``, ``/role-groups``, ``/licences``, ``/user-types``, ``/user-groups``,
``/dac-groups``, ``/resource-groups``: the tenant's catalog."""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import catalog
from directory.units import Units
from scimd.admin.users import UserAdmin
from scimd.errors import api_errors, read_object

PATHS = {
    "roles": "role",
    "role-groups": "role_group",
    "licences": "licence",
    "user-types": "user_type",
    "user-groups": "user_group",
    "dac-groups": "dac_group",
    "resource-groups": "resource_group",
}


class CatalogAdmin:
    def __init__(self, units: Units, users: UserAdmin) -> None:
        self.units = units
        self.users = users

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        for path, kind in PATHS.items():
            routes += [
                Route(f"/{path}", api_errors(self._list(kind)), methods=["GET"]),
                Route(f"/{path}", api_errors(self._put(kind)), methods=["POST"]),
                Route(f"/{path}/{{code}}", api_errors(self._get(kind)), methods=["GET"]),
                Route(f"/{path}/{{code}}", api_errors(self._delete(kind)), methods=["DELETE"]),
            ]
        return routes

    def _list(self, kind: str):  # type: ignore[no-untyped-def]
        async def list_entries(request: Request) -> Response:
            tenant_id, _ = await self.users._actor(request)
            found = await self.units.read(lambda conn: catalog.entries(conn, tenant_id, kind))
            return JSONResponse({"entries": [entry.to_json() for entry in found]})

        return list_entries

    def _get(self, kind: str):  # type: ignore[no-untyped-def]
        async def get_entry(request: Request) -> Response:
            tenant_id, _ = await self.users._actor(request)
            code = request.path_params["code"]
            found = await self.units.read(
                lambda conn: catalog.get_entry(conn, tenant_id, kind, code)
            )
            return JSONResponse(found.to_json())

        return get_entry

    def _put(self, kind: str):  # type: ignore[no-untyped-def]
        async def put_entry(request: Request) -> Response:
            tenant_id, actor = await self.users._actor(request)
            body = await read_object(request)

            def work(conn: Connection) -> catalog.Entry:
                return catalog.put_entry(conn, tenant_id, kind, body, actor)

            return JSONResponse((await self.units.write(work)).to_json(), status_code=201)

        return put_entry

    def _delete(self, kind: str):  # type: ignore[no-untyped-def]
        async def delete_entry(request: Request) -> Response:
            tenant_id, actor = await self.users._actor(request)
            code = request.path_params["code"]
            await self.units.write(
                lambda conn: catalog.delete_entry(conn, tenant_id, kind, code, actor)
            )
            return Response(status_code=204)

        return delete_entry
