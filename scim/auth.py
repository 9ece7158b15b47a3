"""Bearer-token authentication: a request's token resolved to its tenant, its scopes
checked (``scim``, ``scim:read`` for GETs and searches only, ``admin``) and its request
budget spent (``scim.ratelimit``).

Lookups are cached per process for a few seconds, keyed by the token's hash,
so a busy IdP does not cost a token query per request. The cache is safe to
lose and short-lived: a revoked token stops working within ``ttl`` seconds on
every process.
"""

from __future__ import annotations

import threading
import time

from starlette.requests import Request

from directory import tenants
from directory.tenants import Principal
from directory.units import Units
from scim.errors import ForbiddenError, TooManyRequestsError, UnauthorizedError
from scim.ratelimit import RateLimiter

READ_METHODS = frozenset({"GET", "HEAD"})


def _reads(request: Request) -> bool:
    """Whether a SCIM request only reads: GET, or a search POSTed to ``/.search``."""
    return request.method in READ_METHODS or (
        request.method == "POST" and request.url.path.endswith("/.search")
    )


class TokenAuthenticator:
    def __init__(
        self,
        units: Units,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.units = units
        self.ttl = ttl
        self.max_entries = max_entries
        self.limiter = limiter or RateLimiter(0, 0)
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    async def principal(self, request: Request, scope: str = "scim") -> Principal:
        """The principal of a request's bearer token; 401 without a valid one, 403 without scope."""
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise UnauthorizedError()
        key = tenants.hash_token(secret)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await self.units.read_point(lambda conn: tenants.authenticate(conn, secret))
            with self._lock:
                if len(self._cache) >= self.max_entries:
                    self._cache.clear()
                self._cache[key] = (now + self.ttl, principal)
        if principal is None:
            raise UnauthorizedError(detail="The bearer token is not valid")
        allowed = scope in principal.scopes or (
            scope == "scim" and "scim:read" in principal.scopes and _reads(request)
        )
        if not allowed:
            raise ForbiddenError()
        wait = self.limiter.take(f"token:{principal.token_id}")
        if wait is not None:
            raise TooManyRequestsError(wait)
        return principal
