"""Import and export: the upload form with the import's options, recent jobs, a job's page
(status, live progress, the per-row error report), and the export downloads, all through
``/admin/v1/imports`` and ``/admin/v1/exports``.

The console passes an uploaded file through to the API as it came: the API reads, checks
and limits it, so the console has no rules of its own about spreadsheets.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from scimd.console.api import ApiProblem
from scimd.console.pages import SECURITY_HEADERS, Console, Page

# The date formats the API takes (directory.user_sheet.DATE_FORMATS), with an example each.
DATE_FORMATS = {
    "iso": "ISO (2026-01-31)",
    "british": "British (31/01/2026)",
    "us": "US (01/31/2026)",
}
# The import's yes/no options, as POST /admin/v1/imports names them, with their labels.
FLAGS = {
    "skipErrors": (
        "Skip rows with errors",
        "Import the good rows and report the others; otherwise one error imports nothing.",
    ),
    "updateExisting": ("Update existing users", "Otherwise a row for an existing user fails."),
    "resetFromResourceGroup": (
        "Reset from the resource group",
        "Take the resource group's defaults over what the row says (otherwise they fill "
        "blank cells only).",
    ),
    "dryRun": ("Dry run", "Check the file and report what would happen; change nothing."),
    "queue": ("Run in the background", "Queue the import; its page shows the progress."),
}
RUNNING = ("queued", "running")


def _options(form: Any) -> dict[str, str]:
    """The import's form fields as the API takes them (a ticked box is ``true``)."""
    chosen = {name: "true" for name in FLAGS if form.get(name)}
    date_format = str(form.get("dateFormat") or "iso")
    chosen["dateFormat"] = date_format if date_format in DATE_FORMATS else "iso"
    copy_from = str(form.get("copyRolesFrom") or "").strip()
    if copy_from:
        chosen["copyRolesFrom"] = copy_from
    return chosen


def _readable(problem: ApiProblem) -> str:
    if problem.status == 413:
        return f"The file is too large: {problem.detail}."
    return problem.detail


class ImportPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def _form(
        self,
        page: Page,
        status_code: int = 200,
        chosen: dict[str, str] | None = None,
        **context: Any,
    ) -> Response:
        recent = await page.api("GET", "/imports")
        return page.render(
            "import.html",
            status_code,
            jobs=recent["jobs"],
            flags=FLAGS,
            date_formats=DATE_FORMATS,
            chosen=chosen or {"dateFormat": "iso"},
            running=RUNNING,
            **context,
        )

    async def show(self, page: Page) -> Response:
        return await self._form(page)

    async def submit(self, page: Page) -> Response:
        assert page.form is not None
        return await self._submit(page, page.form)

    async def _submit(self, page: Page, form: FormData) -> Response:
        chosen = _options(form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._form(page, 400, chosen, problem="Choose a CSV or XLSX file.")
        # The file as the browser sent it (spooled by the form parser), streamed on to the API.
        sent = (upload.filename, upload.file, upload.content_type or "application/octet-stream")
        try:
            job = await page.api("POST", "/imports", data=chosen, files={"file": sent})
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            return await self._form(page, problem.status, chosen, problem=_readable(problem))
        notice = "import_queued" if job["status"] == "queued" else "import_ran"
        return page.redirect(f"/import/{job['id']}", notice)

    async def job(self, page: Page) -> Response:
        job = await page.api("GET", f"/imports/{page.request.path_params['job_id']}")
        report = job.get("report") or {}
        return page.render(
            "import_job.html",
            job=job,
            report=report,
            running=job["status"] in RUNNING,
            flags=FLAGS,
            date_formats=DATE_FORMATS,
        )

    async def progress(self, page: Page) -> Response:
        """The job's progress as console.js's ``[data-progress]`` poller reads it."""
        try:
            job = await page.api("GET", f"/imports/{page.request.path_params['job_id']}")
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            body = {"status": "error", "detail": problem.detail, "total": 0, "done": 0}
            return JSONResponse(body, problem.status, headers=SECURITY_HEADERS)
        progress = job.get("progress") or {}
        body = {
            "status": job["status"],
            "total": progress.get("total", 0),
            "done": progress.get("done", 0),
        }
        return JSONResponse(body, headers=SECURITY_HEADERS)

    async def export_csv(self, page: Page) -> Response:
        return await self._export(page, "csv")

    async def export_xlsx(self, page: Page) -> Response:
        return await self._export(page, "xlsx")

    async def _export(self, page: Page, kind: str) -> Response:
        date_format = page.request.query_params.get("dateFormat") or "iso"
        answer = await page.api_response(
            "GET", f"/exports/users.{kind}", params={"dateFormat": date_format}
        )
        return Response(
            answer.content,
            media_type=answer.headers.get("content-type"),
            headers={
                "Content-Disposition": f'attachment; filename="users.{kind}"',
                "Cache-Control": "no-store",
            },
        )

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/import", page(self.show), methods=["GET"]),
            Route("/import", page(self.submit), methods=["POST"]),
            Route("/import/{job_id:int}", page(self.job), methods=["GET"]),
            Route("/import/{job_id:int}.json", page(self.progress), methods=["GET"]),
            Route("/export/users.csv", page(self.export_csv), methods=["GET"]),
            Route("/export/users.xlsx", page(self.export_xlsx), methods=["GET"]),
        ]
