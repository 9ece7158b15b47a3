"""Bearer-token authentication: a request's token resolved to its tenant, its scopes
checked (``scim``, ``scim:read`` for GETs and searches only, ``admin``) and its request
budget spent (``scim.ratelimit``).

A token is either an API token of the store (opaque, looked up by its hash) or, when an
issuer is configured, a JWT access token of that issuer (RFC 9068; see ``JwtBearer``): a
token of three dot-separated parts is taken for a JWT, anything else for an API token.

Both are cached per process for a few seconds, keyed by the token's hash, so a busy IdP does
not cost a token query (or a signature check) per request. The cache is safe to lose and
short-lived: a revoked token stops working within ``ttl`` seconds on every process, and a
JWT is never trusted past its exp.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from directory import signin, tenants
from directory.errors import InvalidCredentials, NotFound, ProviderFailed
from directory.tenants import Principal
from directory.units import Units
from scim.errors import (
    ForbiddenError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from scim.ratelimit import RateLimiter

log = logging.getLogger("scimd.scim.auth")

READ_METHODS = frozenset({"GET", "HEAD"})
# What a JWT may grant: the admin API takes API tokens only, so "admin" in a JWT means nothing.
JWT_SCOPES = frozenset({"scim", "scim:read"})
# Principal.subject goes into audit actors ("jwt:<subject>", 200 characters at most).
_SUBJECT_LENGTH = 150

VerifyJwt = Callable[[str], Mapping[str, Any]]
"""Checks a JWT access token and returns its claims (with iss, sub and exp among them);
raises InvalidCredentials to refuse it, ProviderFailed when it cannot be checked for now.
May block (fetching the issuer's keys)."""


def _reads(request: Request) -> bool:
    """Whether a SCIM request only reads: GET, or a search POSTed to ``/.search``."""
    return request.method in READ_METHODS or (
        request.method == "POST" and request.url.path.endswith("/.search")
    )


@dataclass(frozen=True)
class JwtGrant:
    """What a verified JWT access token says: whose it is, for which tenant, with which scopes."""

    tenant: str
    subject: str
    scopes: frozenset[str]
    expires: float
    """exp, in seconds since the epoch."""


class JwtBearer:
    """JWT access tokens (RFC 9068) of one issuer, read as SCIM principals.

    ``verify`` checks the token (the composition root binds ``sso.tokens.verify_access_token``
    to the configured issuer and audience; ``scim`` does not import ``sso``). The claim
    ``tenant_claim`` names the token's tenant by its name; ``scope_claim`` holds its scopes, a
    space-separated string (RFC 9068 §2.2.3) or a list of strings (Entra's ``roles``), of which
    ``scim`` and ``scim:read`` count. The principal's subject is ``"<issuer host>/<sub>"``.
    """

    def __init__(
        self, verify: VerifyJwt, *, tenant_claim: str = "scimd_tenant", scope_claim: str = "scope"
    ) -> None:
        self.verify = verify
        self.tenant_claim = tenant_claim
        self.scope_claim = scope_claim

    def grant(self, token: str) -> JwtGrant:
        """Verify ``token`` and read its grant; blocking, raises as ``verify`` does."""
        claims = self.verify(token)
        tenant = claims.get(self.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise InvalidCredentials(f"no tenant name in claim {self.tenant_claim}")
        return JwtGrant(
            tenant=tenant,
            subject=_subject(str(claims["iss"]), str(claims["sub"])),
            scopes=_scopes(claims.get(self.scope_claim)),
            expires=float(claims["exp"]),
        )


def _subject(issuer: str, sub: str) -> str:
    host = urlsplit(issuer).netloc or issuer
    subject = f"{host}/{sub}"
    if len(subject) > _SUBJECT_LENGTH:
        subject = f"{host[:80]}/sha256:{hashlib.sha256(sub.encode()).hexdigest()[:40]}"
    return subject


def _scopes(value: object) -> frozenset[str]:
    if isinstance(value, str):
        named = value.split()
    elif isinstance(value, list):
        named = [item for item in value if isinstance(item, str)]
    else:
        named = []
    return frozenset(named) & JWT_SCOPES


def _tenant_id(conn: Connection, name: str) -> int | None:
    try:
        return tenants.get_tenant(conn, name).id
    except NotFound:
        return None


class TokenAuthenticator:
    def __init__(
        self,
        units: Units,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        limiter: RateLimiter | None = None,
        jwt: JwtBearer | None = None,
        admin_role: str | None = None,
    ) -> None:
        self.units = units
        self.ttl = ttl
        self.max_entries = max_entries
        self.limiter = limiter or RateLimiter(0, 0)
        self.jwt = jwt
        # Holders of this catalog role may use the admin API with their own sign-in session
        # or user API key (None: API tokens only).
        self.admin_role = admin_role
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    async def principal(self, request: Request, scope: str = "scim") -> Principal:
        """The principal of a request's bearer token; 401 without a valid one, 403 without scope."""
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise UnauthorizedError()
        if self.jwt is not None and secret.count(".") == 2:
            principal = await self._jwt_principal(self.jwt, secret)
        else:
            principal = await self._token_principal(secret, scope)
        allowed = scope in principal.scopes or (
            scope == "scim" and "scim:read" in principal.scopes and _reads(request)
        )
        if not allowed:
            raise ForbiddenError()
        wait = self.limiter.take(principal.rate_limit_key)
        if wait is not None:
            raise TooManyRequestsError(wait)
        return principal

    async def _token_principal(self, secret: str, scope: str) -> Principal:
        # A user's session is looked at for the admin API only, and cached apart, so that a
        # SCIM request with it stays the plain 401 of an unknown token.
        people = scope == "admin" and self.admin_role is not None
        key = ("user:" if people else "") + tenants.hash_token(secret)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = await self.units.read_point(
                lambda conn: self._look_up(conn, secret, people)
            )
            self._remember(key, now + self.ttl, principal)
        if principal is None:
            raise UnauthorizedError(detail="The bearer token is not valid")
        return principal

    def _look_up(self, conn: Connection, secret: str, people: bool) -> Principal | None:
        found = tenants.authenticate(conn, secret)
        if found is not None or not people:
            return found
        assert self.admin_role is not None
        admin = signin.admin_user(conn, secret, self.admin_role)
        if admin is None:
            return None
        return Principal(
            tenant_id=admin[0], token_id=None, scopes=frozenset({"admin"}), user_id=admin[1]
        )

    async def _jwt_principal(self, jwt: JwtBearer, token: str) -> Principal:
        key = tenants.hash_token(token)
        cached = self._cache.get(key)
        if cached is not None and cached[1] is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            # A worker thread: verifying may fetch the issuer's keys.
            grant = await run_in_threadpool(jwt.grant, token)
        except InvalidCredentials as refusal:
            raise _refused(refusal.detail) from None
        except ProviderFailed as failure:
            log.warning(
                "cannot check a JWT bearer token", extra={"fields": {"reason": failure.detail}}
            )
            raise ServiceUnavailableError(
                detail="The token's issuer cannot be reached to check it; try again"
            ) from None
        tenant_id = await self.units.read_point(lambda conn: _tenant_id(conn, grant.tenant))
        if tenant_id is None:
            raise _refused("unknown tenant")
        principal = Principal(
            tenant_id=tenant_id, token_id=None, scopes=grant.scopes, subject=grant.subject
        )
        # Trusted for ttl at most, and never past its exp (failures are not remembered: a
        # token refused as not yet valid may be good in a moment).
        lifetime = min(self.ttl, grant.expires - time.time())
        if lifetime > 0:
            self._remember(key, time.monotonic() + lifetime, principal)
        return principal

    def _remember(self, key: str, until: float, principal: Principal | None) -> None:
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[key] = (until, principal)


def _refused(reason: str) -> UnauthorizedError:
    # The reason goes to the log only, never the token: the client learns it was refused.
    log.info("JWT bearer token refused", extra={"fields": {"reason": reason}})
    return UnauthorizedError(detail="The bearer token is not valid", bearer_error="invalid_token")
