"""``/admin/v1/audit`` and its exports: the tenant's audit trail, filtered, paged and
streamed out as CSV or JSON lines for a SIEM or an auditor.

An export streams page by page in event order, each page its own short read, so a trail of
millions of events neither holds a transaction open nor sits in memory; it reads events up
to the last one present when the export began, so it ends even while changes go on.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, func, select
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from directory import audit, sheets, tables
from directory.audit import Event
from directory.errors import InvalidValue
from directory.units import Units
from scimd.admin.users import UserAdmin
from scimd.errors import MAX_ID, api_errors, integer_param

MAX_PAGE = 1000
EXPORT_PAGE = 1000
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "result", "client", "detail")


def _when(params: QueryParams, name: str) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(f"{name} is an ISO 8601 date or time, not {text!r}") from None


def _number(params: QueryParams, name: str, default: int | None) -> int | None:
    text = params.get(name)
    if not text:
        return default
    value = integer_param(text, name, 0)
    if value < (1 if name == "count" else 0):
        raise InvalidValue(f"{name} is too small: {value}")
    if value > MAX_ID:
        raise InvalidValue(f"{name} is too large: {value}")
    return value


def _filter(params: QueryParams) -> audit.Filter:
    return audit.Filter(
        target=params.get("target") or None,
        action=params.get("action") or None,
        actor=params.get("actor") or None,
        result=params.get("result") or None,
        since=_when(params, "since"),
        until=_when(params, "until"),
    )


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _csv_row(event: Event) -> str:
    row = event.to_json()
    row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    return _csv_line(
        [sheets.neutralise(str(row[c])) if row[c] is not None else "" for c in CSV_COLUMNS]
    )


def _jsonl_row(event: Event) -> str:
    return json.dumps(event.to_json(), ensure_ascii=False) + "\n"


def _page(tenant_id: int, selection: audit.Filter, after: int, conn: Connection) -> list[Event]:
    return audit.events(conn, tenant_id, selection, after_id=after, limit=EXPORT_PAGE)


class AuditAdmin:
    def __init__(self, units: Units, users: UserAdmin) -> None:
        self.units = units
        self.users = users

    async def recent(self, request: Request) -> Response:
        """Newest first, ``count`` at a time; the next page is ``before`` the last id."""
        tenant_id, _ = await self.users._actor(request)
        params = request.query_params
        selection = _filter(params)
        before = _number(params, "before", None)
        limit = min(_number(params, "count", 100) or 100, MAX_PAGE)
        found = await self.units.read(
            lambda conn: audit.events(conn, tenant_id, selection, before_id=before, limit=limit)
        )
        return JSONResponse({"events": [event.to_json() for event in found]})

    async def export_csv(self, request: Request) -> Response:
        return await self._export(request, "csv")

    async def export_jsonl(self, request: Request) -> Response:
        return await self._export(request, "jsonl")

    async def _export(self, request: Request, kind: str) -> Response:
        """Every event the filters select, oldest first, streamed."""
        tenant_id, _ = await self.users._actor(request)
        selection = _filter(request.query_params)

        def last_id(conn: Connection) -> int:
            event = tables.AuditEvent
            found = conn.execute(
                select(func.max(event.id)).where(event.tenant_id == tenant_id)
            ).scalar_one()
            return int(found or 0)

        end = await self.units.read(last_id)
        render: Callable[[Event], str] = _csv_row if kind == "csv" else _jsonl_row

        async def lines() -> AsyncIterator[str]:
            if kind == "csv":
                yield _csv_line(list(CSV_COLUMNS))
            after = 0
            while True:
                page = await self.units.read(partial(_page, tenant_id, selection, after))
                page = [event for event in page if event.id <= end]
                if not page:
                    return
                yield "".join(render(event) for event in page)
                after = page[-1].id

        media_type = "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson"
        return StreamingResponse(
            lines(),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="audit.{kind}"'},
        )

    def routes(self) -> list[Route]:
        return [
            Route("/audit", api_errors(self.recent), methods=["GET"]),
            Route("/exports/audit.csv", api_errors(self.export_csv), methods=["GET"]),
            Route("/exports/audit.jsonl", api_errors(self.export_jsonl), methods=["GET"]),
        ]
