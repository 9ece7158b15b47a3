"""Bearer tokens and tenant isolation on every SCIM route."""

from __future__ import annotations

import pytest

from directory import tenants
from tests.conftest import make_tenant, scim_client
from tests.scim.helpers import assert_scim_error, group, patch, user

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def test_missing_token_is_401_with_scim_error_and_challenge(app):
    with scim_client(app, None) as anonymous:
        response = anonymous.get("/Users")
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer scimd_wrong"])
def test_malformed_or_unknown_token_is_401(app, header):
    with scim_client(app, None) as client:
        response = client.get("/Users", headers={"Authorization": header})
    assert_scim_error(response, 401)


def test_revoked_token_is_refused_once_the_cache_expires(engine, tenant):
    from scimd.app import create_app
    from scimd.settings import Settings

    app = create_app(Settings(token_cache_seconds=0), engine=engine)
    with scim_client(app, tenant.token) as client:
        assert client.get("/Users").status_code == 200
        with engine.begin() as conn:
            (token,) = tenants.list_tokens(conn, tenant.name)
            tenants.revoke_token(conn, token.id)
        assert_scim_error(client.get("/Users"), 401)


def test_discovery_needs_no_token(app):
    with scim_client(app, None) as anonymous:
        assert anonymous.get("/ServiceProviderConfig").status_code == 200


def test_a_tenant_never_reads_or_changes_another_tenants_resources(app, engine, scim):
    other = make_tenant(engine, "other")
    with scim_client(app, other.token) as theirs:
        their_user = theirs.post("/Users", json=user(displayName="Theirs")).json()
        their_group = theirs.post("/Groups", json=group("Their group", their_user["id"])).json()

    uid, gid = their_user["id"], their_group["id"]
    for path in (f"/Users/{uid}", f"/Groups/{gid}"):
        assert_scim_error(scim.get(path), 404)
        assert_scim_error(
            scim.patch(path, json=patch({"op": "replace", "path": "externalId", "value": "x"})), 404
        )
        assert_scim_error(scim.delete(path), 404)
    assert_scim_error(scim.put(f"/Users/{uid}", json=user(their_user["userName"])), 404)
    assert_scim_error(scim.put(f"/Groups/{gid}", json=group("Mine")), 404)
    # Their ids are unknown members here, and their names are free here.
    assert_scim_error(scim.post("/Groups", json=group("Grab", uid)), 400, "invalidValue")
    assert scim.post("/Users", json=user(their_user["userName"])).status_code == 201

    for endpoint in ("/Users", "/Groups"):
        listed = scim.get(endpoint).json()
        assert all(r["id"] not in (uid, gid) for r in listed["Resources"])
    assert scim.get("/Users", params={"filter": f'id eq "{uid}"'}).json()["totalResults"] == 0
    assert scim.post("/.search", json={}).json()["totalResults"] == 1

    with scim_client(app, other.token) as theirs:
        still = theirs.get(f"/Groups/{gid}").json()
        assert still["displayName"] == "Their group"
        assert [m["value"] for m in still["members"]] == [uid]
        assert theirs.get(f"/Users/{uid}").json()["displayName"] == "Theirs"


def _token(engine, tenant, *scopes: str) -> str:
    with engine.begin() as conn:
        secret, _ = tenants.create_token(conn, tenant.id, scopes=scopes)
    return secret


def test_a_read_only_token_reads_and_searches_but_never_writes(app, engine, tenant, scim):
    existing = scim.post("/Users", json=user(displayName="Existing")).json()
    with scim_client(app, _token(engine, tenant, "scim:read")) as reader:
        assert reader.get("/Users").status_code == 200
        assert reader.get(f"/Users/{existing['id']}").status_code == 200
        searched = reader.post("/.search", json={"schemas": [SEARCH], "filter": "userName pr"})
        assert searched.status_code == 200, searched.text
        assert_scim_error(reader.post("/Users", json=user()), 403)
        assert_scim_error(
            reader.patch(
                f"/Users/{existing['id']}",
                json=patch({"op": "replace", "path": "displayName", "value": "Changed"}),
            ),
            403,
        )
        assert_scim_error(reader.delete(f"/Users/{existing['id']}"), 403)
        bulk = {
            "schemas": [BULK],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": user()}],
        }
        assert_scim_error(reader.post("/Bulk", json=bulk), 403)
    assert scim.get(f"/Users/{existing['id']}").json()["displayName"] == "Existing"


def test_a_token_over_its_request_budget_gets_429_with_retry_after(engine, tenant):
    from scimd.app import create_app
    from scimd.settings import Settings

    app = create_app(
        Settings(rate_limit_per_second=0.5, rate_limit_burst=3, shared_logins=True), engine=engine
    )
    other = make_tenant(engine, "budget")
    with scim_client(app, tenant.token) as busy, scim_client(app, other.token) as quiet:
        assert [busy.get("/Users").status_code for _ in range(3)] == [200, 200, 200]
        throttled = busy.get("/Users")
        assert_scim_error(throttled, 429)
        assert 1 <= int(throttled.headers["retry-after"]) <= 2
        assert quiet.get("/Users").status_code == 200  # the budget is the token's own


def test_the_rate_limiter_refills_with_time():
    from scim.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, 2, clock=lambda: now[0])
    assert [limiter.take("t") for _ in range(3)] == [None, None, 1]
    now[0] += 0.5  # one request's worth
    assert limiter.take("t") is None and limiter.take("t") == 1
    assert limiter.take("other") is None
    assert RateLimiter(0, 0).take("t") is None  # 0: no limit
