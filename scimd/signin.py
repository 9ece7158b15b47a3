"""``/auth``: password sign-in over HTTP (the steps live in ``directory.signin``).

``POST /auth/login`` ``{"login", "password", "trustedDevice"?, "tenant"?}``, then as
answered ``POST /auth/mfa`` ``{"challenge", "code", "trustDevice"?}`` or
``POST /auth/password`` ``{"challenge", "newPassword"}``. Each step runs in one
unit of work; a refusal's bookkeeping (failed tries, audit) commits before the
refusal is answered. ``POST /auth/register`` creates an account for its owner
where the tenant allows it. ``POST /auth/logout`` ends the bearer's session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import registration, signin, tenants
from directory.errors import InvalidValue, NotFound, RegistrationClosed
from directory.sealing import Sealer
from directory.signin import Outcome, PendingFailure
from directory.units import Units
from scimd.admin.views import contact_document
from scimd.errors import ApiError, api_errors, read_object

REGISTRATION_FIELDS = {"tenant", "userName", "password", "email", "name", "mobile"}


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def sign_in_step(units: Units, work: Callable[[Connection], Outcome]) -> Response:
    """Run a sign-in step in one unit of work; a refusal's bookkeeping commits first."""

    def unit(conn: Connection) -> Outcome | PendingFailure:
        try:
            return work(conn)
        except PendingFailure as failure:
            return failure  # committed with its failed-try count and audit event

    outcome = await units.write(unit)
    if isinstance(outcome, PendingFailure):
        raise outcome.refusal
    return JSONResponse(outcome.to_json())


class SignIn:
    def __init__(self, units: Units, sealer: Sealer, *, shared_logins: bool = False) -> None:
        self.units = units
        self.sealer = sealer
        self.shared_logins = shared_logins

    async def _step(self, work: Callable[[Connection], Outcome]) -> Response:
        return await sign_in_step(self.units, work)

    async def login(self, request: Request) -> Response:
        body = await read_object(request)
        client = client_address(request)
        tenant_id = await self._tenant(body.get("tenant"))
        return await self._step(
            lambda conn: signin.begin(
                conn,
                body.get("login"),
                body.get("password"),
                client=client,
                trusted_device=body.get("trustedDevice"),
                tenant_id=tenant_id,
                sealer=self.sealer,
            )
        )

    async def _tenant(self, name: Any) -> int | None:
        """An optional tenant name narrowing the login (needed only where logins are shared)."""
        if name is None:
            return None
        if not isinstance(name, str):
            return -1  # matches no account: refused as any unknown login

        def find(conn: Connection) -> int:
            try:
                return tenants.get_tenant(conn, name).id
            except NotFound:
                return -1

        return await self.units.read(find)

    async def mfa(self, request: Request) -> Response:
        body = await read_object(request)
        client = client_address(request)
        return await self._step(
            lambda conn: signin.verify_mfa(
                conn,
                body.get("challenge"),
                body.get("code"),
                trust_device=body.get("trustDevice") is True,
                client=client,
                sealer=self.sealer,
            )
        )

    async def password(self, request: Request) -> Response:
        body = await read_object(request)
        client = client_address(request)
        return await self._step(
            lambda conn: signin.change_password(
                conn,
                body.get("challenge"),
                body.get("newPassword"),
                client=client,
                sealer=self.sealer,
            )
        )

    async def reset(self, request: Request) -> Response:
        """A mailed reset link's token and the new password."""
        body = await read_object(request)
        client = client_address(request)
        await self.units.write(
            lambda conn: signin.reset_password(
                conn, body.get("token"), body.get("newPassword"), client=client
            )
        )
        return JSONResponse({"status": "password_reset"})

    async def register(self, request: Request) -> Response:
        """``{"tenant", "userName", "password", "email"?, "name"?, "mobile"?}``: 201 with the
        account's status, ``pending_approval`` or ``registered``."""
        body = await read_object(request)
        client = client_address(request)
        unknown = sorted(set(body) - REGISTRATION_FIELDS)
        if unknown:
            raise InvalidValue(f"{unknown[0]!r} is not a registration field")
        if not isinstance(body.get("userName"), str) or not body["userName"].strip():
            raise InvalidValue("userName is required")
        contact: dict[str, Any] = {
            k: body[k] for k in ("userName", "email", "name", "mobile") if k in body
        }
        document = contact_document({}, contact)
        await self.units.write(lambda conn: signin.spend_registration(conn, client))
        tenant_id = await self._tenant(body.get("tenant"))
        if tenant_id is None or tenant_id < 0:
            # The same answer as a closed tenant: registration does not reveal tenant names.
            raise RegistrationClosed("no such tenant")

        def work(conn: Connection) -> tuple[str, bool]:
            return registration.register(
                conn,
                tenant_id,
                document,
                body.get("password"),
                client=client,
                shared_logins=self.shared_logins,
            )

        user_id, pending = await self.units.write(work)
        status = "pending_approval" if pending else "registered"
        return JSONResponse({"status": status, "userId": user_id}, status_code=201)

    async def me(self, request: Request) -> Response:
        """Who the bearer (a session or a user API key) is."""
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        found = None
        if scheme.lower() == "bearer" and secret.strip():
            found = await self.units.read(lambda conn: signin.bearer_user(conn, secret.strip()))
        if found is None:
            raise ApiError(401, "unauthorized", "No valid session or API key")
        return JSONResponse(found)

    async def logout(self, request: Request) -> Response:
        """End the bearer's sign-in session: 204, or 401 for no live session."""
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        client = client_address(request)
        ended = scheme.lower() == "bearer" and await self.units.write(
            lambda conn: signin.sign_out(conn, secret.strip(), client=client)
        )
        if not ended:
            raise ApiError(401, "unauthorized", "No live session")
        return Response(status_code=204)

    def routes(self) -> list[Route]:
        return [
            Route("/me", api_errors(self.me), methods=["GET"]),
            Route("/logout", api_errors(self.logout), methods=["POST"]),
            Route("/reset", api_errors(self.reset), methods=["POST"]),
            Route("/register", api_errors(self.register), methods=["POST"]),
            Route("/login", api_errors(self.login), methods=["POST"]),
            Route("/mfa", api_errors(self.mfa), methods=["POST"]),
            Route("/password", api_errors(self.password), methods=["POST"]),
        ]
