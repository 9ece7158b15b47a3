"""Signed JWTs from an identity provider: id_tokens for federated sign-in (OpenID Connect Core
1.0 §3.1.3.7), access tokens for SCIM clients (RFC 9068), and the provider's signing keys
(RFC 7517 JWK Set), cached.

msal does not verify id_tokens (since 1.38 it only decodes their claims), so sign-in does it
here. Both kinds of token go through ``verify_jwt`` (algorithm, key, signature, issuer,
audience, times); ``verify_id_token`` and ``verify_access_token`` add what their kind needs.
The module does no I/O of its own: ``Jwks`` calls the ``fetch`` it is given, and
``httpx_fetcher`` builds the usual one.
"""

from __future__ import annotations

import hmac
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from jose import jwk, jwt
from jose.exceptions import JOSEError, JWTClaimsError

from directory.errors import InvalidCredentials, ProviderFailed

__all__ = [
    "ALGORITHMS",
    "Fetch",
    "IdTokenRefused",
    "Jwks",
    "KeysUnavailable",
    "TokenRefused",
    "httpx_fetcher",
    "verify_access_token",
    "verify_id_token",
    "verify_jwt",
]

logger = logging.getLogger(__name__)

Fetch = Callable[[str], dict[str, Any]]
"""GET a URL and return the JSON object it answers; raise on any failure."""

# Public-key algorithms only, with the key type each needs. An HMAC algorithm would turn the
# provider's published key into a shared secret (algorithm confusion); "none" signs nothing.
_KEY_TYPES = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
}
ALGORITHMS = tuple(_KEY_TYPES)
"""The algorithms a verifier may allow: RS and ES, never HS or "none"."""
_ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
# RFC 9068 §2.2 also requires client_id and jti; Entra's access tokens carry neither (its
# client is "azp" or "appid"), and nothing here uses them.
_ACCESS_TOKEN_CLAIMS = ("iss", "exp", "aud", "sub", "iat")
# RFC 9068 §2.1: "at+jwt" (RFC 7515 §4.1.9: with or without "application/"). Entra, Keycloak
# and others send "JWT", and some send no typ at all, which is accepted as well: an id_token of
# the same issuer is kept out by the audience and the scope, not by typ.
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt", "application/jwt"})
# python-jose reads the wall clock for exp/nbf/iat and lets int(None) escape as a TypeError,
# so the times are checked here, against ``now``; jose checks signature, aud, iss and sub.
# Naming a claim in jose's require_* would switch its own time check back on.
_JOSE_OPTIONS = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_at_hash": False,
}
_JOSE_BAD_SIGNATURE = "Signature verification failed"


class TokenRefused(InvalidCredentials):
    """Raised when a token fails a check; ``detail`` says which one, for the log (never the
    token itself)."""


IdTokenRefused = TokenRefused
"""The name sign-in knows ``TokenRefused`` by."""


class KeysUnavailable(TokenRefused):
    """Raised when no signing key is in hand because fetching the keys failed: the token may
    be good, the provider is unreachable or answers nonsense."""


