"""Concurrent writers on one store: uniqueness, group members and If-Match stay exact.

Live ``scimd serve`` processes, in two layouts per backend:

- one server: SQLite's embedded default (one process, whose writes go through
  its one writer thread and commit in groups), PostgreSQL's ``--workers 2``;
- two servers on one store: two ``scimd serve`` processes on the same SQLite
  file (their writers queue on the file's lock) or PostgreSQL database (row locks).

Clients are spread over the servers round robin, and released together by a
barrier so that their requests really overlap.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.scim.helpers import assert_scim_error, group, patch, user
from tests.support.live_server import create_token, running_server

T = TypeVar("T")
SCIM_JSON = "application/scim+json"
UPDATES = 20  # concurrent If-Match updates of one version


@dataclass(frozen=True)
class Servers:
    """The live servers of one layout, and a token of a tenant private to this module."""

    base_urls: list[str]
    token: str

    def client(self, index: int) -> httpx.Client:
        """A client of server ``index`` modulo their number: clients spread over the servers."""
        return httpx.Client(
            base_url=self.base_urls[index % len(self.base_urls)],
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON},
            # Above SQLite's 30 s busy timeout: a stuck writer shows as a 503, not as ours.
            timeout=60,
        )


@pytest.fixture(scope="module")
def token(database_url: str) -> str:
    return create_token(database_url, f"concurrency-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module", params=["one-server", "two-servers"])
def servers(request: pytest.FixtureRequest, database_url: str, token: str) -> Iterator[Servers]:
    with ExitStack() as stack:
        if request.param == "one-server":
            postgres = make_url(database_url).get_backend_name() == "postgresql"
            layout = [running_server(database_url, workers=2 if postgres else None)]
        else:
            layout = [running_server(database_url), running_server(database_url)]
        yield Servers([stack.enter_context(server).base_url for server in layout], token)


def at_once(servers: Servers, count: int, send: Callable[[httpx.Client, int], T]) -> list[T]:
    """``send(client, index)`` for each index in a thread of its own, all released together.

    Each thread connects first (a keep-alive connection, so ``--workers 2`` has spread
    it over its processes by then); the barrier then lets all the requests go at once.
    """
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        with servers.client(index) as client:
            assert client.get("/ServiceProviderConfig").status_code == 200
            barrier.wait(timeout=30)
            return send(client, index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def member_ids(group_json: dict[str, Any]) -> set[str]:
    return {member["value"] for member in group_json.get("members", [])}


def test_concurrent_creates_of_one_user_name_give_one_201_and_uniqueness_409s(
    servers: Servers,
) -> None:
    tag = uuid.uuid4().hex[:10]
    name = f"race-{tag}@example.com"

    def create(client: httpx.Client, index: int) -> httpx.Response:
        # userName is not case-exact (RFC 7643 §4.1.1): case variants are the same name.
        return client.post("/Users", json=user(name.upper() if index % 2 else name))

    responses = at_once(servers, 50, create)

    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, [(r.status_code, r.text) for r in responses if r.status_code != 409]
    for response in responses:
        if response.status_code != 201:
            assert_scim_error(response, 409, "uniqueness")
    winner = created[0].json()
    assert created[0].headers["etag"] == 'W/"1"'
    assert created[0].headers["location"].endswith(f"/Users/{winner['id']}")
    with servers.client(0) as client:
        found = client.get("/Users", params={"filter": f'userName eq "{name}"'})
        # An eq filter on userName is answered by one index lookup, which cannot show a
        # second row; a contains filter scans, so it would.
        scanned = client.get("/Users", params={"filter": f'userName co "{tag}"'})
    for listed in (found, scanned):
        assert listed.status_code == 200, listed.text
        assert listed.json()["totalResults"] == 1
        assert [r["id"] for r in listed.json()["Resources"]] == [winner["id"]]


def test_concurrent_member_patches_from_many_clients_lose_no_update(servers: Servers) -> None:
    clients, adds_per_client = 8, 10
    with servers.client(0) as client:
        created_group = client.post("/Groups", json=group(f"race-{uuid.uuid4().hex[:8]}"))
        assert created_group.status_code == 201, created_group.text
        assert created_group.headers["etag"] == 'W/"1"'
        group_id = created_group.json()["id"]

    def create_users(client: httpx.Client, index: int) -> list[str]:
        responses = [client.post("/Users", json=user()) for _ in range(adds_per_client)]
        assert [r.status_code for r in responses] == [201] * adds_per_client
        return [r.json()["id"] for r in responses]

    users_of = at_once(servers, clients, create_users)

    # Each client adds its users one PATCH at a time, and after every third add removes
    # the one it added just before: 10 adds and 3 removes, 7 members left per client.
    def script(mine: list[str]) -> list[tuple[str, str]]:
        steps = []
        for index, member in enumerate(mine):
            steps.append(("add", member))
            if index % 3 == 2:
                steps.append(("remove", mine[index - 1]))
        return steps

    def operation(step: str, member: str) -> dict[str, Any]:
        if step == "add":
            return {"op": "add", "path": "members", "value": [{"value": member}]}
        return {"op": "remove", "path": f'members[value eq "{member}"]'}

    def run_script(client: httpx.Client, index: int) -> list[tuple[str, str, httpx.Response]]:
        url = f"/Groups/{group_id}"
        return [
            (step, member, client.patch(url, json=patch(operation(step, member))))
            for step, member in script(users_of[index])
        ]

    runs = at_once(servers, clients, run_script)

    expected: set[str] = set()
    versions: list[str] = []
    for run in runs:
        # What this client has made so far: no other client touches its users, so every
        # response it gets must show all of it (a lost update would drop some).
        own: set[str] = set()
        for step, member, response in run:
            # No 503 or 409 is allowed for: PostgreSQL queues these PATCHes on the group's
            # row lock and SQLite on its write lock (30 s), so contention only delays them.
            assert response.status_code == 200, response.text
            shown = member_ids(response.json())
            if step == "add":
                own.add(member)
            else:
                own.discard(member)
            assert own <= shown, (step, own - shown)
            assert (member in shown) == (step == "add")
            versions.append(response.headers["etag"])
        expected |= own
    # Each PATCH changed the group once, so each made a version of its own: 2, 3, ...
    patches = len(versions)
    assert sorted(versions, key=lambda tag: int(tag[3:-1])) == [
        f'W/"{version}"' for version in range(2, patches + 2)
    ]
    assert len(expected) == clients * 7
    for index in range(len(servers.base_urls)):
        with servers.client(index) as client:
            final = client.get(f"/Groups/{group_id}")
        assert final.status_code == 200, final.text
        assert member_ids(final.json()) == expected
        assert final.headers["etag"] == final.json()["meta"]["version"] == f'W/"{patches + 1}"'


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_concurrent_if_match_updates_of_one_version_let_one_win_and_412_the_rest(
    servers: Servers, method: str
) -> None:
    name = f"ifmatch-{uuid.uuid4().hex[:8]}@example.com"
    with servers.client(0) as client:
        user_id = client.post("/Users", json=user(name, title="before")).json()["id"]
        etag = client.get(f"/Users/{user_id}").headers["etag"]
    assert etag == 'W/"1"'

    def update(client: httpx.Client, index: int) -> httpx.Response:
        title, headers = f"title-{index}", {"If-Match": etag}
        if method == "PUT":
            return client.put(f"/Users/{user_id}", json=user(name, title=title), headers=headers)
        body = patch({"op": "replace", "path": "title", "value": title})
        return client.patch(f"/Users/{user_id}", json=body, headers=headers)

    responses = at_once(servers, UPDATES, update)

    winners = [(index, r) for index, r in enumerate(responses) if r.is_success]
    assert len(winners) == 1, [r.status_code for r in responses]
    for response in responses:
        if not response.is_success:
            assert_scim_error(response, 412)
    index, won = winners[0]
    assert won.status_code == 200
    assert won.headers["etag"] == won.json()["meta"]["version"] == 'W/"2"'
    assert won.json()["title"] == f"title-{index}"
    for server in range(len(servers.base_urls)):
        with servers.client(server) as client:
            stored = client.get(f"/Users/{user_id}")
        assert stored.headers["etag"] == 'W/"2"'
        assert stored.json()["title"] == f"title-{index}"
