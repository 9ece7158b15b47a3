"""JWT access tokens (RFC 9068) as SCIM bearer tokens, signed by the fake authority on loopback
(tests/support/authority.py): its discovery document and keys are fetched over TLS."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from directory import audit
from scimd.app import create_app
from scimd.cli import main
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY, Tenant, make_tenant, scim_client
from tests.scim.helpers import assert_scim_error, user
from tests.support.authority import API_AUDIENCE, FakeAuthority


def jwt_app(engine: Engine, authority: FakeAuthority, **settings: Any) -> Starlette:
    """The app accepting the authority's access tokens, as the conftest's ``app`` otherwise."""
    configured = Settings(
        scim_jwt_issuer=authority.issuer,
        scim_jwt_audience=API_AUDIENCE,
        sso_ca_file=Path(authority.ca_path),
        shared_logins=True,
        secret_key=TEST_SECRET_KEY,
        job_runner=False,
        **settings,
    )
    return create_app(configured, engine=engine)


@pytest.fixture
def app(engine: Engine, authority: FakeAuthority) -> Starlette:
    return jwt_app(engine, authority)


def token_for(authority: FakeAuthority, tenant: Tenant, **claims: Any) -> str:
    return authority.make_api_token({"scimd_tenant": tenant.name, **claims})


def refusal_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.fields["reason"]  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "scimd.scim.auth"
    ]


def test_a_token_acts_in_the_tenant_its_claim_names_and_no_other(
    app: Starlette, engine: Engine, tenant: Tenant, authority: FakeAuthority
) -> None:
    other = make_tenant(engine, "other")
    with scim_client(app, token_for(authority, tenant)) as client:
        created = client.post("/Users", json=user()).json()
        assert client.get(f"/Users/{created['id']}").status_code == 200
        ids = [found["id"] for found in client.get("/Users").json()["Resources"]]
    assert ids == [created["id"]]
    with scim_client(app, tenant.token) as own, scim_client(app, other.token) as theirs:
        assert own.get(f"/Users/{created['id']}").json()["userName"] == created["userName"]
        assert_scim_error(theirs.get(f"/Users/{created['id']}"), 404)
    with engine.connect() as conn:
        (event,) = audit.events(conn, tenant.id, audit.Filter(target=f"user:{created['id']}"))
    assert event.actor == f"jwt:{urlsplit(authority.issuer).netloc}/{authority.client_id}"
    # Discovery, then the keys, once: later requests use the cached keys.
    assert (authority.hits["discovery"], authority.hits["jwks"]) == (1, 1)


def test_read_only_scope_reads_and_searches_but_cannot_write(
    app: Starlette, tenant: Tenant, authority: FakeAuthority
) -> None:
    with scim_client(app, token_for(authority, tenant, scope="openid scim:read")) as client:
        assert client.get("/Users").status_code == 200
        assert client.post("/.search", json={}).status_code == 200
        assert_scim_error(client.post("/Users", json=user()), 403)


@pytest.mark.parametrize("scope", ["openid profile", "admin", "", None])
def test_a_valid_token_without_a_scim_scope_is_403(
    app: Starlette, tenant: Tenant, authority: FakeAuthority, scope: str | None
) -> None:
    token = token_for(authority, tenant, scope=scope)
    with scim_client(app, token) as client:
        assert_scim_error(client.get("/Users"), 403)


def test_the_admin_api_takes_no_jwt_even_with_the_admin_scope(
    app: Starlette, tenant: Tenant, authority: FakeAuthority
) -> None:
    token = token_for(authority, tenant, scope="admin scim")
    with scim_client(app, token) as client:
        response = client.get("http://testserver/admin/v1/users")
    assert response.status_code == 403, response.text


NOW = int(time.time())
REFUSED: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # name: (claims, tweaks, reason logged)
    "alg none": ({}, {"alg": "none"}, "algorithm not allowed"),
    "HS256 keyed with the public key": ({}, {"alg": "HS256"}, "algorithm not allowed"),
    "expired": ({"iat": NOW - 7200, "exp": NOW - 3600}, {}, "expired"),
    "not yet valid": ({"nbf": NOW + 3600}, {}, "not yet valid"),
    "wrong audience": ({"aud": "api://another-app"}, {}, "wrong audience"),
    "wrong issuer": ({"iss": "https://evil.example/v2.0"}, {}, "wrong issuer"),
    "unknown kid": ({}, {"unknown_key": True}, "unknown signing key"),
    "no kid": ({}, {"kid": None}, "missing key id"),
    "tampered payload": ({}, {"tamper": {"scope": "scim admin"}}, "bad signature"),
    "no sub": ({}, {"remove": ["sub"]}, "missing claim sub"),
    "not an access token": ({}, {"typ": "logout+jwt"}, "wrong token type"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_token_is_401_with_invalid_token_and_its_reason_logged(
    app: Starlette,
    tenant: Tenant,
    authority: FakeAuthority,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    claims, tweaks, reason = REFUSED[case]
    token = authority.make_api_token({"scimd_tenant": tenant.name, **claims}, **tweaks)
    with caplog.at_level(logging.INFO, "scimd.scim.auth"), scim_client(app, token) as client:
        response = client.get("/Users")

    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="SCIM", error="invalid_token"'
    assert refusal_reasons(caplog) == [reason]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert token.split(".")[1] not in logged  # the token never: not even its payload


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"scimd_tenant": "no-such-tenant"}, "unknown tenant"),
        ({}, "no tenant name in claim scimd_tenant"),
        ({"scimd_tenant": ["a", "b"]}, "no tenant name in claim scimd_tenant"),
    ],
)
def test_a_token_naming_no_existing_tenant_is_401(
    app: Starlette,
    authority: FakeAuthority,
    caplog: pytest.LogCaptureFixture,
    claims: dict[str, Any],
    reason: str,
) -> None:
    with caplog.at_level(logging.INFO, "scimd.scim.auth"):
        with scim_client(app, authority.make_api_token(claims)) as client:
            assert_scim_error(client.get("/Users"), 401)
    assert refusal_reasons(caplog) == [reason]


def test_api_tokens_still_work_beside_jwts(app: Starlette, tenant: Tenant) -> None:
    with scim_client(app, tenant.token) as client:
        assert client.post("/Users", json=user()).status_code == 201
    with scim_client(app, "scimd_unknown") as client:
        response = client.get("/Users")
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="SCIM"'


def test_without_an_issuer_a_jwt_is_an_unknown_token(
    engine: Engine, tenant: Tenant, authority: FakeAuthority
) -> None:
    app = create_app(
        Settings(shared_logins=True, secret_key=TEST_SECRET_KEY, job_runner=False), engine=engine
    )
    with scim_client(app, token_for(authority, tenant)) as client:
        assert_scim_error(client.get("/Users"), 401)
    assert authority.hits["discovery"] == authority.hits["jwks"] == 0


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "JWT", None])
def test_typ_at_jwt_or_jwt_or_none_is_accepted(
    app: Starlette, tenant: Tenant, authority: FakeAuthority, typ: str | None
) -> None:
    token = authority.make_api_token({"scimd_tenant": tenant.name}, typ=typ)
    with scim_client(app, token) as client:
        assert client.get("/Users").status_code == 200


def test_entra_style_roles_list_and_jwt_typ_are_accepted(
    engine: Engine, tenant: Tenant, authority: FakeAuthority
) -> None:
    app = jwt_app(engine, authority, scim_jwt_scope_claim="roles")
    token = authority.make_api_token(
        {"scimd_tenant": tenant.name, "roles": ["Directory.Read", "scim:read"]}, typ="JWT"
    )
    with scim_client(app, token) as client:
        assert client.get("/Users").status_code == 200
        assert_scim_error(client.post("/Users", json=user()), 403)


def test_the_budget_is_per_subject(
    engine: Engine, tenant: Tenant, authority: FakeAuthority
) -> None:
    app = jwt_app(engine, authority, rate_limit_per_second=0.001, rate_limit_burst=2)
    first, again = (token_for(authority, tenant, sub="client-a") for _ in range(2))
    other = token_for(authority, tenant, sub="client-b")
    with scim_client(app, first) as a:
        assert [a.get("/Users").status_code for _ in range(3)] == [200, 200, 429]
    with scim_client(app, again) as a_again, scim_client(app, other) as b:
        assert a_again.get("/Users").status_code == 429  # another token, the same subject
        assert b.get("/Users").status_code == 200


def test_unreachable_keys_are_503_not_401(
    engine: Engine, tenant: Tenant, authority: FakeAuthority
) -> None:
    app = jwt_app(engine, authority, scim_jwt_jwks_uri=f"{authority.base_url}/no-such-keys")
    with scim_client(app, token_for(authority, tenant)) as client:
        response = client.get("/Users")
    assert_scim_error(response, 503)
    assert response.headers["retry-after"]


def test_an_issuer_without_an_audience_stops_the_cli_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCIMD_SCIM_JWT_ISSUER", "https://login.example/tenant/v2.0")
    with pytest.raises(SystemExit) as stopped:
        main(["tenant", "list"])
    assert stopped.value.code == (
        "scimd: bad settings: SCIMD_SCIM_JWT_AUDIENCE is required with SCIMD_SCIM_JWT_ISSUER"
    )
