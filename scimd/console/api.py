"""The console's way to the admin API and the sign-in endpoints: HTTP in process (httpx over
ASGI), as any other client would call them, with the browser's address passed on so the
audit log and sign-in throttling see the person, not the console."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp

from scimd.observability import request_id


class ApiProblem(Exception):
    """An answer of the API that is not a success: shown to the admin as its ``detail``."""

    def __init__(self, status: int, code: str, detail: str, body: Any = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body
        """The answer's JSON, when it says more than ``detail`` (a per-choice 409, say)."""


class Api:
    """One API (the admin API's or the sign-in endpoints' ASGI app) reached in process."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def _client(self, request: Request, bearer: str | None) -> httpx.AsyncClient:
        headers = {"X-Request-ID": request_id.get()}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        address = request.client.host if request.client else "127.0.0.1"
        transport = httpx.ASGITransport(app=self.app, client=(address, 0))
        return httpx.AsyncClient(transport=transport, base_url="http://console", headers=headers)

    async def call(
        self,
        request: Request,
        bearer: str | None,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """The API's answer; ApiProblem for anything but a 2xx."""
        async with self._client(request, bearer) as client:
            response = await client.request(
                method, path, params=params, json=json, data=data, files=files
            )
        if response.is_success:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            code, detail = str(body.get("error", "error")), str(body.get("detail", ""))
        else:
            code, detail = "error", response.text[:200]
        raise ApiProblem(response.status_code, code, detail or response.reason_phrase, body)

    async def json(
        self, request: Request, bearer: str | None, method: str, path: str, **kwargs: Any
    ) -> Any:
        return (await self.call(request, bearer, method, path, **kwargs)).json()