class Jwks:
    """The provider's signing keys, fetched from ``jwks_uri`` and cached.

    The cache is refetched once it is ``max_age_seconds`` old, and when a token names a kid it
    does not hold (the provider rotated its keys) — but at most once per
    ``min_refresh_seconds``, so a flood of bogus kids cannot hammer the provider. A failed
    fetch counts as an attempt too; the keys already held stay in use until the next one.

    With ``jwks_uri`` None, it is read from ``issuer``'s discovery document (OpenID Connect
    Discovery 1.0 §4) on the first fetch, and again on each fetch until that succeeds.
    """

    def __init__(
        self,
        jwks_uri: str | None,
        fetch: Fetch,
        *,
        issuer: str | None = None,
        max_age_seconds: float = 3600,
        min_refresh_seconds: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_uri is None and issuer is None:
            raise ValueError("Jwks needs a jwks_uri, or an issuer to discover it from")
        self.jwks_uri = jwks_uri
        self._issuer = issuer
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error: str | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> dict[str, Any]:
        """The JWK named ``kid``; TokenRefused("unknown signing key") if still unknown after a
        refresh (or when a refresh is not yet allowed), KeysUnavailable when no key is held
        because the last fetch failed."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            may_fetch = self._attempted_at is None or now - self._attempted_at >= self._min_refresh
            if (stale or kid not in self._keys) and may_fetch:
                self._refresh(now)
            found = self._keys.get(kid)
            if found is None and not self._keys and self._last_error is not None:
                raise KeysUnavailable(f"signing keys unavailable ({self._last_error})")
        if found is None:
            raise TokenRefused("unknown signing key")
        return found

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            if self.jwks_uri is None:
                assert self._issuer is not None  # __init__ wants one of them
                self.jwks_uri = _discovered_jwks_uri(self._issuer, self._fetch)
            keys = _signing_keys(self._fetch(self.jwks_uri))
        except Exception as exc:  # fetch is the caller's: whatever it raises means no keys now
            self._last_error = f"{type(exc).__name__}: {exc}"
            where = self.jwks_uri or f"the discovery document of {self._issuer}"
            logger.warning("fetching %s failed: %s", where, self._last_error)
            return
        self._keys, self._fetched_at, self._last_error = keys, now, None


def _discovered_jwks_uri(issuer: str, fetch: Fetch) -> str:
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    document = fetch(url)
    # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was read for.
    if document.get("issuer") != issuer:
        raise ValueError(f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
        raise ValueError(f"{url} has no https jwks_uri")
    return jwks_uri


def _signing_keys(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("the JWK Set has no 'keys' list")
    # RFC 7517 §4.2: a key whose "use" is not "sig" must not verify signatures.
    return {
        key["kid"]: key
        for key in keys
        if isinstance(key, dict)
        and isinstance(key.get("kid"), str)
        and key.get("use", "sig") == "sig"
    }


def verify_jwt(
    token: str,
    *,
    jwks: Jwks,
    issuer: str,
    audience: str,
    algorithms: Sequence[str],
    required_claims: Sequence[str],
    types: frozenset[str] | None = None,
    leeway_seconds: int,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The claims of ``token`` once its header, signature, issuer, audience and times pass;
    raises TokenRefused otherwise.

    The header's alg must be one of ``algorithms`` (public-key ones: see ALGORITHMS) and is
    checked before any key is looked up; its kid must name a key of ``jwks`` of the type the
    alg needs. ``required_claims`` must all be present, and exp always; exp, nbf and iat are
    checked against ``now()`` with ``leeway_seconds`` for clock skew. ``types``, when given,
    are the header typ values accepted (lower case; a header without typ passes).
    """
    if not algorithms or not set(algorithms) <= _KEY_TYPES.keys():
        raise ValueError(f"algorithms must be among {sorted(_KEY_TYPES)}, not {list(algorithms)}")
    header = _unverified_header(token)
    # Before any key is looked up: "none" and HS256 (keyed with the public key) end here.
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise TokenRefused("algorithm not allowed")
    typ = header.get("typ")
    if types is not None and typ is not None and str(typ).lower() not in types:
        raise TokenRefused("wrong token type")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRefused("missing key id")
    key = _verification_key(jwks.key(kid), alg)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            options=_JOSE_OPTIONS,
        )
    except JWTClaimsError as exc:
        raise TokenRefused(_claims_reason(token, issuer, audience)) from exc
    except JOSEError as exc:
        reason = "bad signature" if _JOSE_BAD_SIGNATURE in str(exc) else "malformed"
        raise TokenRefused(reason) from exc
    if not isinstance(claims, dict):
        raise TokenRefused("malformed")
    _check_times(claims, required_claims, leeway_seconds, now())
    return claims


