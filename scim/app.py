"""The SCIM 2.0 application, mounted by scimd at ``/scim/v2``."""

from __future__ import annotations

from scim2_models import NotFoundException, NotImplementedException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.units import Units
from scim.auth import TokenAuthenticator
from scim.bulk import Bulk
from scim.errors import MethodNotAllowedError, error_response
from scim.provider import PROVIDER, STRICT_PROVIDER
from scim.routes import discovery
from scim.routes.groups import GroupEndpoints
from scim.routes.resources import scim_errors
from scim.routes.search import RootSearch
from scim.routes.users import UserEndpoints


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) as SCIM Error JSON too."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(MethodNotAllowedError())
    if exc.status_code == 404:
        return error_response(NotFoundException(detail=f"No SCIM endpoint at {request.url.path}"))
    return error_response(exc)


class Me:
    """``/Me`` (RFC 7644 §3.11): scimd tokens belong to a tenant, not to a user."""

    def __init__(self, authenticator: TokenAuthenticator) -> None:
        self.authenticator = authenticator

    async def __call__(self, request: Request) -> Response:
        await self.authenticator.principal(request)
        raise NotImplementedException(
            detail="/Me needs a token bound to a user; scimd tokens are bound to a tenant"
        )


def create_scim_app(
    units: Units,
    authenticator: TokenAuthenticator | None = None,
    *,
    strict: bool = False,
    shared_logins: bool = False,
) -> Starlette:
    """SCIM on one store; ``strict`` refuses what the lenient default accepts from IdPs;
    ``shared_logins`` lets one login be active in several tenants."""
    authenticator = authenticator or TokenAuthenticator(units)
    provider = STRICT_PROVIDER if strict else PROVIDER
    resources = [
        UserEndpoints(units, authenticator, provider, shared_logins=shared_logins),
        GroupEndpoints(units, authenticator, provider),
    ]
    root_search = RootSearch(authenticator, resources)
    routes: list[Route] = [
        *discovery.ROUTES,
        Route("/.search", scim_errors(root_search.search), methods=["POST"]),
        Route("/Bulk", scim_errors(Bulk(authenticator, resources).bulk), methods=["POST"]),
        Route(
            "/Me{rest:path}",
            scim_errors(Me(authenticator).__call__),
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
        *(route for endpoints in resources for route in endpoints.routes()),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
