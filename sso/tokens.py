"""ID-token verification for federated sign-in (OpenID Connect Core 1.0 §3.1.3.7), and the
provider's signing keys (RFC 7517 JWK Set), cached.

msal does not verify id_tokens (since 1.38 it only decodes their claims), so sign-in does it
here. The module does no I/O of its own: ``Jwks`` calls the ``fetch`` it is given, and
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

from directory.errors import InvalidCredentials

__all__ = ["Fetch", "IdTokenRefused", "Jwks", "httpx_fetcher", "verify_id_token"]

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
_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
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


class IdTokenRefused(InvalidCredentials):
    """Raised when an id_token fails a check; ``detail`` says which one, for the audit log."""


class Jwks:
    """The provider's signing keys, fetched from ``jwks_uri`` and cached.

    The cache is refetched once it is ``max_age_seconds`` old, and when a token names a kid it
    does not hold (the provider rotated its keys) — but at most once per
    ``min_refresh_seconds``, so a flood of bogus kids cannot hammer the provider. A failed
    fetch counts as an attempt too; the keys already held stay in use until the next one.
    """

    def __init__(
        self,
        jwks_uri: str,
        fetch: Fetch,
        *,
        max_age_seconds: float = 3600,
        min_refresh_seconds: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_uri = jwks_uri
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
        """The JWK named ``kid``; IdTokenRefused("unknown signing key") if still unknown after
        a refresh (or when a refresh is not yet allowed)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._max_age
            may_fetch = self._attempted_at is None or now - self._attempted_at >= self._min_refresh
            if (stale or kid not in self._keys) and may_fetch:
                self._refresh(now)
            found = self._keys.get(kid)
            if found is None and not self._keys and self._last_error is not None:
                raise IdTokenRefused(f"signing keys unavailable ({self._last_error})")
        if found is None:
            raise IdTokenRefused("unknown signing key")
        return found

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = _signing_keys(self._fetch(self.jwks_uri))
        except Exception as exc:  # fetch is the caller's: whatever it raises means no keys now
            self._last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("fetching %s failed: %s", self.jwks_uri, self._last_error)
            return
        self._keys, self._fetched_at, self._last_error = keys, now, None


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
    if not algorithms or not set(algorithms) <= _KEY_TYPES.keys():
        raise ValueError(f"algorithms must be among {sorted(_KEY_TYPES)}, not {list(algorithms)}")
    header = _unverified_header(token)
    # Before any key is looked up: "none" and HS256 (keyed with the public key) end here.
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise IdTokenRefused("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise IdTokenRefused("missing key id")
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
        raise IdTokenRefused(_claims_reason(token, issuer, audience)) from exc
    except JOSEError as exc:
        reason = "bad signature" if _JOSE_BAD_SIGNATURE in str(exc) else "malformed"
        raise IdTokenRefused(reason) from exc
    if not isinstance(claims, dict):
        raise IdTokenRefused("malformed")
    _check_claims(claims, audience, leeway_seconds, now())
    if nonce is not None:
        _check_nonce(claims, nonce)
    return claims


def _unverified_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise IdTokenRefused("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise IdTokenRefused("malformed") from exc
    if not isinstance(header, dict):
        raise IdTokenRefused("malformed")
    return header


def _verification_key(key: dict[str, Any], alg: str) -> Any:
    """The jose key for ``alg`` built from the JWK, which must be of the type ``alg`` needs."""
    if key.get("kty") != _KEY_TYPES[alg] or key.get("alg", alg) != alg:
        raise IdTokenRefused("signing key does not fit the algorithm")
    try:
        return jwk.construct(key, alg)
    except JOSEError as exc:
        raise IdTokenRefused("unusable signing key") from exc


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


def _check_claims(claims: dict[str, Any], audience: str, leeway: int, current: float) -> None:
    for name in _REQUIRED_CLAIMS:
        if name not in claims:
            raise IdTokenRefused(f"missing claim {name}")
    exp, iat = _numeric(claims, "exp"), _numeric(claims, "iat")
    # RFC 7519 §4.1.4: not accepted on or after exp.
    if current >= exp + leeway:
        raise IdTokenRefused("expired")
    if "nbf" in claims and current + leeway < _numeric(claims, "nbf"):
        raise IdTokenRefused("not yet valid")
    if current + leeway < iat:
        raise IdTokenRefused("issued in the future")
    # OIDC Core §3.1.3.7 (4, 5): several audiences need azp, and azp must be this client.
    aud = claims["aud"]
    if (isinstance(aud, list) and len(aud) > 1) or "azp" in claims:
        if claims.get("azp") != audience:
            raise IdTokenRefused("wrong authorized party")


def _numeric(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdTokenRefused(f"invalid claim {name}")
    return float(value)


def _check_nonce(claims: dict[str, Any], nonce: str) -> None:
    got = claims.get("nonce")
    if got is None:
        raise IdTokenRefused("missing nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise IdTokenRefused("nonce mismatch")


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
