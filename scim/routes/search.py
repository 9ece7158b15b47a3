"""``POST /.search`` at the SCIM root (RFC 7644 §3.4.3): one query over every resource type.

Results are the users, then the groups, that match; ``startIndex`` and
``count`` page through that concatenation, so each type is queried only for
the part of the page it fills.
"""

from __future__ import annotations

from scim2_models import InvalidValueException
from starlette.requests import Request
from starlette.responses import Response

from scim import http
from scim.auth import TokenAuthenticator
from scim.pagination import read_list_request
from scim.routes.resources import Listing, ResourceEndpoints, list_response


class RootSearch:
    def __init__(
        self, authenticator: TokenAuthenticator, endpoints: list[ResourceEndpoints]
    ) -> None:
        self.authenticator = authenticator
        self.endpoints = endpoints

    async def search(self, request: Request) -> Response:
        principal = await self.authenticator.principal(request)
        query = await http.read_search(request)
        listing = read_list_request(query)
        if listing.cursor is not None or listing.sort_by:
            # Keys and orders differ per resource type; RFC 9865 lets a service
            # provider refuse cursors where it cannot keep them consistent.
            raise InvalidValueException(
                detail="cursor and sortBy are supported per resource type, not at the root"
            )
        base = http.base_url(request)
        offset, remaining = listing.start_index - 1, listing.count
        combined = Listing(total=0)
        for endpoint in self.endpoints:
            # The filter and attributes are read against each type in turn: an
            # attribute one type lacks simply matches none of its resources.
            parameters = endpoint.response_parameters(query)
            listed = await endpoint.page(
                principal, listing, parameters, base, offset, remaining, across_types=True
            )
            combined.total += listed.total
            combined.resources.extend(listed.resources)
            offset = max(0, offset - listed.total)
            remaining = listing.count - len(combined.resources)
        return list_response(combined, listing.start_index)
