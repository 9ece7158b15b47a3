"""Signing in to the console: with an account holding the admin role (through ``/auth/login``
and its MFA and password-change steps), or with an admin API token (the bootstrap admin's,
printed by ``make run``).

Before a session exists, forms are protected by a double-submitted token: a random value in
a SameSite=Strict cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scimd.console.api import ApiProblem
from scimd.console.pages import ROOT, Console, Page
from scimd.console.session import PATH, clear_session, new_session, read_session, set_session

_PRE_COOKIE = "scimd_console_pre"
NO_KEY = (
    "The console needs the server's secret key to keep sessions (set SCIMD_SECRET_KEY; "
    "scimd key new makes one)."
)
# The steps /auth/login may answer with, and the form each needs next.
_STEPS = {
    "mfa_required": "mfa",
    "mfa_enrolment_required": "mfa",
    "password_change_required": "password",
}


def _next(value: Any) -> str:
    """Where to go after signing in: a console path, never another site."""
    if isinstance(value, str) and value.startswith(ROOT + "/") and not urlsplit(value).netloc:
        if not value.startswith("//") and "\\" not in value:
            return value
    return ROOT + "/users"


class SignIn:
    def __init__(self, console: Console) -> None:
        self.console = console

    def _form(self, request: Request, status_code: int = 200, **context: Any) -> Response:
        pre = request.cookies.get(_PRE_COOKIE) or secrets.token_urlsafe(32)
        context.setdefault("next", _next(request.query_params.get("next")))
        response = self.console.render(
            request, "signin.html", None, status_code, pre=pre, **context
        )
        response.set_cookie(
            _PRE_COOKIE,
            pre,
            path=PATH,
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    def _unsealable(self, request: Request) -> Response | None:
        """The console's cookie is sealed with the server key: without one, say so."""
        if self.console.sealer.configured:
            return None
        return self._form(request, 503, problem=NO_KEY)

    async def show(self, request: Request) -> Response:
        if (refused := self._unsealable(request)) is not None:
            return refused
        if read_session(request, self.console.sealer) is not None:
            return RedirectResponse(ROOT + "/users", status_code=303)
        return self._form(request)

    async def submit(self, request: Request) -> Response:
        if (refused := self._unsealable(request)) is not None:
            return refused
        form = await request.form(max_files=0, max_fields=20)
        pre = request.cookies.get(_PRE_COOKIE, "")
        given = form.get("pre")
        if not pre or not isinstance(given, str) or not hmac.compare_digest(given, pre):
            return self._form(request, 403, problem="The form was stale. Please try again.")
        wanted = _next(form.get("next"))
        try:
            if form.get("method") == "token":
                return await self._with_token(request, str(form.get("token") or ""), wanted)
            return await self._with_password(request, form, wanted)
        except ApiProblem as problem:
            return self._form(request, problem.status, problem=problem.detail, next=wanted)

    async def _with_token(self, request: Request, token: str, wanted: str) -> Response:
        token = token.strip()
        if not token:
            return self._form(request, 400, problem="Paste an admin token.", next=wanted)
        await self._check_admin(request, token)
        return self._start(request, token, f"token {token[:12]}…", wanted)

    async def _with_password(self, request: Request, form: Any, wanted: str) -> Response:
        step = str(form.get("step") or "login")
        if step == "mfa":
            body = {"challenge": form.get("challenge"), "code": form.get("code")}
            if form.get("trustDevice") == "on":
                body["trustDevice"] = True
            outcome = await self.console.auth.json(request, None, "POST", "/mfa", json=body)
        elif step == "password":
            body = {"challenge": form.get("challenge"), "newPassword": form.get("newPassword")}
            outcome = await self.console.auth.json(request, None, "POST", "/password", json=body)
        else:
            body = {"login": form.get("login"), "password": form.get("password")}
            if form.get("tenant"):
                body["tenant"] = form.get("tenant")
            outcome = await self.console.auth.json(request, None, "POST", "/login", json=body)
        status = outcome.get("status")
        if status in _STEPS:
            return self._form(request, step=_STEPS[status], outcome=outcome, next=wanted)
        session = outcome.get("session")
        if status != "signed_in" or not isinstance(session, str):
            return self._form(request, 401, problem="Sign-in did not complete.", next=wanted)
        me = await self.console.auth.json(request, session, "GET", "/me")
        await self._check_admin(request, session)
        return self._start(request, session, str(me.get("userName") or "admin"), wanted)

    async def _check_admin(self, request: Request, bearer: str) -> None:
        try:
            await self.console.admin.call(request, bearer, "GET", "/users", params={"count": 0})
        except ApiProblem as problem:
            if problem.status in (401, 403):
                raise ApiProblem(
                    problem.status,
                    problem.code,
                    "That credential cannot administer this directory (an admin token, or an "
                    "account holding the admin role, is needed).",
                ) from None
            raise

    def _start(self, request: Request, bearer: str, who: str, wanted: str) -> Response:
        response = RedirectResponse(wanted, status_code=303)
        set_session(response, request, new_session(bearer, who), self.console.sealer)
        response.delete_cookie(_PRE_COOKIE, path=PATH)
        return response

    async def sign_out(self, page: Page) -> Response:
        # A person's session ends on the server too; an admin token is no session (401) and
        # stays valid: it was made to be used again.
        try:
            await self.console.auth.call(page.request, page.session.bearer, "POST", "/logout")
        except ApiProblem as problem:
            if problem.status != 401:
                raise
        response = page.redirect("/signin", "signed_out")
        clear_session(response)
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/signin", self.show, methods=["GET"]),
            Route("/signin", self.submit, methods=["POST"]),
            Route("/signout", self.console.page(self.sign_out), methods=["POST"]),
        ]
