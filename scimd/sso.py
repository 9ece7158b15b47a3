"""SSO over HTTP: federated sign-in (``/sso/{provider}/login`` and ``/callback``) and the link
wizard's provider login and Graph listing, on top of ``sso/``.

Both logins are msal's authorization-code flow with PKCE (the provider posts
the answer back: ``response_mode=form_post``), kept in the store
between the redirect and the callback (``sso.flows``), so any process can
take the callback, once. One callback handler serves both: the stored flow
says what it was for. The wizard's redirect URI is ``/sso/azure/callback``;
a sign-in's is ``/sso/{provider}/callback``. Register both at the provider.
The wizard's callback answers the preview, or, for a login started with a
``return_to`` (the console's), sends the browser there with ``?snapshot=ID``.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import requests
from anyio import to_thread
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from directory import signin, tenants
from directory.audit import Actor
from directory.errors import InvalidCredentials, NotFound
from directory.sealing import Sealer
from directory.units import Units
from scimd.admin.views import validated_document
from scimd.errors import ApiError, api_errors
from scimd.signin import client_address, sign_in_step
from sso import azure, federated, flows, matching, providers, snapshots, tokens, wizard
from sso.providers import Provider

SIGN_IN_SCOPES = {"azure_ad": ["User.Read"], "oidc": ["email"]}
RETURN_PREFIX = "/console/"


def return_path(value: Any) -> str | None:
    """Where the wizard's callback may send the browser: a console path of this server
    (never another site: the callback would otherwise be an open redirect); None if absent."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.startswith(RETURN_PREFIX)
        or len(value) > 200
        or any(mark in value for mark in ("//", "\\", "?", "#", ".."))
        or not value.isprintable()
        or urlsplit(value).netloc
    ):
        raise ApiError(400, "invalid_value", f"returnTo is a path under {RETURN_PREFIX}")
    return value


class ProviderClients:
    """HTTP clients for providers (TLS trust from ``SCIMD_SSO_CA_FILE``), discovery documents
    and signing keys, cached per process."""

    def __init__(self, ca_file: Path | None) -> None:
        self.requests = requests.Session()
        self.verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            self.requests.verify = str(ca_file)
            self.requests.trust_env = False  # or REQUESTS_CA_BUNDLE would override it
            self.verify = ssl.create_default_context(cafile=str(ca_file))
        self.httpx = httpx.Client(verify=self.verify, timeout=30, trust_env=ca_file is None)
        self._fetch = tokens.httpx_fetcher(self.verify, trust_env=ca_file is None)
        self._discovery: dict[str, dict[str, Any]] = {}
        self._jwks: dict[str, tokens.Jwks] = {}

    def discovery(self, provider: Provider) -> dict[str, Any]:
        """The provider's OpenID configuration (issuer, jwks_uri), fetched once."""
        suffix = "/v2.0" if provider.kind == "azure_ad" else ""
        url = f"{provider.authority}{suffix}/.well-known/openid-configuration"
        if url not in self._discovery:
            try:
                self._discovery[url] = self._fetch(url)
            except Exception as exc:  # noqa: BLE001 - any failure is the provider's
                raise azure.ProviderError(f"cannot read {url}: {exc}") from None
        return self._discovery[url]

    def jwks(self, jwks_uri: str) -> tokens.Jwks:
        if jwks_uri not in self._jwks:
            self._jwks[jwks_uri] = tokens.Jwks(jwks_uri, self._fetch)
        return self._jwks[jwks_uri]


