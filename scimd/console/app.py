"""The console application, mounted at ``/console``: its pages, and its static files
(a stylesheet and a little plain JavaScript, served by scimd itself; nothing is loaded from
elsewhere and nothing is built)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from directory.sealing import Sealer
from scimd.console.api import Api
from scimd.console.approvals import ApprovalsPages
from scimd.console.audit import AuditPages
from scimd.console.imports import ImportPages
from scimd.console.pages import ROOT, Console
from scimd.console.settings import SettingsPages
from scimd.console.signin import SignIn
from scimd.console.sso import SsoPages
from scimd.console.user import UserPages
from scimd.console.users import UsersPages


async def _home(request: Request) -> Response:
    return RedirectResponse(ROOT + "/users", status_code=303)


def create_console_app(sealer: Sealer, admin_app: ASGIApp, auth_app: ASGIApp) -> Starlette:
    # Each API is called directly, not through the outer app: no second access-log line or
    # metric for the console's own calls, and no path prefix to strip.
    console = Console(sealer, Api(admin_app), Api(auth_app))
    routes = [
        Route("/", _home, methods=["GET"]),
        *SignIn(console).routes(),
        *UsersPages(console).routes(),
        *ImportPages(console).routes(),
        *SsoPages(console).routes(),
        *UserPages(console).routes(),
        *ApprovalsPages(console).routes(),
        *AuditPages(console).routes(),
        *SettingsPages(console).routes(),
        Mount(
            "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
        ),
    ]
    return Starlette(routes=routes)
