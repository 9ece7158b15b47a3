"""Talking to identity providers: msal for logins and tokens, Microsoft Graph for users.

msal does the OAuth 2.0 flows (authorization code with PKCE for an admin's
or a user's login, client credentials for app-only runs) for Azure AD and,
through ``oidc_authority``, for any OpenID Connect provider. Graph's
``/v1.0/users`` is read page by page (``@odata.nextLink``), waiting out
429 answers for as long as ``Retry-After`` says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import msal
import requests

from directory.errors import ProviderFailed
from sso.providers import Provider

GRAPH_SELECT = "id,displayName,mail,userPrincipalName,otherMails"
GRAPH_PAGE = 999
MAX_THROTTLED = 10  # 429s in a row before giving up
DELEGATED_GRAPH_SCOPES = ["User.Read.All"]


ProviderError = ProviderFailed


def client_app(provider: Provider, http: requests.Session) -> msal.ConfidentialClientApplication:
    """An msal client of ``provider``; ``http`` carries the TLS trust to use."""
    if provider.client_secret is None:
        raise ProviderError(f"the provider {provider.name!r} has no client secret configured")
    where = (
        {"authority": provider.authority}
        if provider.kind == "azure_ad"
        else {"oidc_authority": provider.authority}
    )
    try:
        return msal.ConfidentialClientApplication(
            provider.client_id,
            client_credential=provider.client_secret,
            instance_discovery=False,  # the authority is configured: nothing to look up
            http_client=http,
            **where,
        )
    except (ValueError, requests.RequestException) as exc:
        raise ProviderError(f"cannot reach {provider.name!r}: {exc}") from None


def app_token(app: msal.ConfidentialClientApplication, provider: Provider) -> str:
    """An app-only Graph token (client credentials)."""
    try:
        result = app.acquire_token_for_client(scopes=[f"{provider.graph_url}/.default"])
    except requests.RequestException as exc:
        raise ProviderError(f"cannot reach {provider.name!r}: {exc}") from None
    if "access_token" not in result:
        raise ProviderError(
            f"{provider.name!r} refused the app's credentials: "
            f"{result.get('error')}: {result.get('error_description', '')}".strip()
        )
    return str(result["access_token"])


def graph_users(
    provider: Provider,
    token: str,
    http: httpx.Client,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Every user of the directory, following ``@odata.nextLink`` to the end."""
    url: str | None = f"{provider.graph_url}/v1.0/users?$select={GRAPH_SELECT}&$top={GRAPH_PAGE}"
    headers = {"Authorization": f"Bearer {token}"}
    users: list[dict[str, Any]] = []
    throttled = 0
    while url is not None:
        try:
            response = http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(f"cannot reach Microsoft Graph: {exc}") from None
        if response.status_code == 429 and throttled < MAX_THROTTLED:
            throttled += 1
            sleep(_retry_after(response))
            continue
        if response.status_code != 200:
            raise ProviderError(
                f"Microsoft Graph answered {response.status_code}: {response.text[:200]}"
            )
        throttled = 0
        page = response.json()
        users += [user for user in page.get("value", []) if isinstance(user, dict)]
        url = page.get("@odata.nextLink")
    return users


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), 60.0)
    except ValueError:
        return 1.0
