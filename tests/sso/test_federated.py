"""Federated sign-in and the Azure AD link wizard, against the fake authority over TLS.

The app is the real one (``create_app``) with the test authority's CA trusted;
browsers are played by ``FakeAuthority.sign_in``, which follows the authorize
redirect as a browser would and hands back what it would carry to the callback.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from directory.sealing import new_key
from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.scimd.accounts import act, admin_token, assert_error, client, events, new_user
from tests.support.authority import FakeAuthority
from tests.support.live_server import run_scimd


@pytest.fixture
def sso_app(engine, authority: FakeAuthority):
    settings = Settings(
        shared_logins=True,
        secret_key=TEST_SECRET_KEY,
        job_runner=False,
        sso_ca_file=authority.ca_path,
        public_url="http://testserver",
    )
    return create_app(settings, engine=engine)


@pytest.fixture
def admin(sso_app, engine, tenant) -> Iterator[TestClient]:
    with client(sso_app, "/admin/v1", admin_token(engine, tenant)) as api:
        yield api


@pytest.fixture
def web(sso_app) -> Iterator[TestClient]:
    """The server as a browser reaches it (redirects not followed)."""
    with TestClient(sso_app, base_url="http://testserver", follow_redirects=False) as browser:
        yield browser


def _configure(admin, authority: FakeAuthority, name: str = "azure_ad", kind: str = "azure_ad"):
    body: dict[str, Any] = {
        "kind": kind,
        "clientId": authority.client_id,
        "clientSecret": authority.client_secret,
    }
    if kind == "azure_ad":
        body |= {"authority": authority.authority, "graphUrl": authority.graph_url}
    else:
        body["issuer"] = authority.authority
    response = admin.put(f"/sso/providers/{name}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _sign_in(web, authority: FakeAuthority, tenant, provider: str = "azure_ad"):
    started = web.get(f"/sso/{provider}/login", params={"tenant": tenant.name})
    assert started.status_code == 302, started.text
    back = authority.sign_in(started.headers["location"])
    return web.post(f"/sso/{provider}/callback", data=back)


def _person(admin, email: str) -> dict[str, Any]:
    user = new_user(admin, userName=email, email=email)
    act(admin, user["id"], "allow-login")
    return user


def _link(admin, user_id: str, object_id: str, provider: str = "azure_ad") -> None:
    choice = {"action": "add", "objectId": object_id, "userId": user_id}
    applied = admin.post("/sso/links/apply", json={"provider": provider, "choices": [choice]})
    assert applied.status_code == 200, applied.text


def _identity(authority: FakeAuthority, email: str, **claims: Any) -> str:
    oid = str(uuid.uuid4())
    authority.next_sign_in = {
        "oid": oid,
        "sub": f"sub-{oid}",
        "email": email,
        "preferred_username": email,
        "name": "Signed In",
        **claims,
    }
    return oid


def test_the_provider_secret_is_sealed_and_never_shown(admin, authority, engine, tenant):
    shown = _configure(admin, authority)
    assert shown["hasClientSecret"] is True and "clientSecret" not in shown
    listed = admin.get("/sso/providers").json()["providers"]
    assert authority.client_secret not in str(listed)
    from sqlalchemy import select

    from directory import tables

    with engine.connect() as conn:
        stored = conn.execute(
            select(tables.SsoProvider.client_secret).where(
                tables.SsoProvider.tenant_id == tenant.id
            )
        ).scalar_one()
    assert stored.startswith("v1.") and authority.client_secret not in stored
    assert_error(
        admin.put("/sso/providers/x", json={"kind": "azure_ad", "clientId": "c"}),
        400,
        "invalid_value",
    )
    assert_error(
        admin.put(
            "/sso/providers/x",
            json={"kind": "azure_ad", "clientId": "c", "authority": "http://plain.example"},
        ),
        400,
        "invalid_value",
    )


def test_a_linked_account_signs_in_through_the_provider(admin, web, authority, tenant):
    _configure(admin, authority)
    ann = _person(admin, f"ann-{uuid.uuid4().hex[:6]}@example.com")
    oid = _identity(authority, "someone.else@example.com")  # the link, not the email, decides
    _link(admin, ann["id"], oid)
    signed = _sign_in(web, authority, tenant)
    assert signed.status_code == 200, signed.text
    session = signed.json()["session"]
    me = web.get("/auth/me", headers={"Authorization": f"Bearer {session}"}).json()
    assert me["userId"] == ann["id"]
    [event] = events(admin, action="signin.success", target=f"user:{ann['id']}")
    assert event["detail"] == {"provider": "azure_ad"}
    assert admin.get(f"/users/{ann['id']}").json()["lastLogin"] is not None


def test_the_account_rules_apply_to_federated_sign_in(admin, web, authority, tenant):
    _configure(admin, authority)
    bob = _person(admin, f"bob-{uuid.uuid4().hex[:6]}@example.com")
    oid = _identity(authority, bob["userName"])
    _link(admin, bob["id"], oid)
    act(admin, bob["id"], "lock")
    assert_error(_sign_in(web, authority, tenant), 403, "account_locked")
    act(admin, bob["id"], "unlock")
    act(admin, bob["id"], "block-login", reason="left the company")
    assert_error(_sign_in(web, authority, tenant), 403, "login_not_allowed")


def test_without_a_link_sign_in_is_refused_unless_the_tenant_links_by_email(
    admin, web, authority, tenant
):
    _configure(admin, authority)
    cy = _person(admin, f"cy-{uuid.uuid4().hex[:6]}@example.com")
    _identity(authority, cy["userName"].upper())
    assert_error(_sign_in(web, authority, tenant), 401, "invalid_credentials")
    [refused] = events(admin, action="signin.refused")
    assert refused["detail"]["reason"] == "no account linked to this identity"

    assert admin.put("/settings", json={"sso_auto_link": True}).status_code == 200
    signed = _sign_in(web, authority, tenant)
    assert signed.status_code == 200, signed.text
    [link] = admin.get("/sso/links").json()["links"]
    assert link["userId"] == cy["id"] and link["objectId"] == authority.next_sign_in["oid"]


def test_just_in_time_accounts_wait_for_approval(admin, web, authority, tenant):
    _configure(admin, authority)
    assert admin.put("/settings", json={"sso_jit": True}).status_code == 200
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    _identity(authority, email, given_name="Nia", family_name="Newcomer")
    assert_error(_sign_in(web, authority, tenant), 403, "login_not_allowed")
    [pending] = admin.get("/approvals").json()["users"]
    assert pending["userName"] == email and pending["name"] == "Signed In"
    act(admin, pending["id"], "approve")
    signed = _sign_in(web, authority, tenant)
    assert signed.status_code == 200, signed.text
    assert len(admin.get("/users", params={"search": email}).json()["users"]) == 1  # not twice


def test_just_in_time_without_approval_signs_in_at_once(admin, web, authority, tenant):
    _configure(admin, authority)
    admin.put("/settings", json={"sso_jit": True, "approval_required": False})
    _identity(authority, f"quick-{uuid.uuid4().hex[:6]}@example.com")
    assert _sign_in(web, authority, tenant).status_code == 200


def test_a_generic_oidc_provider_links_by_sub(admin, web, authority, tenant):
    _configure(admin, authority, name="okta", kind="oidc")
    dee = _person(admin, f"dee-{uuid.uuid4().hex[:6]}@example.com")
    oid = _identity(authority, dee["userName"])
    _link(admin, dee["id"], f"sub-{oid}", provider="okta")
    signed = _sign_in(web, authority, tenant, provider="okta")
    assert signed.status_code == 200, signed.text


@pytest.mark.parametrize(
    "tweaks",
    [
        {"claims": {"iss": "https://evil.example/v2.0"}},
        {"claims": {"aud": "someone-else"}},
        {"claims": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}},
        {"alg": "none"},
        {"alg": "HS256"},
        {"unknown_key": True},
        {"tamper": True},
    ],
    ids=[
        "wrong-issuer",
        "wrong-audience",
        "expired",
        "alg-none",
        "hs256-public-key",
        "unknown-kid",
        "tampered",
    ],
)
def test_bad_id_tokens_are_refused(admin, web, authority, tenant, tweaks):
    _configure(admin, authority)
    eve = _person(admin, f"eve-{uuid.uuid4().hex[:6]}@example.com")
    _link(admin, eve["id"], _identity(authority, eve["userName"]))
    authority.id_token_tweaks = tweaks
    refused = _sign_in(web, authority, tenant)
    assert_error(refused, 401, "invalid_credentials")
    assert "session" not in refused.text


def test_states_are_single_use_and_tampering_is_refused(admin, web, authority, tenant):
    _configure(admin, authority)
    fay = _person(admin, f"fay-{uuid.uuid4().hex[:6]}@example.com")
    _link(admin, fay["id"], _identity(authority, fay["userName"]))
    started = web.get("/sso/azure_ad/login", params={"tenant": tenant.name})
    back = authority.sign_in(started.headers["location"])
    tampered = dict(back, state=back["state"] + "x")
    assert_error(web.post("/sso/azure_ad/callback", data=tampered), 401, "invalid_credentials")
    assert web.post("/sso/azure_ad/callback", data=back).status_code == 200
    replayed = web.post("/sso/azure_ad/callback", data=back)
    assert_error(replayed, 401, "invalid_credentials")
    authority.id_token_tweaks = {"claims": {"nonce": "replayed-from-another-login"}}
    again = web.get("/sso/azure_ad/login", params={"tenant": tenant.name})
    back = authority.sign_in(again.headers["location"])
    assert_error(web.post("/sso/azure_ad/callback", data=back), 401, "invalid_credentials")


def test_unknown_tenants_and_providers_look_the_same(web, admin, authority, tenant):
    unknown_tenant = web.get("/sso/azure_ad/login", params={"tenant": "no-such-tenant"})
    unknown_provider = web.get("/sso/nope/login", params={"tenant": tenant.name})
    assert_error(unknown_tenant, 404, "not_found")
    assert unknown_tenant.json() == unknown_provider.json()


def _graph_user(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"obj-{n}",
        "displayName": f"User {n}",
        "mail": None,
        "userPrincipalName": f"user{n}@tenant.onmicrosoft.com",
        "otherMails": [],
        **fields,
    }


def test_the_wizard_logs_in_to_azure_ad_and_previews_graph_users(admin, web, authority):
    _configure(admin, authority)
    gus = _person(admin, f"gus-{uuid.uuid4().hex[:6]}@example.com")
    guest = _person(admin, f"hal-{uuid.uuid4().hex[:6]}@fabrikam.com")
    local, domain = guest["userName"].split("@")
    authority.graph_users = [
        _graph_user(1, mail=gus["userName"].upper()),
        _graph_user(2, userPrincipalName=f"{local}_{domain}#EXT#@contoso.onmicrosoft.com"),
        _graph_user(3, otherMails=["stranger@example.com"]),
    ]
    started = admin.post("/sso/providers/azure_ad/login")
    assert started.status_code == 200, started.text
    back = authority.sign_in(started.json()["authUri"])
    listed = web.post("/sso/azure/callback", data=back)
    assert listed.status_code == 201, listed.text
    rows = {row["objectId"]: row for row in listed.json()["rows"]}
    assert (rows["obj-1"]["status"], rows["obj-1"]["userId"]) == ("match", gus["id"])
    assert (rows["obj-2"]["status"], rows["obj-2"]["userId"]) == ("match", guest["id"])
    assert rows["obj-3"]["status"] == "no_local_user"
    assert_error(web.post("/sso/azure/callback", data=back), 401, "invalid_credentials")


def test_app_only_listing_follows_pages_and_waits_out_throttling(admin, authority):
    _configure(admin, authority)
    authority.graph_users = [_graph_user(n) for n in range(2500)]
    authority.throttle_every = 2
    authority.retry_after = 0
    listed = admin.post("/sso/providers/azure_ad/snapshots")
    assert listed.status_code == 201, listed.text
    assert listed.json()["counts"]["no_local_user"] == 2500
    assert authority.graph_requests >= 5  # 3 pages of 999, and the 429s between them


def test_a_provider_that_refuses_the_app_is_a_502(admin, authority):
    _configure(admin, authority)
    admin.put(
        "/sso/providers/azure_ad",
        json={
            "kind": "azure_ad",
            "clientId": authority.client_id,
            "clientSecret": "wrong",
            "authority": authority.authority,
            "graphUrl": authority.graph_url,
        },
    )
    assert_error(admin.post("/sso/providers/azure_ad/snapshots"), 502, "provider_error")


def test_scimd_sso_preview_lists_the_directory_app_only(admin, authority, database_url, tenant):
    _configure(admin, authority)
    ivy = _person(admin, f"ivy-{uuid.uuid4().hex[:6]}@example.com")
    authority.graph_users = [_graph_user(1, mail=ivy["userName"]), _graph_user(2)]
    result = run_scimd(
        "sso",
        "preview",
        "--tenant",
        tenant.name,
        "--provider",
        "azure_ad",
        "--json",
        "--database-url",
        database_url,
        env={"SCIMD_SECRET_KEY": TEST_SECRET_KEY, "SCIMD_SSO_CA_FILE": authority.ca_path},
    )
    assert result.returncode == 0, result.stderr
    rows = {row["objectId"]: row for row in json.loads(result.stdout)["rows"]}
    assert (rows["obj-1"]["status"], rows["obj-1"]["userId"]) == ("match", ivy["id"])
    assert rows["obj-2"]["status"] == "no_local_user"
    wrong_key = run_scimd(
        "sso",
        "preview",
        "--tenant",
        tenant.name,
        "--provider",
        "azure_ad",
        "--database-url",
        database_url,
        env={"SCIMD_SECRET_KEY": new_key(), "SCIMD_SSO_CA_FILE": authority.ca_path},
    )
    assert wrong_key.returncode != 0 and "cannot be opened" in wrong_key.stderr