def verify_id_token(
    token: str,
    *,
    jwks: Jwks,
    issuer: str,
    audience: str,
    nonce: str | None,
    algorithms: Sequence[str] = ("RS256",),
    leeway_seconds: int = 120,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The claims of ``token`` once it passes every check of OIDC Core §3.1.3.7; raises
    IdTokenRefused otherwise.

    ``nonce`` is the value sent to the authorize endpoint (with msal: the SHA-256 hex digest of
    ``flow["nonce"]``, not ``flow["nonce"]`` itself); None skips the nonce check.
    ``leeway_seconds`` allows for clock skew on exp, nbf and iat.
    """
    claims = verify_jwt(
        token,
        jwks=jwks,
        issuer=issuer,
        audience=audience,
        algorithms=algorithms,
        required_claims=_ID_TOKEN_CLAIMS,
        leeway_seconds=leeway_seconds,
        now=now,
    )
    # OIDC Core §3.1.3.7 (4, 5): several audiences need azp, and azp must be this client.
    aud = claims["aud"]
    if (isinstance(aud, list) and len(aud) > 1) or "azp" in claims:
        if claims.get("azp") != audience:
            raise TokenRefused("wrong authorized party")
    if nonce is not None:
        _check_nonce(claims, nonce)
    return claims


def verify_access_token(
    token: str,
    *,
    jwks: Jwks,
    issuer: str,
    audience: str,
    algorithms: Sequence[str] = ("RS256",),
    leeway_seconds: int = 60,
    now: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The claims of a JWT access token (RFC 9068 §4) issued by ``issuer`` for ``audience``;
    raises TokenRefused when it fails a check, ProviderFailed when the issuer's keys cannot be
    had (the token may be good: the caller should answer "try again", not "go away").

    iss, exp, aud, sub and iat are required; typ may be "at+jwt" or "JWT", or absent. What the
    token may do (its scope) is the caller's to read.
    """
    try:
        return verify_jwt(
            token,
            jwks=jwks,
            issuer=issuer,
            audience=audience,
            algorithms=algorithms,
            required_claims=_ACCESS_TOKEN_CLAIMS,
            types=_ACCESS_TOKEN_TYPES,
            leeway_seconds=leeway_seconds,
            now=now,
        )
    except KeysUnavailable as exc:
        raise ProviderFailed(exc.detail) from exc


def _unverified_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenRefused("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise TokenRefused("malformed") from exc
    if not isinstance(header, dict):
        raise TokenRefused("malformed")
    return header


def _verification_key(key: dict[str, Any], alg: str) -> Any:
    """The jose key for ``alg`` built from the JWK, which must be of the type ``alg`` needs."""
    if key.get("kty") != _KEY_TYPES[alg] or key.get("alg", alg) != alg:
        raise TokenRefused("signing key does not fit the algorithm")
    try:
        return jwk.construct(key, alg)
    except JOSEError as exc:
        raise TokenRefused("unusable signing key") from exc


def _claims_reason(token: str, issuer: str, audience: str) -> str:
    # jose raises one JWTClaimsError for several checks; it raises them only after the
    # signature verified, so reading the claims again to say which one failed is safe.
    claims = jwt.get_unverified_claims(token)
    if claims.get("iss") != issuer:
        return "wrong issuer"
    aud = claims.get("aud")
    if audience not in ([aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []):
        return "wrong audience"
    return "invalid claims"


def _check_times(
    claims: dict[str, Any], required: Sequence[str], leeway: int, current: float
) -> None:
    for name in (*required, "exp"):  # a token without exp would be good forever
        if name not in claims:
            raise TokenRefused(f"missing claim {name}")
    # RFC 7519 §4.1.4: not accepted on or after exp.
    if current >= _numeric(claims, "exp") + leeway:
        raise TokenRefused("expired")
    if "nbf" in claims and current + leeway < _numeric(claims, "nbf"):
        raise TokenRefused("not yet valid")
    if "iat" in claims and current + leeway < _numeric(claims, "iat"):
        raise TokenRefused("issued in the future")


def _numeric(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused(f"invalid claim {name}")
    return float(value)


def _check_nonce(claims: dict[str, Any], nonce: str) -> None:
    got = claims.get("nonce")
    if got is None:
        raise TokenRefused("missing nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise TokenRefused("nonce mismatch")


def httpx_fetcher(
    verify: ssl.SSLContext | bool = True, *, timeout: float = 10.0, trust_env: bool = True
) -> Fetch:
    """A ``fetch`` for ``Jwks``: an httpx GET with a timeout and no redirects, returning the
    JSON object answered. ``verify`` is an SSLContext for a private CA (httpx 0.28 deprecates
    a CA path); ``trust_env=False`` ignores proxy and CA environment variables."""

    def fetch(url: str) -> dict[str, Any]:
        response = httpx.get(url, verify=verify, timeout=timeout, trust_env=trust_env)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} answered JSON that is not an object")
        return document

    return fetch
