"""``/admin/v1/imports`` and ``/admin/v1/exports``: user spreadsheets in and out.

``POST /imports`` takes a multipart upload: ``file`` (CSV or XLSX) and the
options as form fields (``skipErrors``, ``dateFormat``, ``copyRolesFrom``,
``resetFromResourceGroup``, ``updateExisting``, ``dryRun``, ``queue``). It
answers the job: 201 when it ran now, 202 when queued. A file refused as a
whole (too many rows, no Username column, not a spreadsheet) is a 400 and
creates no job.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import exports, jobs, sheets
from directory.imports import ImportOptions
from directory.units import Units
from directory.user_sheet import DATE_FORMATS, HEADERS
from scimd.admin.users import UserAdmin
from scimd.errors import MAX_ID, ApiError, api_errors, bounded
from scimd.imports import Imports

FLAGS = {
    "skipErrors": "skip_errors",
    "resetFromResourceGroup": "reset_from_resource_group",
    "updateExisting": "update_existing",
    "dryRun": "dry_run",
}
FIELDS = {"file", "dateFormat", "copyRolesFrom", "queue", *FLAGS}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _flag(form: Any, name: str) -> bool:
    value = form.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
        return False
    raise ApiError(400, "invalid_value", f"{name} is true or false")


class ImportAdmin:
    def __init__(self, units: Units, users: UserAdmin, imports: Imports) -> None:
        self.units = units
        self.users = users
        self.imports = imports

    async def submit(self, request: Request) -> Response:
        tenant_id, actor = await self.users._actor(request)
        # The file's limit, and room for the form around it.
        request = bounded(
            request,
            sheets.MAX_FILE_BYTES + 65536,
            f"files are limited to {sheets.MAX_FILE_BYTES} bytes",
        )
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(400, "invalid_value", "send the file as multipart/form-data")
        async with request.form(max_files=1, max_fields=len(FIELDS)) as form:
            unknown = sorted(set(form.keys()) - FIELDS)
            if unknown:
                raise ApiError(400, "invalid_value", f"{unknown[0]!r} is not an import field")
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "invalid_value", "file is required (a CSV or XLSX upload)")
            data = await upload.read(sheets.MAX_FILE_BYTES + 1)
            filename = upload.filename or "upload"
            options = ImportOptions.from_json(
                {
                    **{field: _flag(form, name) for name, field in FLAGS.items()},
                    "date_format": str(form.get("dateFormat") or "iso"),
                    "copy_roles_from": str(form.get("copyRolesFrom") or "") or None,
                }
            )
            queue = _flag(form, "queue")
        job = await self.imports.submit(tenant_id, actor, data, filename, options, queue=queue)
        return JSONResponse(
            job.to_json(),
            status_code=202 if queue else 201,
            headers={"Location": f"{request.url.path.rstrip('/')}/{job.id}"},
        )

    async def get(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        try:
            job_id = int(request.path_params["id"])
        except ValueError:
            raise ApiError(404, "not_found", "no such job") from None
        if not 0 < job_id <= MAX_ID:  # no job has one; PostgreSQL raises on comparing it
            raise ApiError(404, "not_found", "no such job")
        return JSONResponse(await self.imports.get(tenant_id, job_id))

    async def recent(self, request: Request) -> Response:
        tenant_id, _ = await self.users._actor(request)
        found = await self.units.read(lambda conn: jobs.recent(conn, tenant_id))
        return JSONResponse({"jobs": [job.to_json() for job in found]})

    async def export_csv(self, request: Request) -> Response:
        return await self._export(request, "csv")

    async def export_xlsx(self, request: Request) -> Response:
        return await self._export(request, "xlsx")

    async def _export(self, request: Request, kind: str) -> Response:
        """The tenant's users in the import's columns; ``dateFormat`` as the import takes it."""
        tenant_id, _ = await self.users._actor(request)
        date_format = request.query_params.get("dateFormat") or "iso"
        if date_format not in DATE_FORMATS:
            raise ApiError(400, "invalid_value", f"dateFormat is one of {', '.join(DATE_FORMATS)}")
        rows = await self.units.read(
            lambda conn: list(exports.user_rows(conn, tenant_id, date_format))
        )
        if kind == "csv":
            body = sheets.write_csv(HEADERS, rows)
        else:
            body = sheets.write_xlsx(HEADERS, rows)
        return Response(
            body,
            media_type=MEDIA_TYPES[kind],
            headers={"Content-Disposition": f'attachment; filename="users.{kind}"'},
        )

    def routes(self) -> list[Route]:
        return [
            Route("/imports", api_errors(self.submit), methods=["POST"]),
            Route("/imports", api_errors(self.recent), methods=["GET"]),
            Route("/imports/{id}", api_errors(self.get), methods=["GET"]),
            Route("/exports/users.csv", api_errors(self.export_csv), methods=["GET"]),
            Route("/exports/users.xlsx", api_errors(self.export_xlsx), methods=["GET"]),
        ]
