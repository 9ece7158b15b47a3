"""``scimd serve`` as a real process, driven over real HTTP the way an IdP drives it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.live_server import create_token, live_server, running_server

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    """One live server per backend for this module; the SCIM base URL."""
    with live_server(database_url) as base_url:
        yield base_url


@pytest.fixture
def scim(server: str, database_url: str) -> Iterator[httpx.Client]:
    """A client of the live server with a token of a fresh tenant, made by the CLI."""
    token = create_token(database_url, unique("e2e"))
    with httpx.Client(
        base_url=server,
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
        timeout=10,
    ) as client:
        yield client


def test_healthz_answers_ok(server: str) -> None:
    response = httpx.get(server.removesuffix("/scim/v2") + "/healthz", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_requests_without_or_with_a_wrong_token_are_401(server: str) -> None:
    anonymous = httpx.get(f"{server}/Users", timeout=5)
    wrong = httpx.get(f"{server}/Users", headers={"Authorization": "Bearer nope"}, timeout=5)

    for response in (anonymous, wrong):
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["schemas"] == [ERROR]
        assert body["status"] == "401"


def test_entra_style_user_and_group_lifecycle(scim: httpx.Client) -> None:
    user_name = "ada.lovelace@example.com"
    base_url = str(scim.base_url).rstrip("/")  # httpx keeps a trailing slash

    # Provision.
    created = scim.post(
        "/Users",
        json={
            "schemas": [USER],
            "userName": user_name,
            "externalId": "ext-ada",
            "active": True,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    user = created.json()
    user_id = user["id"]
    assert user["userName"] == user_name
    assert user["active"] is True
    assert created.headers["location"] == f"{base_url}/Users/{user_id}"
    assert user["meta"]["location"] == f"{base_url}/Users/{user_id}"

    fetched = scim.get(f"/Users/{user_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert fetched.json()["externalId"] == "ext-ada"

    # Entra looks the user up by userName before creating it.
    found = scim.get("/Users", params={"filter": f'userName eq "{user_name.upper()}"'})
    assert found.status_code == 200, found.text
    assert found.json()["schemas"] == [LIST]
    assert found.json()["totalResults"] == 1
    assert [r["id"] for r in found.json()["Resources"]] == [user_id]
    missing = scim.get("/Users", params={"filter": 'userName eq "nobody@example.com"'})
    assert missing.json()["totalResults"] == 0

    # Entra deactivates with a capitalised op and a string boolean.
    deactivated = scim.patch(
        f"/Users/{user_id}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert deactivated.status_code in (200, 204), deactivated.text
    assert scim.get(f"/Users/{user_id}").json()["active"] is False

    # A group with the user, then Entra's member removal by filter path.
    group = scim.post(
        "/Groups",
        json={
            "schemas": [GROUP],
            "displayName": "Engineering",
            "members": [{"value": user_id}],
        },
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    assert [m["value"] for m in group.json()["members"]] == [user_id]
    removed = scim.patch(
        f"/Groups/{group_id}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "Remove", "path": f'members[value eq "{user_id}"]'}],
        },
    )
    assert removed.status_code in (200, 204), removed.text
    assert scim.get(f"/Groups/{group_id}").json().get("members", []) == []

    # Deprovision.
    deleted = scim.delete(f"/Users/{user_id}")
    assert deleted.status_code == 204, deleted.text
    gone = scim.get(f"/Users/{user_id}")
    assert gone.status_code == 404
    assert gone.json()["schemas"] == [ERROR]
    assert scim.get("/Users").json()["totalResults"] == 0


def test_tenants_do_not_see_each_other_over_http(server: str, database_url: str) -> None:
    tokens = [create_token(database_url, unique("e2e-iso")) for _ in range(2)]
    clients = [
        httpx.Client(base_url=server, headers={"Authorization": f"Bearer {t}"}, timeout=10)
        for t in tokens
    ]
    name = unique("shared")
    with clients[0] as first, clients[1] as second:
        user_id = first.post("/Users", json={"userName": name}).json()["id"]

        assert second.get(f"/Users/{user_id}").status_code == 404
        assert second.get("/Users").json()["totalResults"] == 0
        # One account per login (the default): the other tenant cannot add it while it is
        # active here, and is told so without a word about this tenant.
        refused = second.post("/Users", json={"userName": name})
        assert refused.status_code == 409, refused.text
        assert refused.json()["scimType"] == "uniqueness"
        assert "organisation" in refused.json()["detail"] and tokens[0] not in refused.text
        deactivate = {"Operations": [{"op": "replace", "path": "active", "value": False}]}
        assert first.patch(f"/Users/{user_id}", json=deactivate).status_code == 200
        assert second.post("/Users", json={"userName": name}).status_code == 201


def test_two_workers_serve_the_same_store(database_url: str) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("several server processes are for PostgreSQL")
    token = create_token(database_url, unique("e2e-workers"))
    with running_server(database_url, workers=2) as server:
        base_url = server.base_url
        headers = {"Authorization": f"Bearer {token}"}
        workers = server.worker_pids()
        assert len(workers) == 2, server.output()

        def provision(index: int) -> tuple[int, str]:
            # A new connection per request, so both worker processes accept some.
            response = httpx.post(
                f"{base_url}/Users",
                json={"userName": f"worker-{index:02}@example.com"},
                headers=headers,
                timeout=10,
            )
            return response.status_code, response.text

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(provision, range(20)))
        assert [status for status, _ in results] == [201] * 20, results

        listed = httpx.get(
            f"{base_url}/Users", params={"count": 100}, headers=headers, timeout=10
        ).json()
        assert listed["totalResults"] == 20
        assert sorted(r["userName"] for r in listed["Resources"]) == [
            f"worker-{i:02}@example.com" for i in range(20)
        ]
        # Both workers are still up: none died under the concurrent writes.
        assert server.worker_pids() == workers, server.output()
        assert server.output().count("Application startup complete") == 2, server.output()
