"""A fake Microsoft identity platform (Azure AD v2) and Microsoft Graph, for tests.

It speaks the real protocols over a real TLS socket on 127.0.0.1 (a trustme CA), so msal,
httpx and ``sso/`` run against it unchanged (RECIPES.md §3 says what msal needs):

- OpenID Connect discovery, the JWK Set, ``/authorize`` (signs ``next_sign_in`` in at once:
  there is no login page) and ``/token`` (authorization_code with PKCE S256, one-time codes;
  client_credentials; client_secret_post or client_secret_basic);
- Graph ``GET /graph/v1.0/users`` with ``$select``, ``$top``, ``$skiptoken`` paging, bearer
  tokens it issued, and 429 throttling.

Tests steer it through plain attributes (the knobs), which ``reset()`` restores. Tokens are
built and signed here with ``cryptography`` alone, so ``sso/tokens.py`` (python-jose) is not
tested against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import requests
import trustme
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPH_AUDIENCE = "https://graph.microsoft.com"
# What Graph returns for a user when $select is not given: no otherMails among them.
GRAPH_DEFAULT_USER_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
GRAPH_MAX_TOP = 999
TOKEN_LIFETIME = 3600
CODE_LIFETIME = 600
START_TIMEOUT = 10.0
DEFAULT_SIGN_IN: dict[str, Any] = {
    "oid": "00000000-0000-0000-0000-00000000a11c",
    "sub": "alice-pairwise-subject",
    "email": "alice@example.test",
    "preferred_username": "alice@example.test",
    "name": "Alice Example",
}
ID_TOKEN_TWEAKS = frozenset({"claims", "remove", "alg", "kid", "unknown_key", "tamper"})
"""What ``id_token_tweaks`` and ``make_id_token(**tweaks)`` understand:

