"""The audit log: the tenant's events newest first, filtered and paged, and their export as CSV
or JSON lines with the same filters, through ``GET /admin/v1/audit`` and
``/admin/v1/exports/audit.csv|jsonl``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.routing import Route

from scimd.console.pages import Console, Page

PAGE_SIZE = 50
TEXT_FILTERS = {"target": "Target", "action": "Action", "actor": "Actor"}
# Suggested in the result filter; refusals record their own codes too (e.g. locked).
RESULTS = ("ok", "refused", "failed")
DATE_FILTERS = {"since": "From", "until": "To"}
EXPORTS = {
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "jsonl": ("application/x-ndjson", "JSON lines"),
}
# A detail longer than this is shown folded, its start as the summary.
SHORT_DETAIL = 90


class BadFilter(ValueError):
    """A filter the admin typed that the page cannot pass on (said as it is shown)."""


def _filters(params: QueryParams) -> dict[str, str]:
    """The page's filters as the admin gave them (empty ones dropped)."""
    return {
        name: params[name].strip()
        for name in (*TEXT_FILTERS, "result", *DATE_FILTERS)
        if params.get(name, "").strip()
    }


def _api_filters(filters: dict[str, str]) -> dict[str, str]:
    """The API's parameters for the page's filters: days become UTC instants, and "To" takes
    in the whole of its day (the API's ``until`` is exclusive)."""
    params = {name: value for name, value in filters.items() if name not in DATE_FILTERS}
    for name, label in DATE_FILTERS.items():
        if name not in filters:
            continue
        try:
            day = date.fromisoformat(filters[name])
        except ValueError:
            raise BadFilter(f"{label} is a date like 2026-11-27, not {filters[name]!r}.") from None
        if name == "until":
            day += timedelta(days=1)
        params[name] = f"{day.isoformat()}T00:00:00Z"
    return params


def _compact(detail: Any) -> str:
    """An event's detail on one line: ``key: value`` pairs, values as JSON unless text."""
    if not detail:
        return ""
    if not isinstance(detail, dict):
        return json.dumps(detail, ensure_ascii=False)
    return "; ".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in detail.items()
    )


def _row(event: dict[str, Any]) -> dict[str, Any]:
    detail = _compact(event.get("detail"))
    return {
        **event,
        "when": event["at"][:19].replace("T", " ") + " UTC",
        "detail_text": detail,
        "detail_short": detail if len(detail) <= SHORT_DETAIL else None,
        "detail_start": detail[: SHORT_DETAIL - 30] + "…",
    }


class AuditPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def log(self, page: Page) -> Response:
        params = page.request.query_params
        filters = _filters(params)
        before = params.get("before", "")
        context: dict[str, Any] = {
            "filters": filters,
            "text_filters": TEXT_FILTERS,
            "results": RESULTS,
            "date_filters": DATE_FILTERS,
            "exports": {kind: label for kind, (_, label) in EXPORTS.items()},
            "query": urlencode(filters),
            "events": [],
            "older": None,
            "newest": bool(before),
        }
        try:
            api_params = _api_filters(filters)
        except BadFilter as problem:
            return page.render("audit.html", 400, problem=str(problem), **context)
        if before.isdigit():
            api_params["before"] = before
        found = await page.api("GET", "/audit", params={**api_params, "count": str(PAGE_SIZE + 1)})
        events = found["events"]
        # One more than a page is asked for: it says whether an older page exists.
        if len(events) > PAGE_SIZE:
            events = events[:PAGE_SIZE]
            context["older"] = urlencode({**filters, "before": events[-1]["id"]})
        context["events"] = [_row(event) for event in events]
        return page.render("audit.html", **context)

    async def export(self, page: Page) -> Response:
        kind = page.request.path_params["kind"]
        if kind not in EXPORTS:
            return page.render("error.html", 404, problem=f"No export as {kind!r}.")
        try:
            api_params = _api_filters(_filters(page.request.query_params))
        except BadFilter as problem:
            return page.render("error.html", 400, problem=str(problem))
        # Buffered: the in-process client reads the API's stream whole before answering.
        answer = await page.api_response("GET", f"/exports/audit.{kind}", params=api_params)
        media_type, _ = EXPORTS[kind]
        return Response(
            answer.content,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="audit.{kind}"'},
        )

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/audit", page(self.log), methods=["GET"]),
            Route("/audit/export.{kind}", page(self.export), methods=["GET"]),
        ]
