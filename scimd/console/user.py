"""One user's page: contact, status and access (edited together and saved as one PATCH of
the fields that changed), the account actions of the admin API, sessions and API keys,
and delete (confirmed first), all through ``/admin/v1/users/{id}``.

The roles picker shows which roles and role groups the user's licence and user type allow,
by the same rule the API applies (``directory.catalog.role_refusal``); the API still
decides, and its refusal is shown on the page with the admin's input kept.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import Route

from directory.catalog import Entry, role_refusal
from scimd.console.api import ApiProblem
from scimd.console.pages import Console, Page

CONTACT = ("userName", "name", "email", "mobile")
CODES = ("accessLicence", "userType")
FLAGS = ("mfaRequired", "forcePasswordChange")
MOMENTS = ("loginAllowedFrom", "loginAllowedTo")
GRANTS = {
    "roles": "roles",
    "roleGroups": "role-groups",
    "userGroups": "user-groups",
    "dacGroups": "dac-groups",
}


@dataclass(frozen=True)
class Action:
    """An account action's button, the notice after it, and whether it is styled dangerous."""

    label: str
    notice: str
    danger: bool = False


ACTIONS = {
    "allow-login": Action("Allow login", "login_allowed"),
    "block-login": Action("Block login", "login_blocked", danger=True),
    "lock": Action("Lock", "user_locked", danger=True),
    "unlock": Action("Unlock", "user_unlocked"),
    "reset-tries": Action("Reset failed tries", "tries_reset"),
    "set-password": Action("Set password", "password_set"),
    "auto-reset-password": Action("Reset password by mail", "password_mailed"),
    "mfa-remove": Action("Remove MFA", "mfa_removed", danger=True),
    "mfa-do-not-enforce": Action("Do not enforce MFA", "mfa_not_enforced", danger=True),
    "delete-trusted-devices": Action("Delete trusted devices", "devices_deleted", danger=True),
    "copy-access": Action("Copy access", "access_copied"),
}
CREDENTIALS = {"sessions": "session_revoked", "api-keys": "api_key_revoked"}
PICKER_SIZE = 20


def _segment(value: str) -> str:
    """A path parameter as one segment of an API path (never ``..`` or a slash)."""
    if value in ("", ".", ".."):
        raise ApiProblem(404, "not_found", "No such page")
    return quote(value, safe="")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _local(moment: str | None) -> str:
    """An API date and time (UTC, ISO 8601) as a datetime-local input's value."""
    return moment[:16] if moment else ""


def _utc(value: str) -> str | None:
    """A datetime-local input's value (UTC by the form's label) as the API takes it."""
    if not value:
        return None
    if len(value) == 16:  # no seconds
        value += ":00"
    return value if value.endswith("Z") or "+" in value[10:] else value + "Z"


