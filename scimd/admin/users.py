"""``/admin/v1/users``: the users grid, one user, its actions, and bulk actions.

A user as the admin API shows it is its SCIM identity (userName, name, email,
mobile, active) plus its account state; contact fields edit the SCIM
document (through scim2-models, as a SCIM write would), account fields go
through ``directory.accounts``. Every change is audited in its transaction.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory import accounts, audit, catalog, credentials, environment, grid, users
from directory.audit import Actor
from directory.errors import InvalidValue, NotFound
from directory.units import Units
from scim.auth import TokenAuthenticator
from scimd.admin.views import (
    EXPORT_COLUMNS,
    GRANT_FIELDS,
    cell,
    contact_document,
    user_view_of,
    user_views,
)
from scimd.errors import ApiError, api_errors, integer_param, read_object
from scimd.mail import Mailer
from scimd.signin import client_address

_CREDENTIAL_KINDS = {"sessions": "session", "api-keys": "api_key"}
API_KEY_LIFETIME = timedelta(days=365)
COLUMNS = (
    "userType",
    "userName",
    "name",
    "email",
    "mobile",
    "accessLocked",
    "lastLogin",
    "failedTries",
    "mfaEnabled",
    "mfaRequired",
)
CONTACT = {"userName", "name", "email", "mobile", "active"}
BULK_ACTIONS = ("lock", "unlock", "delete", "approve", "reject")
MAX_BULK = 1000


def _split(
    body: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A body's contact fields, account fields and grants."""
    contact = {key: value for key, value in body.items() if key in CONTACT}
    account = {key: value for key, value in body.items() if key in accounts.EDITABLE}
    grants = {GRANT_FIELDS[key]: value for key, value in body.items() if key in GRANT_FIELDS}
    unknown = sorted(set(body) - CONTACT - set(accounts.EDITABLE) - set(GRANT_FIELDS))
    if unknown:
        raise InvalidValue(f"{unknown[0]!r} is not a field of a user")
    return contact, account, grants


def _apply(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    actor: Actor,
    account: dict[str, Any],
    grants: dict[str, Any],
) -> None:
    """Account fields first (a licence may allow the roles granted next), then grants."""
    if account:
        accounts.update_fields(conn, tenant_id, user_id, actor, account)
    for kind, codes in grants.items():
        catalog.set_grants(conn, tenant_id, user_id, kind, codes, actor)


