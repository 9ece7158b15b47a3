"""The users grid: search, filters, sort, paging, a column chooser, and bulk lock, unlock and
delete (each confirmed) and export of the list, all through ``/admin/v1/users``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.responses import Response
from starlette.routing import Route

from scimd.console.pages import Console, Page

PAGE_SIZES = (25, 50, 100, 200)
COLUMNS = {
    "userName": "User name",
    "name": "Name",
    "email": "Email",
    "userType": "User type",
    "mobile": "Mobile",
    "accessLocked": "Access locked",
    "lastLogin": "Last login",
    "failedTries": "Failed tries",
    "mfaEnabled": "MFA enabled",
    "mfaRequired": "MFA required",
}
DEFAULT_COLUMNS = ("userName", "name", "email", "accessLocked", "lastLogin", "mfaEnabled")
SORTABLE = {
    "userName": "userName",
    "name": "name",
    "lastLogin": "lastLogin",
    "failedTries": "failedTries",
}
FLAGS = {
    "locked": "Locked",
    "blocked": "Login blocked",
    "pendingApproval": "Pending approval",
    "mfaRequired": "MFA required",
    "mfaEnabled": "MFA enabled",
}
BULK = {"lock": "Lock", "unlock": "Unlock", "delete": "Delete"}
# The grid's own query parameters, passed through to the API as they are.
_PASSED = ("search", "licence", "userType", "sort", *FLAGS)


def _query(params: Any) -> dict[str, str]:
    """The grid's filters and sort from a request (empty values dropped)."""
    return {name: str(params[name]) for name in _PASSED if params.get(name)}


class UsersPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def grid(self, page: Page) -> Response:
        params = page.request.query_params
        query = _query(params)
        try:
            count = int(params.get("count") or 50)
            start = max(int(params.get("startIndex") or 1), 1)
        except ValueError:
            count, start = 50, 1
        count = count if count in PAGE_SIZES else 50
        # Next pages follow the API's cursor (each as cheap as the first, however deep);
        # startIndex only numbers the rows then, and serves Previous and typed-in pages.
        cursor = params.get("cursor")
        position = {"cursor": cursor} if cursor else {"startIndex": start}
        found = await page.api("GET", "/users", params={**query, **position, "count": count})
        licences = await page.api("GET", "/licences")
        user_types = await page.api("GET", "/user-types")
        total = found["totalResults"]
        return page.render(
            "users.html",
            users=found["users"],
            total=total,
            start=start,
            count=count,
            query=query,
            columns=COLUMNS,
            default_columns=DEFAULT_COLUMNS,
            sortable=SORTABLE,
            flags=FLAGS,
            bulk=BULK,
            page_sizes=PAGE_SIZES,
            licences=licences["entries"],
            user_types=user_types["entries"],
            previous=urlencode({**query, "startIndex": max(start - count, 1), "count": count})
            if start > 1
            else None,
            following=urlencode(
                {
                    **query,
                    "cursor": found["nextCursor"],
                    "startIndex": start + count,
                    "count": count,
                }
            )
            if found.get("nextCursor")
            else None,
            export=urlencode(query),
            sort_link=lambda column: urlencode(
                {
                    **query,
                    "sort": f"-{column}" if query.get("sort") == column else column,
                    "count": count,
                }
            ),
        )

    async def bulk(self, page: Page) -> Response:
        """A bulk action: first a confirmation page naming the users, then the action."""
        assert page.form is not None
        action = str(page.form.get("action") or "")
        ids = [str(value) for value in page.form.getlist("ids")]
        back = "/users" + (f"?{page.form.get('back')}" if page.form.get("back") else "")
        if action not in BULK:
            return page.render("error.html", 400, problem=f"Unknown action {action!r}.")
        if not ids:
            return page.render("error.html", 400, problem="Select at least one user first.")
        if page.form.get("confirm") != "yes":
            chosen = [
                await page.api("GET", f"/users/{quote(user_id, safe='')}") for user_id in ids[:50]
            ]
            return page.render(
                "confirm.html",
                action=action,
                label=BULK[action],
                ids=ids,
                chosen=chosen,
                more=len(ids) - len(chosen),
                back=page.form.get("back") or "",
            )
        body: dict[str, Any] = {"ids": ids}
        if action == "delete":
            body["confirm"] = True
        await page.api("POST", f"/users/bulk/{action}", json=body)
        notice = {"lock": "locked", "unlock": "unlocked", "delete": "deleted"}[action]
        return page.redirect(back, notice)

    async def export(self, page: Page) -> Response:
        answer = await page.api_response(
            "GET", "/users/export.csv", params=_query(page.request.query_params)
        )
        return Response(
            answer.content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="users.csv"'},
        )

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/users", page(self.grid), methods=["GET"]),
            Route("/users/bulk", page(self.bulk), methods=["POST"]),
            Route("/users/export.csv", page(self.export), methods=["GET"]),
        ]
