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
            return await self._render(page, problem.status, await _explain(page, problem))
        return page.redirect("/approvals", "approved" if decision == "approve" else "rejected")

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/approvals", page(self.pending), methods=["GET"]),
            Route("/approvals", page(self.decide), methods=["POST"]),
        ]


# How many refused users a message names; the rest are counted.
NAMED = 5


async def _explain(page: Page, problem: ApiProblem) -> str:
    """The API's refusal, naming the users it refused: they no longer wait (another admin
    decided first) or are gone, the usual reasons a decision is refused."""
    body = problem.body if isinstance(problem.body, dict) else {}
    refused = [
        result
        for result in body.get("results") or []
        if isinstance(result, dict) and result.get("status") == "failed"
    ]
    if problem.status != 409 or not refused:
        return problem.detail
    decided, gone = [], []
    for result in refused[:NAMED]:
        try:
            user = await page.api("GET", f"/users/{result.get('id')}")
        except ApiProblem as missing:
            if missing.status != 404:
                raise
            gone.append(result)
            continue
        decided.append(str(user.get("userName")))
    parts = [f"{problem.detail}."]
    if decided:
        parts.append(f"No longer waiting for approval: {', '.join(decided)}.")
    if gone:
        parts.append(f"Deleted meanwhile: {len(gone)} user{'s' if len(gone) != 1 else ''}.")
    if len(refused) > NAMED:
        parts.append(f"And {len(refused) - NAMED} more.")
    parts.append("The list below is as it is now.")
    return " ".join(parts)
