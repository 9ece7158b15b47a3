"""The SSO link wizard: choose a provider and get its users (log in to Azure AD, list Azure AD
app-only, or upload a CSV of ``email,object_id``), then tick the rows to link or unlink and
apply, all through ``/admin/v1/sso``.

The Azure AD login leaves the console: the provider posts its answer to
``/sso/azure/callback``, which stores the list and sends the browser to
``/console/sso/return``. That request comes at the end of a cross-site redirect chain, so
the browser sends no SameSite=Strict session cookie with it: the page, which needs none and
shows nothing of the tenant, sends the browser on (a link, followed by console.js), and that
same-site navigation carries the cookie to the list.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scimd.console.api import ApiProblem
from scimd.console.pages import ROOT, Console, Page

STATUSES = {
    "linked": "Linked",
    "match": "Match",
    "no_local_user": "No local user",
    "ambiguous": "Ambiguous",
    "conflict": "Conflict",
    "invalid": "Invalid",
}
PAGE_SIZES = (50, 100, 200)
RETURN_TO = ROOT + "/sso/return"


def _add_choice(value: Any) -> dict[str, str] | None:
    """An "Add link" box's value (the row's object id, account and email, as JSON)."""
    try:
        choice = json.loads(str(value))
    except ValueError:
        return None
    if not isinstance(choice, dict):
        return None
    object_id, user_id = choice.get("objectId"), choice.get("userId")
    if not isinstance(object_id, str) or not isinstance(user_id, str):
        return None
    chosen = {"action": "add", "objectId": object_id, "userId": user_id}
    if isinstance(choice.get("email"), str):
        chosen["email"] = choice["email"]
    return chosen


class SsoPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def _choose(self, page: Page, status_code: int = 200, **context: Any) -> Response:
        found = await page.api("GET", "/sso/providers")
        return page.render("sso.html", status_code, providers=found["providers"], **context)

    async def choose(self, page: Page) -> Response:
        return await self._choose(page)

    async def _or_problem(self, page: Page, problem: ApiProblem, **context: Any) -> Response:
        """The choice page again, saying why the provider's users could not be had."""
        if problem.status == 401:
            raise problem
        return await self._choose(page, problem.status, problem=problem.detail, **context)

    async def login(self, page: Page) -> Response:
        """Start the Azure AD login; the browser goes to the provider next."""
        name = page.request.path_params["name"]
        try:
            started = await page.api(
                "POST", f"/sso/providers/{name}/login", json={"returnTo": RETURN_TO}
            )
        except ApiProblem as problem:
            return await self._or_problem(page, problem)
        # A page with the link rather than a redirect: the console's CSP allows forms to
        # submit to this server only (form-action 'self'), which covers where they redirect.
        return page.render("sso_go.html", name=name, target=started["authUri"])

    async def app_only(self, page: Page) -> Response:
        name = page.request.path_params["name"]
        try:
            listed = await page.api("POST", f"/sso/providers/{name}/snapshots")
        except ApiProblem as problem:
            return await self._or_problem(page, problem)
        return page.redirect(f"/sso/snapshots/{listed['snapshotId']}", "sso_listed")

    async def upload(self, page: Page) -> Response:
        assert page.form is not None
        return await self._upload(page, page.form)

    async def _upload(self, page: Page, form: FormData) -> Response:
        provider = str(form.get("provider") or "").strip()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._choose(
                page, 400, problem="Choose the provider's CSV file.", provider=provider
            )
        sent = (upload.filename, upload.file, upload.content_type or "text/csv")
        try:
            listed = await page.api(
                "POST", "/sso/snapshots", data={"provider": provider}, files={"file": sent}
            )
        except ApiProblem as problem:
            return await self._or_problem(page, problem, provider=provider)
        return page.redirect(f"/sso/snapshots/{listed['snapshotId']}", "sso_listed")

    async def returned(self, request: Request) -> Response:
        """Where the Azure AD callback sends the browser (no session cookie comes with it)."""
        snapshot = request.query_params.get("snapshot", "")
        if not snapshot.isdigit() or len(snapshot) > 18:
            return RedirectResponse(ROOT + "/sso", status_code=303)
        target = f"{ROOT}/sso/snapshots/{int(snapshot)}?notice=sso_listed"
        return self.console.render(request, "sso_go.html", None, target=target, returned=True)

    async def _user_names(self, page: Page, rows: list[dict[str, Any]]) -> dict[str, str]:
        """The user names of the accounts the rows concern (the page's, so at most a few
        hundred calls in process); an account deleted meanwhile is shown by its id."""
        names: dict[str, str] = {}
        for user_id in dict.fromkeys(row["userId"] for row in rows if row.get("userId")):
            try:
                names[user_id] = (await page.api("GET", f"/users/{user_id}"))["userName"]
            except ApiProblem as problem:
                if problem.status != 404:
                    raise
        return names

    async def snapshot(self, page: Page) -> Response:
        return await self._snapshot(page)

    async def _snapshot(self, page: Page, status_code: int = 200, **context: Any) -> Response:
        """A page of the list (its query: ``status``, ``startIndex``, ``count``)."""
        snapshot_id = page.request.path_params["id"]
        params = page.request.query_params
        status = params.get("status") or ""
        status = status if status in STATUSES else ""
        try:
            count = int(params.get("count") or 100)
            start = max(int(params.get("startIndex") or 1), 1)
        except ValueError:
            count, start = 100, 1
        count = count if count in PAGE_SIZES else 100
        query = {"startIndex": start, "count": count, **({"status": status} if status else {})}
        found = await page.api("GET", f"/sso/snapshots/{snapshot_id}", params=query)
        total = found["totalResults"]

        def link(**changes: Any) -> str:
            return urlencode({**query, **changes})

        return page.render(
            "sso_snapshot.html",
            status_code,
            found=found,
            rows=found["rows"],
            names=await self._user_names(page, found["rows"]),
            statuses=STATUSES,
            status=status,
            start=start,
            count=count,
            total=total,
            page_sizes=PAGE_SIZES,
            previous=link(startIndex=max(start - count, 1)) if start > 1 else None,
            following=link(startIndex=start + count) if start + count <= total else None,
            query=urlencode(query),
            add_value=lambda row: json.dumps(
                {"objectId": row["objectId"], "userId": row["userId"], "email": row["email"]}
            ),
            **context,
        )

    async def apply(self, page: Page) -> Response:
        assert page.form is not None
        snapshot_id = page.request.path_params["id"]
        # The provider is the list's own, not a form field's.
        found = await page.api("GET", f"/sso/snapshots/{snapshot_id}", params={"count": 0})
        back = f"{ROOT}/sso/snapshots/{snapshot_id}"
        adds = [_add_choice(value) for value in page.form.getlist("add")]
        removes = [str(value) for value in page.form.getlist("remove") if str(value).strip()]
        if any(choice is None for choice in adds):
            return await self._snapshot(page, 400, problem="The form was altered; try again.")
        choices = [choice for choice in adds if choice is not None]
        choices += [{"action": "remove", "objectId": object_id} for object_id in removes]
        if not choices:
            problem = "Tick “Add link” or “Remove link” on at least one row first."
            return await self._snapshot(page, 400, problem=problem)
        status, body = await self._apply(page, {"provider": found["provider"], "choices": choices})
        results = body.get("results") or []
        emails = {choice["objectId"]: choice.get("email") for choice in choices}
        return page.render(
            "sso_result.html",
            status,
            provider=found["provider"],
            results=results,
            emails=emails,
            names=await self._user_names(page, results),
            applied=status == 200,
            problem=None if status == 200 else body.get("detail") or "Nothing was changed.",
            back=back,
        )

    async def _apply(self, page: Page, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST /sso/links/apply; its status and body, a 409's too (it says per choice why
        nothing was changed)."""
        try:
            return 200, dict(await page.api("POST", "/sso/links/apply", json=body))
        except ApiProblem as problem:
            if problem.status == 409 and isinstance(problem.body, dict):
                return 409, problem.body
            raise

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/sso", page(self.choose), methods=["GET"]),
            Route("/sso/return", self.returned, methods=["GET"]),
            Route("/sso/providers/{name}/login", page(self.login), methods=["POST"]),
            Route("/sso/providers/{name}/snapshots", page(self.app_only), methods=["POST"]),
            Route("/sso/snapshots", page(self.upload), methods=["POST"]),
            Route("/sso/snapshots/{id:int}", page(self.snapshot), methods=["GET"]),
            Route("/sso/snapshots/{id:int}/apply", page(self.apply), methods=["POST"]),
        ]