- ``claims``: claims to add or override (``make_id_token`` takes them as its first argument);
- ``remove``: names of claims to leave out (e.g. ``["nonce"]``, ``["exp"]``);
- ``alg``: ``"RS256"`` (default), ``"none"`` (unsigned) or ``"HS256"`` (HMAC keyed with the
  signing key's public PEM: algorithm confusion);
- ``kid``: the header's kid (``None`` leaves it out);
- ``unknown_key``: sign with a key the JWK Set does not publish;
- ``tamper``: change the payload after signing (a bad signature).
"""
API_AUDIENCE = "api://scimd"
"""The audience of ``make_api_token``'s tokens."""
API_TOKEN_TWEAKS = frozenset({"remove", "alg", "kid", "unknown_key", "tamper", "typ"})
"""What ``make_api_token(**tweaks)`` understands: as ID_TOKEN_TWEAKS, except that ``tamper`` is
the claims to change after signing (e.g. ``{"scimd_tenant": "other"}``), and ``typ`` sets the
header's typ (default ``"at+jwt"``; None leaves it out).
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with its kid; ``jwk()`` is what the JWK Set publishes."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, prefix: str = "key") -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(f"{prefix}-{secrets.token_hex(4)}", key)

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()

        def b64int(value: int) -> str:
            return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": b64int(numbers.n),
            "e": b64int(numbers.e),
        }

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verifies(self, data: bytes, signature: bytes) -> bool:
        try:
            self.private_key.public_key().verify(
                signature, data, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True


@dataclass
class _Grant:
    """What /authorize bound to a code, for /token to check."""

    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    claims: dict[str, Any]
    expires_at: float


@dataclass
class FakeAuthority:
    """The identity provider and Graph behind ``base_url``; see the module docstring."""

    base_url: str
    ca_path: str
    tenant: str = "test-tenant"
    client_id: str = "test-client"
    client_secret: str = "test-secret"
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    """Published in the JWK Set; the last one signs."""

    # Knobs, restored by reset().
    graph_users: list[dict[str, Any]] = field(default_factory=list)
    throttle_every: int | None = None
    """Every Nth Graph request received (N, 2N, ...) answers 429 with Retry-After."""
    retry_after: int = 1
    next_sign_in: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SIGN_IN))
    id_token_tweaks: dict[str, Any] = field(default_factory=dict)
    """Applied to every id_token issued until reset; keys as in ID_TOKEN_TWEAKS."""
    authorize_error: str | None = None
    """When set, /authorize answers with this OAuth error (e.g. "access_denied")."""

    hits: Counter[str] = field(default_factory=Counter)
    """Requests received per endpoint: discovery, jwks, authorize, token, graph."""

    def __post_init__(self) -> None:
        self._first_key = self.keys[0]
        self._stranger = SigningKey.generate("unpublished")
        self._grants: dict[str, _Grant] = {}
        p = f"/{self.tenant}"
        self.app = Starlette(
            middleware=[Middleware(_CloseConnections)],
            routes=[
                Route(f"{p}/v2.0/.well-known/openid-configuration", self._discovery),  # authority=
                Route(f"{p}/.well-known/openid-configuration", self._discovery),  # oidc_authority=
                Route(f"{p}/discovery/v2.0/keys", self._jwks),
                Route(f"{p}/oauth2/v2.0/authorize", self._authorize),
                Route(f"{p}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route("/graph/v1.0/users", self._graph_users),
            ],
        )

    @property
    def authority(self) -> str:
        """For msal's ``authority=`` (with ``instance_discovery=False``)."""
        return f"{self.base_url}/{self.tenant}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/{self.tenant}/v2.0"

    @property
    def jwks_uri(self) -> str:
        return f"{self.base_url}/{self.tenant}/discovery/v2.0/keys"

    @property
    def token_endpoint(self) -> str:
        return f"{self.base_url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def graph_url(self) -> str:
        """Graph's root: users are at ``{graph_url}/v1.0/users``."""
        return f"{self.base_url}/graph"

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[-1]

    @property
    def graph_requests(self) -> int:
        return self.hits["graph"]

    def reset(self) -> None:
        """Every knob, the keys, the codes and the counters back to how they started."""
        self.keys = [self._first_key]
        self.graph_users = []
        self.throttle_every = None
        self.retry_after = 1
        self.next_sign_in = dict(DEFAULT_SIGN_IN)
        self.id_token_tweaks = {}
        self.authorize_error = None
        self.hits.clear()
        self._grants.clear()

    def rotate_key(self, *, drop_old: bool = False) -> SigningKey:
        """Publish a new key (new kid) and sign with it from now on."""
        key = SigningKey.generate()
        self.keys = [key] if drop_old else [*self.keys, key]
        return key

    # Tokens

    def make_id_token(self, claims: Mapping[str, Any] | None = None, **tweaks: Any) -> str:
        """An id_token for ``next_sign_in`` as /token would issue it, ``claims`` added or
        overriding, then ``tweaks`` (see ID_TOKEN_TWEAKS) applied."""
        unknown = set(tweaks) - (ID_TOKEN_TWEAKS - {"claims"})
        if unknown:
            raise TypeError(f"unknown id_token tweaks: {sorted(unknown)}")
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "tid": self.tenant,
            "ver": "2.0",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            **self.next_sign_in,
            **(claims or {}),
        }
        tampered = {"oid": "someone-else"} if tweaks.get("tamper") else None
        return self._signed("JWT", body, tweaks, tampered)

    def make_api_token(self, claims: Mapping[str, Any] | None = None, **tweaks: Any) -> str:
        """An RFC 9068 access token for an API of ``API_AUDIENCE`` (scimd), for the client
        ``client_id`` with scope ``scim``: ``claims`` added or overriding, then ``tweaks``
        applied (see API_TOKEN_TWEAKS)."""
        unknown = set(tweaks) - API_TOKEN_TWEAKS
        if unknown:
            raise TypeError(f"unknown access token tweaks: {sorted(unknown)}")
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": API_AUDIENCE,
            "sub": self.client_id,
            "client_id": self.client_id,
            "jti": secrets.token_hex(8),
            "scope": "scim",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            **(claims or {}),
        }
        return self._signed(tweaks.get("typ", "at+jwt"), body, tweaks, tweaks.get("tamper"))

    def _signed(
        self,
        typ: str | None,
        body: dict[str, Any],
        tweaks: Mapping[str, Any],
        tampered: Mapping[str, Any] | None,
    ) -> str:
        """``body`` signed as ``tweaks`` say (remove, alg, kid, unknown_key), then changed by
        ``tampered`` if given (a bad signature)."""
        for name in tweaks.get("remove", ()):
            body.pop(name, None)
        alg = tweaks.get("alg", "RS256")
        key = self._stranger if tweaks.get("unknown_key") else self.signing_key
        header: dict[str, Any] = {"typ": typ, "alg": alg, "kid": key.kid}
        if typ is None:
            del header["typ"]
        if "kid" in tweaks:
            header["kid"] = tweaks["kid"]
            if tweaks["kid"] is None:
                del header["kid"]
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
        if alg == "RS256":
            signature = key.sign(signing_input.encode())
        elif alg == "HS256":
            secret = key.public_pem.encode()
            signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        elif alg == "none":
            signature = b""
        else:
            raise ValueError(f"tokens are signed RS256, HS256 or none here, not {alg!r}")
        if tampered is not None:
            body.update(tampered)
            signing_input = f"{signing_input.split('.')[0]}.{_b64(json.dumps(body).encode())}"
        return f"{signing_input}.{_b64(signature)}"

    def make_access_token(self, subject: str, **claims: Any) -> str:
        """An RS256 access token for Graph, as /token issues them."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": GRAPH_AUDIENCE,
            "sub": subject,
            "tid": self.tenant,
            "appid": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            **claims,
        }
        header = {"typ": "JWT", "alg": "RS256", "kid": self.signing_key.kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
        return f"{signing_input}.{_b64(self.signing_key.sign(signing_input.encode()))}"

    def _bearer_is_valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        try:
            header_part, body_part, signature_part = token.split(".")
            header, body = json.loads(_unb64(header_part)), json.loads(_unb64(body_part))
            signature = _unb64(signature_part)
        except ValueError:
            return False
        keys = [key for key in self.keys if key.kid == header.get("kid")]
        return (
            scheme.lower() == "bearer"
            and header.get("alg") == "RS256"
            and bool(keys)
            and keys[0].verifies(f"{header_part}.{body_part}".encode(), signature)
            and body.get("aud") == GRAPH_AUDIENCE
            and body.get("exp", 0) > time.time()
        )

    # Browser side

    def sign_in(self, auth_uri: str) -> dict[str, str]:
        """Visit ``auth_uri`` as a browser would and return the auth response it would carry
        back to redirect_uri (from the redirect's query or fragment, or the form_post form)."""
        with httpx.Client(verify=httpx_verify(self.ca_path), trust_env=False) as client:
            response = client.get(auth_uri)
        if response.is_redirect:
            location = urlsplit(response.headers["location"])
            return dict(parse_qsl(location.query or location.fragment))
        if response.status_code == 200 and "<form" in response.text:
            form = _FormReader()
            form.feed(response.text)
            return form.fields
        raise AssertionError(f"authorize answered {response.status_code}: {response.text}")

    # Endpoints

    async def _discovery(self, request: Request) -> Response:
        self.hits["discovery"] += 1
        endpoints = f"{self.base_url}/{self.tenant}/oauth2/v2.0"
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{endpoints}/authorize",
                "token_endpoint": f"{endpoints}/token",
                "jwks_uri": self.jwks_uri,
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        self.hits["jwks"] += 1
        return JSONResponse({"keys": [key.jwk() for key in self.keys]})

    async def _authorize(self, request: Request) -> Response:
        self.hits["authorize"] += 1
        query = request.query_params
        redirect_uri = query.get("redirect_uri")
        # Like Azure AD: an unknown client or no redirect_uri gets an error page, never a
        # redirect to an address nobody registered.
        if query.get("client_id") != self.client_id or not redirect_uri:
            return PlainTextResponse("AADSTS700016: unknown client_id or no redirect_uri", 400)
        mode = query.get("response_mode", "query")
        if mode not in ("query", "fragment", "form_post"):
            return PlainTextResponse(f"unsupported response_mode {mode!r}", 400)
        state = {"state": query["state"]} if "state" in query else {}
        if self.authorize_error:
            reply = {"error": self.authorize_error, "error_description": "refused by the test"}
        elif query.get("response_type") != "code":
            reply = {"error": "unsupported_response_type", "error_description": "only code"}
        elif not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            reply = {"error": "invalid_request", "error_description": "PKCE with S256 required"}
        else:
            code = secrets.token_urlsafe(24)
            self._grants[code] = _Grant(
                redirect_uri=redirect_uri,
                code_challenge=query["code_challenge"],
                nonce=query.get("nonce"),
                scope=query.get("scope", ""),
                claims=dict(self.next_sign_in),
                expires_at=time.time() + CODE_LIFETIME,
            )
            reply = {"code": code}
        return _auth_response(redirect_uri, mode, {**reply, **state})

    async def _token(self, request: Request) -> Response:
        self.hits["token"] += 1
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                client_id = secret = None
        if client_id != self.client_id or not hmac.compare_digest(
            (secret or "").encode(), self.client_secret.encode()
        ):
            return _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            if not form.get("scope", "").endswith("/.default"):
                return _oauth_error(400, "invalid_scope", "AADSTS1002012: scope must be /.default")
            access_token = self.make_access_token(self.client_id, roles=["User.Read.All"])
            return JSONResponse(
                {
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME,
                    "ext_expires_in": TOKEN_LIFETIME,
                    "access_token": access_token,
                }
            )
        if grant_type != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", f"{grant_type!r}")
        grant = self._grants.pop(form.get("code", ""), None)  # a code is spent even if refused
        if grant is None or grant.expires_at < time.time():
            return _oauth_error(400, "invalid_grant", "AADSTS70008: code expired or redeemed")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", "AADSTS50148: redirect_uri differs")
        verifier = form.get("code_verifier")
        if not verifier or not hmac.compare_digest(_s256(verifier), grant.code_challenge):
            return _oauth_error(400, "invalid_grant", "AADSTS501481: code_verifier mismatch")
        tweaks = dict(self.id_token_tweaks)
        # The nonce must echo what /authorize received: msal compares them.
        nonce = {"nonce": grant.nonce} if grant.nonce is not None else {}
        claims = {**grant.claims, **nonce, **tweaks.pop("claims", {})}
        subject = str(grant.claims.get("oid", grant.claims.get("sub", "")))
        return JSONResponse(
            {
                "token_type": "Bearer",
                "scope": grant.scope,
                "expires_in": TOKEN_LIFETIME,
                "ext_expires_in": TOKEN_LIFETIME,
                "access_token": self.make_access_token(subject, scp="User.Read"),
                "id_token": self.make_id_token(claims, **tweaks),
            }
        )

    async def _graph_users(self, request: Request) -> Response:
        self.hits["graph"] += 1
        count = self.hits["graph"]
        if not self._bearer_is_valid(request.headers.get("authorization")):
            return _graph_error(401, "InvalidAuthenticationToken", "Access token is invalid.")
        if self.throttle_every and count % self.throttle_every == 0:
            return _graph_error(
                429,
                "TooManyRequests",
                "Too many requests.",
                headers={"Retry-After": str(self.retry_after)},
            )
        query = request.query_params
        unsupported = set(query) - {"$select", "$top", "$skiptoken"}
        if unsupported:  # so code relying on $filter, $count... cannot pass by accident
            return _graph_error(400, "Request_UnsupportedQuery", f"{sorted(unsupported)}")
        top_text = query.get("$top", "100")
        if not top_text.isdigit() or not 1 <= int(top_text) <= GRAPH_MAX_TOP:
            return _graph_error(400, "Request_BadRequest", f"Invalid $top: {top_text!r}")
        top = int(top_text)
        try:
            offset = int(_unb64(query.get("$skiptoken", _b64(b"0"))).decode())
        except ValueError:
            return _graph_error(400, "Request_BadRequest", "Invalid $skiptoken")
        select = [name for name in query.get("$select", "").split(",") if name.strip()]
        fields = [name.strip() for name in select] or list(GRAPH_DEFAULT_USER_FIELDS)
        page = self.graph_users[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_url}/v1.0/$metadata#users",
            "value": [{"id": user["id"], **{f: user.get(f) for f in fields}} for user in page],
        }
        if offset + top < len(self.graph_users):
            params = {"$top": str(top), "$skiptoken": _b64(str(offset + top).encode())}
            if select:
                params["$select"] = ",".join(fields)
            body["@odata.nextLink"] = f"{self.graph_url}/v1.0/users?{urlencode(params, safe='$,')}"
        return JSONResponse(body)


