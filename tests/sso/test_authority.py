"""The fake authority (tests/support/authority.py) speaks the protocols real clients expect:
msal for client credentials and the auth-code flow with PKCE, httpx for Graph paging."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msal
import pytest

from tests.support.authority import (
    GRAPH_AUDIENCE,
    FakeAuthority,
    httpx_verify,
    msal_http_client,
)

REDIRECT_URI = "https://scimd.test/sso/callback"
GRAPH_SCOPE = [f"{GRAPH_AUDIENCE}/.default"]


def confidential_client(authority: FakeAuthority, secret: str | None = None) -> Any:
    return msal.ConfidentialClientApplication(
        authority.client_id,
        client_credential=secret or authority.client_secret,
        authority=authority.authority,
        instance_discovery=False,  # else msal asks login.microsoftonline.com first
        http_client=msal_http_client(authority.ca_path),
    )


@pytest.fixture
def http(authority: FakeAuthority) -> Iterator[httpx.Client]:
    with httpx.Client(verify=httpx_verify(authority.ca_path), trust_env=False) as client:
        yield client


def graph_token(authority: FakeAuthority) -> str:
    token: str = confidential_client(authority).acquire_token_for_client(GRAPH_SCOPE)[
        "access_token"
    ]
    return token


def users(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"id-{n:03}",
            "displayName": f"User {n}",
            "mail": f"user{n}@example.test",
            "userPrincipalName": f"user{n}@example.onmicrosoft.test",
            "otherMails": [f"user{n}@home.test"],
        }
        for n in range(count)
    ]


def fetch_all_users(
    http: httpx.Client, url: str, token: str, *, max_retries: int = 3
) -> tuple[list[dict[str, Any]], int]:
    """Follows @odata.nextLink; sleeps Retry-After on 429. Returns the users and the 429 count."""
    found: list[dict[str, Any]] = []
    throttled = 0
    next_url: str | None = url
    while next_url:
        response = http.get(next_url, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 429:
            throttled += 1
            assert throttled <= max_retries
            time.sleep(float(response.headers["Retry-After"]))
            continue
        response.raise_for_status()
        body = response.json()
        found.extend(body["value"])
        next_url = body.get("@odata.nextLink")
    return found, throttled


# Discovery and keys


@pytest.mark.parametrize(
    "path", ["/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"]
)
def test_discovery_is_served_for_authority_and_oidc_authority(
    authority: FakeAuthority, http: httpx.Client, path: str
) -> None:
    document = http.get(f"{authority.authority}{path}").json()

    assert document["issuer"] == authority.issuer == f"{authority.base_url}/test-tenant/v2.0"
    assert document["jwks_uri"] == authority.jwks_uri
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["token_endpoint"].startswith("https://127.0.0.1:")


def test_rotate_key_publishes_the_new_key_beside_the_old(
    authority: FakeAuthority, http: httpx.Client
) -> None:
    old = authority.signing_key
    new = authority.rotate_key()

    kids = [key["kid"] for key in http.get(authority.jwks_uri).json()["keys"]]
    assert kids == [old.kid, new.kid]
    assert authority.rotate_key(drop_old=True).kid == authority.signing_key.kid
    assert [key["kid"] for key in http.get(authority.jwks_uri).json()["keys"]] == [
        authority.signing_key.kid
    ]


def test_reset_restores_keys_and_knobs(authority: FakeAuthority) -> None:
    first = authority.signing_key
    authority.rotate_key(drop_old=True)
    authority.throttle_every, authority.id_token_tweaks = 2, {"alg": "none"}
    authority.graph_users = users(3)
    authority.hits["graph"] += 5

    authority.reset()

    assert authority.keys == [first]
    assert (authority.throttle_every, authority.id_token_tweaks, authority.graph_users) == (
        None,
        {},
        [],
    )
    assert authority.graph_requests == 0


def test_make_id_token_refuses_unknown_tweaks(authority: FakeAuthority) -> None:
    with pytest.raises(TypeError, match="unknown id_token tweaks"):
        authority.make_id_token(algorithm="none")


# msal: client credentials


def test_client_credentials_token_for_graph_then_from_cache(authority: FakeAuthority) -> None:
    app = confidential_client(authority)

    first = app.acquire_token_for_client(GRAPH_SCOPE)
    second = app.acquire_token_for_client(GRAPH_SCOPE)

    assert first["token_source"] == "identity_provider", first
    assert second["token_source"] == "cache"
    assert authority.hits["token"] == 1


def test_wrong_client_secret_comes_back_as_invalid_client(authority: FakeAuthority) -> None:
    result = confidential_client(authority, secret="wrong").acquire_token_for_client(GRAPH_SCOPE)

    assert result["error"] == "invalid_client"  # a dict, not an exception


def test_client_secret_basic_is_accepted(authority: FakeAuthority, http: httpx.Client) -> None:
    form = {"grant_type": "client_credentials", "scope": GRAPH_SCOPE[0]}

    good = http.post(authority.token_endpoint, data=form, auth=(authority.client_id, "test-secret"))
    bad = http.post(authority.token_endpoint, data=form, auth=(authority.client_id, "nope"))

    assert good.status_code == 200 and "access_token" in good.json()
    assert bad.status_code == 401


# msal: auth-code flow with PKCE


def test_auth_code_flow_with_pkce_signs_in_next_sign_in(authority: FakeAuthority) -> None:
    authority.next_sign_in = {**authority.next_sign_in, "name": "Bob", "oid": "bob-oid"}
    app = confidential_client(authority)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    sent = parse_qs(urlsplit(flow["auth_uri"]).query)

    result = app.acquire_token_by_auth_code_flow(flow, authority.sign_in(flow["auth_uri"]))

    assert "error" not in result, result
    assert sent["code_challenge_method"] == ["S256"]
    claims = result["id_token_claims"]
    assert (claims["oid"], claims["name"], claims["aud"]) == ("bob-oid", "Bob", authority.client_id)
    assert claims["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest() == sent["nonce"][0]
    assert [account["username"] for account in app.get_accounts()] == ["alice@example.test"]


def test_query_response_mode_redirects_with_the_code(authority: FakeAuthority) -> None:
    app = confidential_client(authority)
    with pytest.warns(UserWarning, match="form_post"):  # msal 1.39 warns unless form_post
        flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT_URI)

    response = authority.sign_in(flow["auth_uri"])

    assert set(response) == {"code", "state"}
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, response)


def test_tampered_state_raises_value_error(authority: FakeAuthority) -> None:
    app = confidential_client(authority)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    response = {**authority.sign_in(flow["auth_uri"]), "state": "forged"}

    with pytest.raises(ValueError, match="state mismatch"):
        app.acquire_token_by_auth_code_flow(flow, response)


def test_nonce_not_echoed_makes_msal_raise(authority: FakeAuthority) -> None:
    authority.id_token_tweaks = {"claims": {"nonce": "not-what-msal-sent"}}
    app = confidential_client(authority)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )

    with pytest.raises(RuntimeError):
        app.acquire_token_by_auth_code_flow(flow, authority.sign_in(flow["auth_uri"]))


def test_msal_returns_id_tokens_it_did_not_verify(authority: FakeAuthority) -> None:
    # Why sso/tokens.py exists: msal 1.39 only decodes the id_token.
    authority.id_token_tweaks = {"claims": {"iss": "https://evil.example", "exp": 1}, "alg": "none"}
    app = confidential_client(authority)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )

    result = app.acquire_token_by_auth_code_flow(flow, authority.sign_in(flow["auth_uri"]))

    assert result["id_token_claims"]["iss"] == "https://evil.example"


def test_authorize_error_comes_back_as_an_error_dict(authority: FakeAuthority) -> None:
    authority.authorize_error = "access_denied"
    app = confidential_client(authority)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )

    result = app.acquire_token_by_auth_code_flow(flow, authority.sign_in(flow["auth_uri"]))

    assert result["error"] == "access_denied"


def redeem(http: httpx.Client, authority: FakeAuthority, code: str, **form: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": authority.client_id,
        "client_secret": authority.client_secret,
        "code": code,
        "redirect_uri": REDIRECT_URI,
        **form,
    }
    return http.post(authority.token_endpoint, data=data)


def authorize(authority: FakeAuthority, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = httpx.QueryParams(
        client_id=authority.client_id,
        response_type="code",
        redirect_uri=REDIRECT_URI,
        scope="openid",
        state="s",
        code_challenge=challenge.decode(),
        code_challenge_method="S256",
    )
    return authority.sign_in(f"{authority.authority}/oauth2/v2.0/authorize?{query}")["code"]


def test_code_is_single_use(authority: FakeAuthority, http: httpx.Client) -> None:
    code = authorize(authority, "v" * 43)

    assert redeem(http, authority, code, code_verifier="v" * 43).status_code == 200
    replay = redeem(http, authority, code, code_verifier="v" * 43)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    "form",
    [{"code_verifier": "w" * 43}, {"code_verifier": ""}, {"redirect_uri": "https://evil.test/cb"}],
)
def test_code_redeemed_with_wrong_verifier_or_redirect_is_refused(
    authority: FakeAuthority, http: httpx.Client, form: dict[str, str]
) -> None:
    code = authorize(authority, "v" * 43)

    response = redeem(http, authority, code, **{"code_verifier": "v" * 43, **form})

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_authorize_without_pkce_redirects_with_invalid_request(authority: FakeAuthority) -> None:
    query = httpx.QueryParams(
        client_id=authority.client_id, response_type="code", redirect_uri=REDIRECT_URI, state="s"
    )

    response = authority.sign_in(f"{authority.authority}/oauth2/v2.0/authorize?{query}")

    assert response == {
        "error": "invalid_request",
        "error_description": response["error_description"],
        "state": "s",
    }


# Graph


def test_graph_users_page_through_next_link_with_select(
    authority: FakeAuthority, http: httpx.Client
) -> None:
    authority.graph_users = users(25)
    url = f"{authority.graph_url}/v1.0/users?$select=mail,otherMails&$top=10"

    found, throttled = fetch_all_users(http, url, graph_token(authority))

    assert [user["id"] for user in found] == [user["id"] for user in authority.graph_users]
    assert found[7] == {
        "id": "id-007",
        "mail": "user7@example.test",
        "otherMails": ["user7@home.test"],
    }
    assert (authority.graph_requests, throttled) == (3, 0)


def test_graph_next_link_is_absolute_and_keeps_select_and_top(
    authority: FakeAuthority, http: httpx.Client
) -> None:
    authority.graph_users = users(3)
    headers = {"Authorization": f"Bearer {graph_token(authority)}"}

    body = http.get(
        f"{authority.graph_url}/v1.0/users",
        params={"$top": "2", "$select": "mail"},
        headers=headers,
    ).json()

    link = urlsplit(body["@odata.nextLink"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{authority.graph_url}/v1.0/users"
    assert {
        name: values for name, values in parse_qs(link.query).items() if name != "$skiptoken"
    } == {
        "$top": ["2"],
        "$select": ["mail"],
    }
    assert "$skiptoken" in parse_qs(link.query)
    last = http.get(body["@odata.nextLink"], headers=headers).json()
    assert [user["id"] for user in last["value"]] == ["id-002"] and "@odata.nextLink" not in last


def test_graph_without_select_returns_the_default_fields_only(
    authority: FakeAuthority, http: httpx.Client
) -> None:
    authority.graph_users = users(1)

    found, _ = fetch_all_users(http, f"{authority.graph_url}/v1.0/users", graph_token(authority))

    assert "otherMails" not in found[0]  # like Graph: ask for it with $select
    assert found[0]["mail"] == "user0@example.test" and found[0]["jobTitle"] is None


def test_graph_top_defaults_to_100(authority: FakeAuthority, http: httpx.Client) -> None:
    authority.graph_users = users(150)
    headers = {"Authorization": f"Bearer {graph_token(authority)}"}

    body = http.get(f"{authority.graph_url}/v1.0/users", headers=headers).json()

    assert len(body["value"]) == 100 and "@odata.nextLink" in body


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "0"},
        {"$top": "1000"},
        {"$top": "ten"},
        {"$skiptoken": "!!"},
        {"$filter": "mail eq 'a'"},
    ],
)
def test_graph_refuses_bad_or_unsupported_query_options(
    authority: FakeAuthority, http: httpx.Client, params: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {graph_token(authority)}"}

    response = http.get(f"{authority.graph_url}/v1.0/users", params=params, headers=headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"].startswith("Request_")


def test_graph_accepts_top_999(authority: FakeAuthority, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {graph_token(authority)}"}

    response = http.get(
        f"{authority.graph_url}/v1.0/users", params={"$top": "999"}, headers=headers
    )

    assert response.status_code == 200


def test_graph_requires_an_access_token_this_authority_issued(
    authority: FakeAuthority, http: httpx.Client
) -> None:
    url = f"{authority.graph_url}/v1.0/users"
    id_token = authority.make_id_token()  # signed by the authority, but not for Graph
    forged = authority.make_id_token({"aud": GRAPH_AUDIENCE}, unknown_key=True)

    for headers in [
        {},
        {"Authorization": "Bearer junk"},
        {"Authorization": f"Bearer {id_token}"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Basic {graph_token(authority)}"},
    ]:
        response = http.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_graph_answers_429_every_nth_request(authority: FakeAuthority, http: httpx.Client) -> None:
    authority.graph_users = users(25)
    authority.throttle_every, authority.retry_after = 2, 0
    url = f"{authority.graph_url}/v1.0/users?$top=10"

    found, throttled = fetch_all_users(http, url, graph_token(authority))

    assert len(found) == 25
    assert (authority.graph_requests, throttled) == (5, 2)  # requests 2 and 4 were refused


def test_graph_429_carries_retry_after(authority: FakeAuthority, http: httpx.Client) -> None:
    authority.throttle_every = 1
    headers = {"Authorization": f"Bearer {graph_token(authority)}"}

    response = http.get(f"{authority.graph_url}/v1.0/users", headers=headers)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "TooManyRequests"
