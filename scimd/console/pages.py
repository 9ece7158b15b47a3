"""What every console page shares: the signed-in check, CSRF, rendering, and turning the
API's refusals into readable messages.

A page handler is ``async def handler(page: Page) -> Response``; ``Console.page`` wraps it.
The wrapper answers a request without a session with a redirect to the sign-in page,
checks the CSRF token of every POST, and renders an ApiProblem the handler lets escape as
the page's error (a 401 from the API means the credential died: the session ends).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from directory import sheets
from directory.sealing import Sealer
from scimd.console.api import Api, ApiProblem
from scimd.console.session import ConsoleSession, clear_session, read_session

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ROOT = "/console"

# The pages in the navigation bar, in order: (path, label).
NAVIGATION = (
    ("/users", "Users"),
    ("/approvals", "Approvals"),
    ("/import", "Import and export"),
    ("/sso", "SSO links"),
    ("/audit", "Audit log"),
    ("/settings", "Settings"),
)

# What a redirect after a successful form may say (by key, so a link cannot make the console
# show words of someone else's choosing).
NOTICES = {
    "saved": "Saved.",
    "locked": "The selected users are locked.",
    "unlocked": "The selected users are unlocked.",
    "deleted": "The selected users are deleted.",
    "approved": "Approved.",
    "rejected": "Rejected.",
    "done": "Done.",
    "linked": "The links are applied.",
    "signed_out": "You are signed out.",
    "import_ran": "The file was read: its report is below.",
    "import_queued": "The import was queued to run in the background.",
    "sso_listed": "The provider's users are listed: tick the links to add or remove.",
    "unchanged": "Nothing to save: no field was changed.",
    "login_allowed": "Login access is allowed.",
    "login_blocked": "Login access is blocked.",
    "user_locked": "The user is locked.",
    "user_unlocked": "The user is unlocked.",
    "tries_reset": "The failed tries are reset.",
    "password_set": "The password is set.",
    "password_mailed": "The password reset is mailed to the user.",
    "mfa_removed": "MFA is removed: the user enrols again at next sign-in.",
    "mfa_not_enforced": "MFA is no longer enforced for this user.",
    "devices_deleted": "The trusted devices are deleted.",
    "access_copied": "The access is copied.",
    "session_revoked": "The session is ended.",
    "api_key_revoked": "The API key is revoked.",
    "user_deleted": "The user is deleted.",
}

# A form with a file is the file plus a few fields: past the import's own limit (the admin API
# refuses larger files anyway), the upload is refused before it is read.
MAX_FORM_BYTES = sheets.MAX_FILE_BYTES + 1024 * 1024
TOO_LARGE = f"The file is too large: files are limited to {sheets.MAX_FILE_BYTES // 2**20} MB."

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it browsers send "Origin: null" with same-site form posts, which
    # the CSRF check (rightly) refuses. same-origin still sends nothing to other sites.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfRefused(Exception):
    """A POST without this session's CSRF token, or from another site."""


@dataclass
class Page:
    """One request to a signed-in page, with what its handler needs."""

    request: Request
    session: ConsoleSession
    console: Console
    form: FormData | None = None

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """The admin API's JSON answer (``path`` under ``/admin/v1``)."""
        return await self.console.admin.json(
            self.request, self.session.bearer, method, path, **kwargs
        )

    async def api_response(self, method: str, path: str, **kwargs: Any) -> Any:
        """The admin API's answer itself (for files)."""
        return await self.console.admin.call(
            self.request, self.session.bearer, method, path, **kwargs
        )

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        return self.console.render(self.request, template, self.session, status_code, **context)

    def redirect(self, path: str, notice: str | None = None) -> Response:
        """303 to a console page after a form, with one of NOTICES."""
        target = ROOT + path
        if notice is not None:
            assert notice in NOTICES, notice
            target += ("&" if "?" in target else "?") + f"notice={notice}"
        return RedirectResponse(target, status_code=303)


Handler = Callable[[Page], Awaitable[Response]]


class Console:
    """The console's shared parts: the sealer of its cookie and its two APIs."""

    def __init__(self, sealer: Sealer, admin: Api, auth: Api) -> None:
        self.sealer = sealer
        self.admin = admin
        self.auth = auth

    def render(
        self,
        request: Request,
        template: str,
        session: ConsoleSession | None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        notice = NOTICES.get(request.query_params.get("notice", ""))
        response = TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "root": ROOT,
                "navigation": NAVIGATION,
                "session": session,
                "csrf": session.csrf if session else "",
                "notice": notice,
                **context,
            },
            status_code=status_code,
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = read_session(request, self.sealer)
            if session is None:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"{ROOT}/signin?next={quote(wanted)}", status_code=303)
            page = Page(request, session, self)
            try:
                if request.method == "POST":
                    declared = request.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
                        return page.render("error.html", 413, problem=TOO_LARGE)
                    page.form = await request.form(max_files=1, max_fields=5000)
                    check_csrf(request, page.form, session)
                return await handler(page)
            except CsrfRefused:
                return page.render(
                    "error.html",
                    403,
                    problem="The form was stale or came from another site. Reload and try again.",
                )
            except ApiProblem as problem:
                if problem.status == 401:
                    response = RedirectResponse(f"{ROOT}/signin", status_code=303)
                    clear_session(response)
                    return response
                return page.render("error.html", problem.status, problem=problem.detail)
            finally:
                if page.form is not None:
                    await page.form.close()  # an upload is spooled to a file until closed

        return endpoint


def check_csrf(request: Request, form: Mapping[str, Any], session: ConsoleSession) -> None:
    """The form's token must be the session's; a browser's Origin, when sent, this server."""
    origin = request.headers.get("origin")
    if origin is not None:
        if urlsplit(origin).netloc != request.url.netloc:  # "null" too: a sandboxed frame
            raise CsrfRefused()
    elif request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given, session.csrf):
        raise CsrfRefused()