def _code(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue("fromUserId must be a user id")
    return value


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidValue(f"{name} is true or false")


class UserAdmin:
    def __init__(
        self,
        units: Units,
        authenticator: TokenAuthenticator,
        mailer: Mailer | None = None,
        public_url: str = "http://127.0.0.1:8000",
        *,
        shared_logins: bool = False,
    ) -> None:
        self.units = units
        self.shared_logins = shared_logins
        self.authenticator = authenticator
        self.mailer = mailer or Mailer(host=None)
        self.public_url = public_url.rstrip("/")

    async def _actor(self, request: Request) -> tuple[int, Actor]:
        principal = await self.authenticator.principal(request, scope="admin")
        actor = principal.actor("admin-token", client_address(request))
        return principal.tenant_id, actor

    # --- the grid and one user -----------------------------------------------------------

    @staticmethod
    def _grid_query(params: Any) -> grid.GridQuery:
        flags = {
            name: wanted
            for name in grid.FLAGS
            if (wanted := _flag(params.get(name), name)) is not None
        }
        sort = params.get("sort") or "userName"
        start = integer_param(params.get("startIndex"), "startIndex", 1)
        cursor = params.get("cursor")
        if cursor is not None and params.get("startIndex"):
            raise InvalidValue("cursor and startIndex cannot be used together")
        query = grid.GridQuery(
            search=params.get("search") or None,
            flags=flags,
            licence=params.get("licence") or None,
            user_type=params.get("userType") or None,
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
            offset=max(start, 1) - 1,
            limit=integer_param(params.get("count"), "count", 50),
        )
        # An empty cursor asks for the first page, as RFC 9865's does for SCIM lists.
        if cursor:
            query = dataclasses.replace(query, after=grid.decode_cursor(query, cursor))
        return query

    async def list_users(self, request: Request) -> Response:
        tenant_id, _ = await self._actor(request)
        params = request.query_params
        columns = [c for c in (params.get("columns") or "").split(",") if c]
        unknown = sorted(set(columns) - set(COLUMNS))
        if unknown:
            raise InvalidValue(f"unknown column {unknown[0]!r}; known: {', '.join(COLUMNS)}")
        query = self._grid_query(params)
        by_cursor = params.get("cursor") is not None

        def work(conn: Connection) -> dict[str, Any]:
            page = grid.query(conn, tenant_id, query)
            views = user_views(conn, tenant_id, page.user_ids)
            if columns:
                views = [{"id": v["id"], **{c: v[c] for c in columns}} for v in views]
            found: dict[str, Any] = {"totalResults": page.total}
            if not by_cursor:
                found["startIndex"] = query.offset + 1
            found["users"] = views
            if page.next is not None:
                # With every page, so that index paging can switch to cursors at any point.
                found["nextCursor"] = grid.encode_cursor(query, page.next)
            return found

        return JSONResponse(await self.units.read(work))

    async def create_user(self, request: Request) -> Response:
        tenant_id, actor = await self._actor(request)
        contact, account, grants = _split(await read_object(request))
        if not contact.get("userName"):
            raise InvalidValue("userName is required")
        document = contact_document({}, contact)

        def work(conn: Connection) -> dict[str, Any]:
            stored = users.create_user(conn, tenant_id, document, shared_logins=self.shared_logins)
            audit.record(conn, tenant_id, actor, "user.create", f"user:{stored.id}", detail=contact)
            _apply(conn, tenant_id, stored.id, actor, account, grants)
            return user_view_of(conn, tenant_id, stored.id)

        return JSONResponse(await self.units.write(work), status_code=201)

    async def get_user(self, request: Request) -> Response:
        tenant_id, _ = await self._actor(request)
        user_id = request.path_params["id"]
        return JSONResponse(
            await self.units.read(lambda conn: user_view_of(conn, tenant_id, user_id))
        )

    async def patch_user(self, request: Request) -> Response:
        tenant_id, actor = await self._actor(request)
        user_id = request.path_params["id"]
        contact, account, grants = _split(await read_object(request))

        def work(conn: Connection) -> dict[str, Any]:
            if contact:
                current = users.get_user(conn, tenant_id, user_id, for_update=True)
                document = contact_document(current.document, contact)
                users.replace_user(
                    conn,
                    tenant_id,
                    user_id,
                    document,
                    current=current,
                    shared_logins=self.shared_logins,
                )
                audit.record(
                    conn, tenant_id, actor, "user.update", f"user:{user_id}", detail=contact
                )
            _apply(conn, tenant_id, user_id, actor, account, grants)
            return user_view_of(conn, tenant_id, user_id)

        return JSONResponse(await self.units.write(work))

    async def delete_user(self, request: Request) -> Response:
        tenant_id, actor = await self._actor(request)
        user_id = request.path_params["id"]
        if request.query_params.get("confirm") != "true":
            raise ApiError(400, "confirmation_required", "Deleting a user needs ?confirm=true")
        await self.units.write(lambda conn: _delete(conn, tenant_id, user_id, actor))
        return Response(status_code=204)

    # --- actions ---------------------------------------------------------------------------

    def _action(
        self, action: str, body: dict[str, Any], actor: Actor
    ) -> Callable[[Connection, int, str], Any]:
        simple: dict[str, Callable[[Connection, int, str, Actor], Any]] = {
            "allow-login": accounts.allow_login,
            "lock": lambda c, t, u, a: accounts.lock(c, t, u, a, body.get("reason")),
            "unlock": accounts.unlock,
            "reset-tries": accounts.reset_tries,
            "mfa-remove": accounts.mfa_remove,
            "mfa-do-not-enforce": accounts.mfa_do_not_enforce,
            "approve": accounts.approve,
            "reject": accounts.reject,
            "block-login": lambda c, t, u, a: accounts.block_login(c, t, u, a, body.get("reason")),
            "set-password": lambda c, t, u, a: accounts.set_password(
                c, t, u, a, body.get("password"), force_change=body.get("forceChange") is True
            ),
            "delete-trusted-devices": lambda c, t, u, a: accounts.delete_credentials(
                c, t, u, a, "trusted_device"
            ),
            "copy-access": lambda c, t, u, a: catalog.copy_access(
                c, t, u, _code(body.get("fromUserId")), a
            ),
            "delete": _delete,
        }
        handler = simple.get(action)
        if handler is None:
            raise ApiError(404, "unknown_action", f"No action {action!r}")
        return lambda conn, tenant_id, user_id: handler(conn, tenant_id, user_id, actor)

    async def auto_reset_password(
        self, tenant_id: int, user_id: str, actor: Actor, mode: Any
    ) -> Response:
        """Mail the user a generated password (to change at sign-in) or a one-time link."""
        if mode not in ("mail-password", "mail-link"):
            raise InvalidValue('mode is "mail-password" or "mail-link"')
        if not self.mailer.configured:
            raise ApiError(503, "mail_not_configured", "No SMTP server is configured")

        def work(conn: Connection) -> tuple[dict[str, Any], str, str]:
            view = user_view_of(conn, tenant_id, user_id)
            if not view["email"]:
                raise InvalidValue("The user has no email address to mail")
            if mode == "mail-password":
                password = environment.get(conn, tenant_id).password.generate()
                accounts.set_password(conn, tenant_id, user_id, actor, password, force_change=True)
                text = (
                    f"Your password has been reset.\n\nUser name: {view['userName']}\n"
                    f"Temporary password: {password}\n\nYou will choose a new one when you "
                    "sign in.\n"
                )
            else:
                secret = accounts.reset_link(conn, tenant_id, user_id, actor)
                link = f"{self.public_url}/auth/reset#token={secret}"
                text = (
                    f"A password reset was requested for {view['userName']}.\n\n"
                    f"Choose a new password within {accounts.RESET_LINK_MINUTES} minutes: "
                    f"{link}\n"
                )
            audit.record(
                conn,
                tenant_id,
                actor,
                "account.auto_reset_password",
                f"user:{user_id}",
                detail={"mode": mode},
            )
            return user_view_of(conn, tenant_id, user_id), view["email"], text

        view, address, text = await self.units.write(work)
        await run_in_threadpool(self.mailer.send, address, "Your password", text)
        return JSONResponse(view)

    async def act(self, request: Request) -> Response:
        tenant_id, actor = await self._actor(request)
        user_id, action = request.path_params["id"], request.path_params["action"]
        if action == "auto-reset-password":
            body = await read_object(request)
            return await self.auto_reset_password(tenant_id, user_id, actor, body.get("mode"))
        if action == "delete":
            raise ApiError(404, "unknown_action", "Delete with DELETE /admin/v1/users/{id}")
        run = self._action(action, await read_object(request), actor)

        def work(conn: Connection) -> dict[str, Any]:
            run(conn, tenant_id, user_id)
            return user_view_of(conn, tenant_id, user_id)

        return JSONResponse(await self.units.write(work))

    async def bulk(self, request: Request) -> Response:
        """A bulk action over a selection: all or nothing, with a result per user."""
        tenant_id, actor = await self._actor(request)
        action = request.path_params["action"]
        if action not in BULK_ACTIONS:
            raise ApiError(404, "unknown_action", f"No bulk action {action!r}")
        body = await read_object(request)
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise InvalidValue("ids must be a non-empty list of user ids")
        if len(ids) > MAX_BULK:
            raise InvalidValue(f"at most {MAX_BULK} users at once")
        if action == "delete" and body.get("confirm") is not True:
            raise ApiError(400, "confirmation_required", 'Deleting users needs "confirm": true')
        run = self._action(action, body, actor)

        def work(conn: Connection) -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = []
            for user_id in dict.fromkeys(ids):
                try:
                    with conn.begin_nested():
                        run(conn, tenant_id, user_id)
                    results.append({"id": user_id, "status": "ok"})
                except (InvalidValue, NotFound) as exc:
                    results.append(
                        {"id": user_id, "status": "failed", "error": exc.code, "detail": exc.detail}
                    )
            if any(result["status"] != "ok" for result in results):
                raise BulkFailed(results)
            return results

        try:
            results = await self.units.write(work)
        except BulkFailed as failed:
            return JSONResponse(
                {
                    "error": "bulk_failed",
                    "detail": "Nothing was changed: some users could not take the action",
                    "results": failed.results,
                },
                status_code=409,
            )
        return JSONResponse({"action": action, "results": results})

    # --- sessions and API keys -----------------------------------------------------------

    async def list_credentials(self, request: Request, path: str) -> Response:
        tenant_id, _ = await self._actor(request)
        user_id, kind = request.path_params["id"], _CREDENTIAL_KINDS[path]

        def work(conn: Connection) -> dict[str, Any]:
            users.require_user(conn, tenant_id, user_id)  # 404 for another tenant's user
            found = credentials.listed(conn, tenant_id, user_id, kind)
            return {path: [c.to_json() for c in found]}

        return JSONResponse(await self.units.read(work))

    async def revoke_credential(self, request: Request, path: str) -> Response:
        tenant_id, actor = await self._actor(request)
        user_id, kind = request.path_params["id"], _CREDENTIAL_KINDS[path]
        handle = request.path_params["handle"]

        def work(conn: Connection) -> None:
            if not credentials.revoke(conn, tenant_id, user_id, kind, handle):
                raise NotFound(f"No {kind.replace('_', ' ')} {handle} for user {user_id}")
            audit.record(
                conn,
                tenant_id,
                actor,
                f"account.revoke_{kind}",
                f"user:{user_id}",
                detail={"id": handle},
            )

        await self.units.write(work)
        return Response(status_code=204)

    async def create_api_key(self, request: Request) -> Response:
        """A new API key for the user; its secret is in this answer only."""
        tenant_id, actor = await self._actor(request)
        user_id = request.path_params["id"]
        name = (await read_object(request)).get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 100):
            raise InvalidValue("name is text of at most 100 characters")

        def work(conn: Connection) -> dict[str, Any]:
            users.require_user(conn, tenant_id, user_id)
            secret, _ = credentials.new(
                conn,
                tenant_id,
                user_id,
                "api_key",
                API_KEY_LIFETIME,
                actor.client,
                {"name": name} if name else None,
            )
            audit.record(
                conn,
                tenant_id,
                actor,
                "account.create_api_key",
                f"user:{user_id}",
                detail={"name": name},
            )
            handle = credentials.digest(secret)[: credentials.HANDLE_LENGTH]
            return {"id": handle, "key": secret, "name": name}

        return JSONResponse(await self.units.write(work), status_code=201)

    async def export_csv(self, request: Request) -> Response:
        """The grid's users (same filters, every page) as CSV, safe to open in a spreadsheet."""
        tenant_id, _ = await self._actor(request)
        base = self._grid_query(request.query_params)

        def work(conn: Connection) -> str:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(EXPORT_COLUMNS)
            # By keyset from the first row: every page costs what the first costs.
            query = dataclasses.replace(base, offset=0, after=None, limit=grid.MAX_PAGE)
            while True:
                page = grid.query(conn, tenant_id, query)
                for view in user_views(conn, tenant_id, page.user_ids):
                    writer.writerow([cell(view.get(column)) for column in EXPORT_COLUMNS])
                if page.next is None:
                    return out.getvalue()
                query = dataclasses.replace(query, after=page.next)

        return Response(
            await self.units.read(work),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="users.csv"'},
        )

    async def approvals(self, request: Request) -> Response:
        tenant_id, _ = await self._actor(request)

        def work(conn: Connection) -> dict[str, Any]:
            ids = accounts.pending(conn, tenant_id)
            return {"totalResults": len(ids), "users": user_views(conn, tenant_id, ids)}

        return JSONResponse(await self.units.read(work))

    def routes(self) -> list[Route]:
        return [
            Route("/users", api_errors(self.list_users), methods=["GET"]),
            Route("/users", api_errors(self.create_user), methods=["POST"]),
            Route("/users/bulk/{action}", api_errors(self.bulk), methods=["POST"]),
            Route("/users/export.csv", api_errors(self.export_csv), methods=["GET"]),
            *(
                route
                for path in _CREDENTIAL_KINDS
                for route in (
                    Route(
                        f"/users/{{id}}/{path}",
                        api_errors(functools.partial(self.list_credentials, path=path)),
                        methods=["GET"],
                    ),
                    Route(
                        f"/users/{{id}}/{path}/{{handle}}",
                        api_errors(functools.partial(self.revoke_credential, path=path)),
                        methods=["DELETE"],
                    ),
                )
            ),
            Route("/users/{id}/api-keys", api_errors(self.create_api_key), methods=["POST"]),
            Route("/users/{id}", api_errors(self.get_user), methods=["GET"]),
            Route("/users/{id}", api_errors(self.patch_user), methods=["PATCH"]),
            Route("/users/{id}", api_errors(self.delete_user), methods=["DELETE"]),
            Route("/users/{id}/actions/{action}", api_errors(self.act), methods=["POST"]),
            Route("/approvals", api_errors(self.approvals), methods=["GET"]),
        ]


class BulkFailed(Exception):
    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("bulk action failed")
        self.results = results


def _delete(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    users.delete_user(conn, tenant_id, user_id)
    audit.record(conn, tenant_id, actor, "user.delete", f"user:{user_id}")