def shown_values(user: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of a user as the form shows them."""
    return {
        **{name: user.get(name) or "" for name in CONTACT + CODES},
        **{name: bool(user.get(name)) for name in FLAGS},
        **{name: _local(user.get(name)) for name in MOMENTS},
        **{name: sorted(user.get(name) or []) for name in GRANTS},
    }


def posted_values(form: FormData) -> dict[str, Any]:
    """The editable fields as the admin submitted them."""
    return {
        **{name: _text(form, name) for name in CONTACT + CODES},
        **{name: form.get(name) == "on" for name in FLAGS},
        **{name: _text(form, name) for name in MOMENTS},
        **{name: sorted({str(v) for v in form.getlist(name) if v}) for name in GRANTS},
    }


def changes(original: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body: the fields whose submitted value differs from the one shown."""
    body: dict[str, Any] = {}
    for name, value in posted.items():
        if original.get(name) == value:
            continue
        if name in MOMENTS:
            body[name] = _utc(value)
        elif isinstance(value, str) and name != "userName":
            body[name] = value or None  # emptied: cleared (userName the API requires)
        else:
            body[name] = value
    return body


def role_options(
    roles: list[dict[str, Any]], licence: str | None, user_type: str | None
) -> dict[str, str | None]:
    """Each role's refusal for this licence and user type (None: allowed)."""
    return {
        role["code"]: role_refusal(
            Entry("role", role["code"], role.get("name") or role["code"], role), licence, user_type
        )
        for role in roles
    }


def group_refusal(group: dict[str, Any], refusals: dict[str, str | None]) -> str | None:
    """A role group is allowed when every role in it is; else the first role's refusal."""
    for code in group.get("roles") or []:
        if refusals.get(code):
            return refusals[code]
    return None


class UserPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def _show(
        self,
        page: Page,
        user_id: str,
        status_code: int = 200,
        *,
        problem: str | None = None,
        values: dict[str, Any] | None = None,
        original: dict[str, Any] | None = None,
        kept: dict[str, Any] | None = None,
        new_key: dict[str, Any] | None = None,
    ) -> Response:
        """The user's page; after a refused form, with the refusal and the admin's input."""
        base = f"/users/{user_id}"
        kept = kept or {}
        user = await page.api("GET", base)  # first: an unknown user is a 404 and no more
        # The rest together; every call is awaited to its end, even when one fails, so none
        # is left running (holding a database connection) after this request's answer.
        answers = await asyncio.gather(
            page.api("GET", f"{base}/sessions"),
            page.api("GET", f"{base}/api-keys"),
            *(page.api("GET", f"/{path}") for path in GRANTS.values()),
            page.api("GET", "/licences"),
            page.api("GET", "/user-types"),
            return_exceptions=True,
        )
        failed = [answer for answer in answers if isinstance(answer, BaseException)]
        if failed:
            raise failed[0]
        sessions, keys, *catalog = [cast(dict[str, Any], answer) for answer in answers]
        roles, role_groups, user_groups, dac_groups, licences, user_types = (
            answer["entries"] for answer in catalog
        )
        shown = shown_values(user)
        values = values or shown
        refusals = role_options(roles, user.get("accessLicence"), user.get("userType"))
        search = str(kept.get("copySearch") or page.request.query_params.get("copySearch") or "")
        candidates: list[dict[str, Any]] = []
        if search:
            found = await page.api("GET", "/users", params={"search": search, "count": PICKER_SIZE})
            candidates = [u for u in found["users"] if u["id"] != user["id"]]
        return page.render(
            "user.html",
            status_code,
            problem=problem,
            user=user,
            values=values,
            original=json.dumps(original or shown, sort_keys=True),
            kept=kept,
            new_key=new_key,
            sessions=sessions["sessions"],
            api_keys=keys["api-keys"],
            roles=[(role, refusals[role["code"]]) for role in roles],
            role_groups=[(group, group_refusal(group, refusals)) for group in role_groups],
            grants={"userGroups": user_groups, "dacGroups": dac_groups},
            licences=licences,
            user_types=user_types,
            actions=ACTIONS,
            copy_search=search,
            candidates=candidates,
        )

    async def show(self, page: Page) -> Response:
        return await self._show(page, _segment(page.request.path_params["id"]))

    async def save(self, page: Page) -> Response:
        """PATCH the fields that changed since the page was shown."""
        assert page.form is not None
        user_id = _segment(page.request.path_params["id"])
        posted = posted_values(page.form)
        try:
            original = json.loads(_text(page.form, "original"))
            if not isinstance(original, dict):
                raise ValueError(original)
        except ValueError:
            original = shown_values(await page.api("GET", f"/users/{user_id}"))
        body = changes(original, posted)
        if not body:
            return page.redirect(f"/users/{user_id}", "unchanged")
        try:
            await page.api("PATCH", f"/users/{user_id}", json=body)
        except ApiProblem as problem:
            if problem.status in (401, 404):
                raise
            return await self._show(
                page,
                user_id,
                problem.status,
                problem=problem.detail,
                values=posted,
                original=original,
            )
        return page.redirect(f"/users/{user_id}", "saved")

    async def act(self, page: Page) -> Response:
        """One account action, with the fields it takes."""
        assert page.form is not None
        user_id = _segment(page.request.path_params["id"])
        name = page.request.path_params["action"]
        action = ACTIONS.get(name)
        if action is None:
            return page.render("error.html", 404, problem=f"No action {name!r}.")
        form = page.form
        body: dict[str, Any] = {}
        if name in ("block-login", "lock"):
            body["reason"] = _text(form, "reason")
        elif name == "set-password":
            password = form.get("password")
            body = {"password": password or "", "forceChange": form.get("forceChange") == "on"}
        elif name == "auto-reset-password":
            body["mode"] = _text(form, "mode")
        elif name == "copy-access":
            body["fromUserId"] = _text(form, "fromUserId")
        try:
            await page.api("POST", f"/users/{user_id}/actions/{name}", json=body)
        except ApiProblem as problem:
            if problem.status in (401, 404) and name != "copy-access":
                raise
            # The admin's input, but never a password, goes back into the form.
            kept = {key: value for key, value in body.items() if key != "password"}
            kept["copySearch"] = _text(form, "copySearch")
            return await self._show(
                page,
                user_id,
                problem.status,
                problem=f"{action.label}: {problem.detail}",
                kept={"action": name, **kept},
            )
        return page.redirect(f"/users/{user_id}", action.notice)

    async def delete(self, page: Page) -> Response:
        """First a confirmation page naming the user, then DELETE."""
        assert page.form is not None
        user_id = _segment(page.request.path_params["id"])
        if page.form.get("confirm") != "yes":
            user = await page.api("GET", f"/users/{user_id}")
            return page.render("user_delete.html", user=user)
        await page.api_response("DELETE", f"/users/{user_id}", params={"confirm": "true"})
        return page.redirect("/users", "user_deleted")

    async def revoke(self, page: Page) -> Response:
        """End a session or revoke an API key."""
        user_id = _segment(page.request.path_params["id"])
        kind = page.request.path_params["kind"]
        if kind not in CREDENTIALS:
            return page.render("error.html", 404, problem="No such page.")
        handle = _segment(page.request.path_params["handle"])
        await page.api_response("DELETE", f"/users/{user_id}/{kind}/{handle}")
        return page.redirect(f"/users/{user_id}", CREDENTIALS[kind])

    async def new_api_key(self, page: Page) -> Response:
        """A new API key, shown on this answer only (never in a redirect or a later page)."""
        assert page.form is not None
        user_id = _segment(page.request.path_params["id"])
        name = _text(page.form, "name")
        try:
            made = await page.api(
                "POST", f"/users/{user_id}/api-keys", json={"name": name} if name else {}
            )
        except ApiProblem as problem:
            if problem.status in (401, 404):
                raise
            return await self._show(
                page,
                user_id,
                problem.status,
                problem=f"New API key: {problem.detail}",
                kept={"action": "api-key", "name": name},
            )
        return await self._show(page, user_id, new_key=made)

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/users/{id}", page(self.show), methods=["GET"]),
            Route("/users/{id}", page(self.save), methods=["POST"]),
            Route("/users/{id}/actions/{action}", page(self.act), methods=["POST"]),
            Route("/users/{id}/delete", page(self.delete), methods=["POST"]),
            Route("/users/{id}/api-keys", page(self.new_api_key), methods=["POST"]),
            Route("/users/{id}/{kind}/{handle}/revoke", page(self.revoke), methods=["POST"]),
        ]
