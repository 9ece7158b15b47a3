"""The ASGI application: SCIM at ``/scim/v2`` and ``/healthz``, on one store."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio import to_thread
from scim2_models import NotFoundException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router

from directory.database import create_store_engine, ping
from directory.units import Units
from scim.app import create_scim_app
from scim.auth import JwtBearer, TokenAuthenticator
from scim.errors import error_response as scim_error_response
from scim.ratelimit import RateLimiter
from scimd.admin.app import create_admin_app
from scimd.console.app import create_console_app
from scimd.errors import ApiError
from scimd.errors import error_response as api_error_response
from scimd.imports import Imports, JobRunner
from scimd.keys import load_sealer
from scimd.mail import Mailer
from scimd.observability import Metrics, RequestObserver, configure_logging
from scimd.settings import Settings
from scimd.signin import SignIn
from scimd.sso import ProviderClients, Sso
from sso import tokens


def _jwt_bearer(settings: Settings) -> JwtBearer | None:
    """JWT access tokens of ``SCIMD_SCIM_JWT_ISSUER`` for SCIM, None when none is set."""
    issuer, audience = settings.scim_jwt_issuer, settings.scim_jwt_audience
    if issuer is None:
        return None
    assert audience is not None  # Settings requires it with an issuer
    ca_file = settings.sso_ca_file
    verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
    # With a CA file, proxy and CA environment variables must not override it (as for SSO).
    fetch = tokens.httpx_fetcher(verify, trust_env=ca_file is None)
    jwks = tokens.Jwks(settings.scim_jwt_jwks_uri, fetch, issuer=issuer)
    verify_token = functools.partial(
        tokens.verify_access_token,
        jwks=jwks,
        issuer=issuer,
        audience=audience,
        algorithms=settings.scim_jwt_algorithm_list,
    )
    return JwtBearer(
        verify_token,
        tenant_claim=settings.scim_jwt_tenant_claim,
        scope_claim=settings.scim_jwt_scope_claim,
    )


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> Starlette:
    """Build the server. The schema must already be current (``scimd db upgrade``).

    Without arguments it reads its settings from the environment, which is how
    ``uvicorn --factory`` workers build it.
    """
    settings = settings or Settings()
    configure_logging(settings.log_level)
    engine = engine or create_store_engine(
        settings.database_url, pool_size=settings.pool_size, pre_ping=settings.database_pre_ping
    )
    units = Units(engine)
    mailer = Mailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    sealer = load_sealer(settings, engine.url.render_as_string(hide_password=True))
    signin = SignIn(units, sealer, shared_logins=settings.shared_logins)
    imports = Imports(units, shared_logins=settings.shared_logins)
    sso = Sso(
        units,
        sealer,
        ProviderClients(settings.sso_ca_file),
        settings.public_url,
        shared_logins=settings.shared_logins,
    )
    runner = JobRunner(
        imports, poll_seconds=settings.job_poll_seconds, lease_seconds=settings.job_lease_seconds
    )
    authenticator = TokenAuthenticator(
        units,
        ttl=settings.token_cache_seconds,
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        jwt=_jwt_bearer(settings),
        admin_role=settings.admin_role or None,
    )

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(ping, engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Every unit of work runs in a worker thread holding one pooled
        # connection: as many threads as connections, so that no request opens
        # (and closes) an overflow connection, measured as the main cost of a
        # GET at 32 concurrent clients on SQLite.
        to_thread.current_default_thread_limiter().total_tokens = settings.pool_size
        async with anyio.create_task_group() as tasks:
            stopping = anyio.Event()
            if settings.job_runner:
                tasks.start_soon(runner.run_until, stopping)
            yield
            stopping.set()  # the job in hand finishes; the task group waits for it
        engine.dispose()

    admin_app = create_admin_app(
        units,
        authenticator,
        imports,
        sso,
        sealer,
        mailer,
        settings.public_url,
        settings.shared_logins,
    )
    auth_app = Router(routes=signin.routes())
    metrics = Metrics(engine)
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics.endpoint, methods=["GET"]),
            Mount(
                "/scim/v2",
                app=create_scim_app(
                    units,
                    authenticator,
                    strict=settings.scim_strict,
                    shared_logins=settings.shared_logins,
                ),
            ),
            Mount("/admin/v1", app=admin_app),
            Mount("/auth", app=auth_app),
            Mount("/sso", routes=sso.routes()),
            Mount("/console", app=create_console_app(sealer, admin_app, auth_app)),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestObserver, metrics=metrics)],
        exception_handlers={404: _not_found},
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    """A path no mount takes (or one Starlette's mounts cannot match, such as one holding a
    newline): JSON in the shape of the API the path names, not Starlette's plain text."""
    detail = f"Not found: {request.url.path}"
    if request.url.path.startswith("/scim/"):
        return scim_error_response(NotFoundException(detail=detail))
    return api_error_response(ApiError(404, "not_found", detail))
