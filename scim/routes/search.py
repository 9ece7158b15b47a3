"""``POST /.search`` at the SCIM root (RFC 7644 §3.4.3): one query over every resource type.

Results are the users, then the groups, that match; ``startIndex`` and
``count`` page through that concatenation, so each type is queried only for
the part of the page it fills.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scim import http
from scim.auth import TokenAuthenticator
from scim.routes.resources import ResourceEndpoints, list_response


class RootSearch:
    def __init__(
        self, authenticator: TokenAuthenticator, endpoints: list[ResourceEndpoints]
    ) -> None:
        self.authenticator = authenticator
        self.endpoints = endpoints

    async def search(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        query = await http.read_search(request)
        start_index, count = http.page(query)
        base = http.base_url(request)
        offset, remaining, total = start_index - 1, count, 0
        resources: list[dict[str, Any]] = []
        for endpoint in self.endpoints:
            # The filter and attributes are read against each type in turn: an
            # attribute one type lacks simply matches none of its resources.
            found, page = await endpoint.page(principal, query, offset, remaining, base)
            total += found
            resources.extend(page)
            offset = max(0, offset - found)
            remaining = count - len(resources)
        return list_response(total, start_index, resources)