class _CloseConnections:
    """Answers every request with ``Connection: close``. An idle keep-alive TLS connection,
    left in a client's pool, would hold up the server's exit (and leak as a ResourceWarning)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, send_closing if scope["type"] == "http" else send)


def _auth_response(redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
    if mode == "form_post":  # OAuth 2.0 Form Post Response Mode: an auto-submitting form
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        return HTMLResponse(
            f'<html><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{html.escape(redirect_uri)}">{inputs}</form></body></html>'
        )
    separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", 302)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        name = found.get("name")
        if tag == "input" and name:
            self.fields[name] = found.get("value") or ""


# Clients that trust the fake's CA


def msal_http_client(ca_path: str) -> requests.Session:
    """For msal's ``http_client=``: trusts ``ca_path`` whatever REQUESTS_CA_BUNDLE says
    (requests lets that variable override ``Session.verify`` unless trust_env is off)."""
    session = requests.Session()
    session.verify = ca_path
    session.trust_env = False
    return session


def httpx_verify(ca_path: str) -> ssl.SSLContext:
    """For httpx's ``verify=`` (0.28 deprecates passing a CA file path)."""
    return ssl.create_default_context(cafile=ca_path)


@contextmanager
def fake_authority(directory: Path | None = None, **identity: str) -> Iterator[FakeAuthority]:
    """A running FakeAuthority; its CA and certificate files go in ``directory`` (a temporary
    one if None). ``identity`` may set tenant, client_id and client_secret."""
    with ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        ca = trustme.CA()
        ca_path, server_pem = directory / "ca.pem", directory / "server.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        certificate.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
        # Bound here and handed to uvicorn, so no other process can take the port between.
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        fake = FakeAuthority(f"https://127.0.0.1:{sock.getsockname()[1]}", str(ca_path), **identity)
        config = uvicorn.Config(
            fake.app,
            ssl_certfile=str(server_pem),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-authority", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake authority did not start")
            time.sleep(0.02)
        try:
            yield fake
        finally:
            server.should_exit = True
            thread.join(START_TIMEOUT)
