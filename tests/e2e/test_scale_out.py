"""Scale-out: several server processes on one store stay correct under concurrent writes.

Two `scimd serve` processes on PostgreSQL (SQLite: one process, whose writers
queue on the database lock, must give the same answers).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.live_server import create_token, running_server

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    workers = 2 if make_url(database_url).get_backend_name() == "postgresql" else None
    token = create_token(database_url, f"scale-{uuid.uuid4().hex[:8]}")
    with running_server(database_url, workers=workers) as server:
        yield server.base_url, {"Authorization": f"Bearer {token}"}


def _many(calls, workers: int = 16) -> list[httpx.Response]:
    # One connection per call, so both processes accept requests.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_concurrent_creates_of_one_user_name_give_one_201_and_409s(served) -> None:
    base, headers = served
    name = f"race-{uuid.uuid4().hex[:8]}@example.com"
    responses = _many(
        [
            lambda: httpx.post(
                f"{base}/Users", json={"userName": name}, headers=headers, timeout=30
            )
            for _ in range(50)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, [r.text for r in responses if r.status_code >= 500]
    assert all(r.json()["scimType"] == "uniqueness" for r in responses if r.status_code == 409)


def test_concurrent_member_adds_end_in_the_union(served) -> None:
    base, headers = served
    users = [
        httpx.post(
            f"{base}/Users", json={"userName": f"m-{uuid.uuid4().hex[:8]}"}, headers=headers
        ).json()["id"]
        for _ in range(30)
    ]
    group_id = httpx.post(f"{base}/Groups", json={"displayName": "Race"}, headers=headers).json()[
        "id"
    ]

    def add(member: str):
        return lambda: httpx.patch(
            f"{base}/Groups/{group_id}?excludedAttributes=members",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}],
            },
            headers=headers,
            timeout=30,
        )

    responses = _many([add(member) for member in users])
    assert [r.status_code for r in responses] == [200] * 30
    final = httpx.get(f"{base}/Groups/{group_id}", headers=headers).json()
    assert sorted(m["value"] for m in final["members"]) == sorted(users)
    # Every change gave the group a new version: 1 + 30.
    assert final["meta"]["version"] == 'W/"31"'


def test_concurrent_if_match_updates_one_wins_the_rest_412(served) -> None:
    base, headers = served
    created = httpx.post(
        f"{base}/Users", json={"userName": f"v-{uuid.uuid4().hex[:8]}"}, headers=headers
    )
    uid, etag = created.json()["id"], created.headers["etag"]

    def update(i: int):
        return lambda: httpx.patch(
            f"{base}/Users/{uid}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": f"t{i}"}],
            },
            headers={**headers, "If-Match": etag},
            timeout=30,
        )

    responses = _many([update(i) for i in range(20)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 19
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["meta"]["version"] == 'W/"2"'
    assert httpx.get(f"{base}/Users/{uid}", headers=headers).json()["title"] == winner["title"]
