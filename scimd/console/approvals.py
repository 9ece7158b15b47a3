"""Pending approvals: the accounts people created themselves (registration, a first federated
sign-in) waiting for an admin, approved or rejected one at a time or many at once, through
``GET /admin/v1/approvals`` and ``POST /admin/v1/users/bulk/approve|reject``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from scimd.console.api import ApiProblem
from scimd.console.pages import Console, Page

DECISIONS = {"approve": "Approve", "reject": "Reject"}


def _chosen(form: Any) -> tuple[str, list[str]]:
    """The decision and the users it is for: a row's own button names one user
    (``approve=ID``), the buttons above the table the ticked rows (``action`` and ``ids``)."""
    for decision in DECISIONS:
        if form.get(decision):
            return decision, [str(form.get(decision))]
    return str(form.get("action") or ""), [str(value) for value in form.getlist("ids")]


class ApprovalsPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def _render(
        self, page: Page, status_code: int = 200, problem: str | None = None
    ) -> Response:
        pending = await page.api("GET", "/approvals")
        return page.render(
            "approvals.html",
            status_code,
            users=pending["users"],
            total=pending["totalResults"],
            decisions=DECISIONS,
            problem=problem,
        )

    async def pending(self, page: Page) -> Response:
        return await self._render(page)

    async def decide(self, page: Page) -> Response:
        assert page.form is not None
        decision, ids = _chosen(page.form)
        if decision not in DECISIONS:
            return await self._render(page, 400, f"Unknown action {decision!r}.")
        if not ids:
            return await self._render(page, 400, "Select at least one user first.")
        try:
            await page.api("POST", f"/users/bulk/{decision}", json={"ids": ids})
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            return await self._render(page, problem.status, await _explain(page, problem, ids))
        return page.redirect("/approvals", "approved" if decision == "approve" else "rejected")

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/approvals", page(self.pending), methods=["GET"]),
            Route("/approvals", page(self.decide), methods=["POST"]),
        ]


async def _explain(page: Page, problem: ApiProblem, ids: list[str]) -> str:
    """The API's refusal, naming the chosen users that no longer wait (another admin decided
    first, or the user was deleted): the usual reason a decision is refused."""
    if problem.status != 409:
        return problem.detail
    waiting = {user["id"] for user in (await page.api("GET", "/approvals"))["users"]}
    gone = [user_id for user_id in ids if user_id not in waiting]
    if not gone:
        return problem.detail
    return (
        f"{problem.detail}. {len(gone)} of the selected users no longer wait for approval "
        "(decided already, or deleted); the list below is as it is now."
    )