class Sso:
    def __init__(
        self,
        units: Units,
        sealer: Sealer,
        clients: ProviderClients,
        public_url: str,
        *,
        shared_logins: bool,
    ) -> None:
        self.units = units
        self.sealer = sealer
        self.clients = clients
        self.public_url = public_url.rstrip("/")
        self.shared_logins = shared_logins

    async def provider(self, tenant_id: int, name: str) -> Provider:
        return await self.units.read(lambda conn: providers.get(conn, tenant_id, name, self.sealer))

    def _redirect_uri(self, provider: str, purpose: str) -> str:
        if purpose == flows.WIZARD:
            return f"{self.public_url}/sso/azure/callback"
        return f"{self.public_url}/sso/{provider}/callback"

    async def start(
        self,
        tenant_id: int,
        name: str,
        purpose: str,
        actor: Actor | None = None,
        return_to: str | None = None,
    ) -> str:
        """Begin a login at the provider; the URL to send the browser to. ``return_to``
        (checked by ``return_path``): where the wizard's callback sends the browser."""
        provider = await self.provider(tenant_id, name)
        if purpose == flows.WIZARD and provider.kind != "azure_ad":
            raise ApiError(400, "invalid_value", "only Azure AD providers list their users")
        scopes = (
            azure.DELEGATED_GRAPH_SCOPES
            if purpose == flows.WIZARD
            else SIGN_IN_SCOPES[provider.kind]
        )

        def initiate() -> dict[str, Any]:
            app = azure.client_app(provider, self.clients.requests)
            try:
                # form_post (RFC 9700 §4.3.1): the code travels in a POST body, not in a
                # URL that logs, proxies and the browser history keep.
                flow: dict[str, Any] = app.initiate_auth_code_flow(
                    scopes,
                    redirect_uri=self._redirect_uri(provider.name, purpose),
                    response_mode="form_post",
                )
            except (ValueError, requests.RequestException) as exc:
                raise azure.ProviderError(f"cannot reach {provider.name!r}: {exc}") from None
            return flow

        flow = await to_thread.run_sync(initiate)
        flow["scimd_actor"] = str(actor) if actor is not None else None
        flow["scimd_return_to"] = return_to
        await self.units.write(
            lambda conn: flows.save(conn, tenant_id, provider.name, purpose, flow)
        )
        return str(flow["auth_uri"])

    async def callback(self, request: Request) -> Response:
        """Where the provider sends the browser back: a sign-in's session, or the wizard's
        list of the directory's users."""
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=20) as form:
                params |= {key: str(value) for key, value in form.items()}
        state = params.get("state")
        tenant_id, name, purpose, flow = await self.units.write(
            lambda conn: flows.take(conn, state)
        )
        if "error" in params:
            raise InvalidCredentials(f"the provider answered {params['error']}")
        provider = await self.provider(tenant_id, name)
        actor_label = flow.pop("scimd_actor", None)
        return_to = flow.pop("scimd_return_to", None)
        result = await to_thread.run_sync(self._redeem, provider, flow, params)
        if purpose == flows.WIZARD:
            actor = Actor(*(actor_label or "admin-token:?").split(":", 1))
            return await self._wizard_list(
                tenant_id, provider, result["access_token"], actor, return_to
            )
        claims = await to_thread.run_sync(self._verify, provider, result, flow)
        client = client_address(request)
        return await sign_in_step(
            self.units,
            lambda conn: self._sign_in(conn, tenant_id, provider, claims, client),
        )

    def _redeem(
        self, provider: Provider, flow: dict[str, Any], params: dict[str, str]
    ) -> dict[str, Any]:
        app = azure.client_app(provider, self.clients.requests)
        try:
            result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, params)
        except (ValueError, RuntimeError) as exc:  # msal: state or nonce mismatch
            raise InvalidCredentials(f"the provider's answer failed msal's checks: {exc}") from None
        except requests.RequestException as exc:
            raise azure.ProviderError(f"cannot reach {provider.name!r}: {exc}") from None
        if "error" in result:
            raise InvalidCredentials(f"the provider refused the code: {result['error']}")
        return result

    def _verify(
        self, provider: Provider, result: dict[str, Any], flow: dict[str, Any]
    ) -> dict[str, Any]:
        """The id_token's claims, checked here (msal does not check its signature)."""
        configuration = self.clients.discovery(provider)
        token = result.get("id_token")
        if not isinstance(token, str):
            raise InvalidCredentials("the provider sent no id_token")
        return tokens.verify_id_token(
            token,
            jwks=self.clients.jwks(configuration["jwks_uri"]),
            issuer=configuration["issuer"],
            audience=provider.client_id,
            nonce=hashlib.sha256(flow["nonce"].encode()).hexdigest(),
        )

    def _sign_in(
        self,
        conn: Connection,
        tenant_id: int,
        provider: Provider,
        claims: dict[str, Any],
        client: str | None,
    ) -> signin.Outcome:
        try:
            user_id = federated.account_for(
                conn,
                tenant_id,
                provider,
                claims,
                client=client,
                check_document=validated_document,
                shared_logins=self.shared_logins,
            )
        except InvalidCredentials as refusal:
            raise signin.PendingFailure(refusal) from None  # its audit event commits
        return signin.federated_session(conn, tenant_id, user_id, provider.name, client)

    async def _wizard_list(
        self,
        tenant_id: int,
        provider: Provider,
        token: str,
        actor: Actor,
        return_to: str | None = None,
    ) -> Response:
        found = await to_thread.run_sync(self._graph, provider, token)

        def work(conn: Connection) -> dict[str, Any]:
            snapshot_id = snapshots.create(conn, tenant_id, provider.name, found, actor)
            return wizard.preview(conn, tenant_id, snapshot_id)

        preview = await self.units.write(work)
        if return_to is not None:
            # 303: the provider posted the answer here; the browser GETs the console page.
            query = urlencode({"snapshot": preview["snapshotId"]})
            return RedirectResponse(f"{return_to}?{query}", status_code=303)
        return JSONResponse(preview, status_code=201)

    def _graph(self, provider: Provider, token: str) -> list[matching.ProviderUser]:
        listed = azure.graph_users(provider, token, self.clients.httpx)
        return [matching.from_graph(user) for user in listed]

    async def app_only_list(self, tenant_id: int, name: str, actor: Actor) -> Response:
        """The wizard without a login: Graph read with the app's own credentials."""
        provider = await self.provider(tenant_id, name)
        if provider.kind != "azure_ad":
            raise ApiError(400, "invalid_value", "only Azure AD providers list their users")

        def token() -> str:
            app = azure.client_app(provider, self.clients.requests)
            return azure.app_token(app, provider)

        return await self._wizard_list(tenant_id, provider, await to_thread.run_sync(token), actor)

    async def login(self, request: Request) -> Response:
        """``GET /sso/{provider}/login?tenant=NAME``: off to the provider."""
        name = request.path_params["provider"]
        tenant_name = request.query_params.get("tenant")
        if not tenant_name:
            raise ApiError(400, "invalid_value", "tenant is required")

        def find(conn: Connection) -> int:
            return tenants.get_tenant(conn, tenant_name).id

        try:
            tenant_id = await self.units.read(find)
            auth_uri = await self.start(tenant_id, name, flows.SIGN_IN)
        except NotFound:
            # The same answer for an unknown tenant and an unknown provider.
            raise ApiError(404, "not_found", "no such provider for this tenant") from None
        return RedirectResponse(auth_uri, status_code=302)

    def routes(self) -> list[Route]:
        return [
            Route("/azure/callback", api_errors(self.callback), methods=["GET", "POST"]),
            Route("/{provider}/login", api_errors(self.login), methods=["GET"]),
            Route("/{provider}/callback", api_errors(self.callback), methods=["GET", "POST"]),
        ]
