"""Acknowledged writes survive a server killed mid-request (SIGKILL: no shutdown code runs),
and nothing unacknowledged is half-applied.

What scimd guarantees, and so what these tests expect:

- A request is answered only after the COMMIT that makes its writes durable. On PostgreSQL
  each unit of work is its own transaction. On SQLite one writer thread commits the units
  queued meanwhile together (group commit, each unit in a savepoint) and settles each only
  after that COMMIT (``directory/units.py``); WAL with ``synchronous=NORMAL`` is durable
  against a process crash. So every 2xx answer the client read names a write that is there
  after the crash, whatever was in flight with it.
- A ``/Bulk`` request is ONE unit of work, not one per operation (``scim/bulk.py``): all its
  operations run in one transaction, each in a savepoint (a failed one is undone alone), and
  the answer comes after the COMMIT. A ``/Bulk`` cut off before its answer therefore landed
  whole (the kill came between its COMMIT and the answer) or not at all, never some of its
  operations; and each operation is whole too: a user with every row of its emails.
- An unanswered PATCH may or may not have landed; if it did, it landed whole. So a user's
  displayName (a group's membership of a user) is the value of its last write in some order
  that keeps every acknowledged write after each write acknowledged before it was sent.

``scimd db check`` then verifies that no derived row (columns, ``user_emails``, memberships)
disagrees with what it derives from.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.live_server import LiveServer, create_token, run_scimd, running_server

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SIZE = 1000  # the server's maxOperations
TIMEOUT = 180.0  # the machine is slow: generous, yet a hung server still fails the test


def _crash(server: LiveServer) -> None:
    """SIGKILL the server's whole process group, as a power cut or the OOM killer would."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


@contextmanager
def _client(server: LiveServer, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=TIMEOUT) as client:
        yield client


def _wait_for(what: str, server: LiveServer, done: threading.Event) -> None:
    if not done.wait(TIMEOUT):
        raise AssertionError(f"no {what} after {TIMEOUT:.0f} s:\n{server.output()[-4000:]}")


def _db_check(database_url: str, tenant: str) -> str:
    """``scimd db check`` of the test's tenant (the database is shared with other tests)."""
    result = run_scimd("db", "check", "--tenant", tenant, "--database-url", database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# --- a /Bulk cut off in flight ------------------------------------------------------------


def _emails(name: str) -> list[dict[str, Any]]:
    return [
        {"value": f"{name}@example.com", "type": "work", "primary": True},
        {"value": f"{name}@home.example", "type": "home"},
    ]


def _bulk(prefix: str, size: int) -> dict[str, Any]:
    """``size`` POST /Users, each with two emails."""
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{i}",
            "data": {
                "schemas": [USER],
                "userName": f"{prefix}-{i:04d}",
                "displayName": f"Zoë {prefix} {i}",
                "emails": _emails(f"{prefix}-{i:04d}"),
            },
        }
        for i in range(size)
    ]
    return {"schemas": [BULK], "Operations": operations}


@dataclass
class Sent:
    prefix: str
    started: float
    answer: httpx.Response | None = None  # None: cut off by the kill
    answered: float | None = None


def _users_named(client: httpx.Client, prefix: str) -> list[dict[str, Any]]:
    query = {"filter": f'userName sw "{prefix}-"', "count": str(BULK_SIZE), "sortBy": "userName"}
    response = client.get("/Users", params=query)
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == len(response.json().get("Resources", []))
    return list(response.json().get("Resources", []))


def _assert_whole(users: list[dict[str, Any]], prefix: str) -> None:
    """Each of the bulk's users is there with its emails, exactly as sent."""
    assert [user["userName"] for user in users] == [f"{prefix}-{i:04d}" for i in range(BULK_SIZE)]
    for user in users:
        assert user["emails"] == _emails(user["userName"]), user


def test_a_bulk_cut_off_by_a_kill_lands_whole_or_not_at_all(database_url):
    tenant = f"crash-bulk-{uuid.uuid4().hex[:8]}"
    token = create_token(database_url, tenant)
    # Built before the clock starts: the client spends no time between two requests.
    bodies = [(f"{tenant}-b{k}", _bulk(f"{tenant}-b{k}", BULK_SIZE)) for k in range(20)]
    sent: list[Sent] = []
    first_answered = threading.Event()

    with running_server(database_url) as first, _client(first, token) as client:
        warm_up = client.post("/Bulk", json=_bulk(f"{tenant}-w", 20))
        assert warm_up.status_code == 200, warm_up.text

        def send_bulks() -> None:
            for prefix, body in bodies:
                sent.append(Sent(prefix, time.monotonic()))
                try:
                    sent[-1].answer = client.post("/Bulk", json=body)
                except httpx.TransportError:
                    return  # the kill
                sent[-1].answered = time.monotonic()
                first_answered.set()

        sender = threading.Thread(target=send_bulks)
        sender.start()
        _wait_for("answered /Bulk", first, first_answered)
        # The next bulk started as the first was answered and takes about as long:
        # a third of that in, it is well under way.
        took = (sent[0].answered or 0) - sent[0].started
        time.sleep(took / 3)
        _crash(first)
        sender.join(timeout=TIMEOUT)

    *answered, cut_off = sent
    assert answered and all(s.answer is not None for s in answered)
    assert cut_off.answer is None, "no /Bulk was in flight at the kill"

    with running_server(database_url) as second, _client(second, token) as client:
        for bulk in answered:
            assert bulk.answer is not None and bulk.answer.status_code == 200
            results = bulk.answer.json()["Operations"]
            assert [r["status"] for r in results] == ["201"] * BULK_SIZE
            users = _users_named(client, bulk.prefix)
            _assert_whole(users, bulk.prefix)
            assert sorted(u["id"] for u in users) == sorted(
                r["location"].rsplit("/", 1)[1] for r in results
            )
        landed = _users_named(client, cut_off.prefix)
        assert len(landed) in (0, BULK_SIZE), len(landed)
        if landed:  # committed in the instant between its COMMIT and its answer
            _assert_whole(landed, cut_off.prefix)
        stored = BULK_SIZE * len(answered) + len(landed) + 20
        assert _db_check(database_url, tenant) == (
            f"store is consistent: {stored} users, 0 groups, 0 memberships checked\n"
        )


# --- a PATCH storm cut off mid-way ----------------------------------------------------------

THREADS = 6
USERS = 8
GROUPS = 3
ACKNOWLEDGED_BEFORE_KILL = 300


@dataclass
class Write:
    """One PATCH of one register: a user's displayName, or whether a user is in a group."""

    register: tuple[str, ...]
    value: Any
    sent: float
    answered: float | None = None  # a 2xx read before the kill
    status: int | None = None


def _possible(initial: Any, writes: list[Write]) -> set[Any]:
    """The values a register may hold after ``writes``, some of them cut off by the kill.

    The last write in any order that puts every acknowledged write after each write that
    was acknowledged before it was sent; the initial value only if none was acknowledged.
    """
    acknowledged = [w for w in writes if w.answered is not None]
    values = set() if acknowledged else {initial}
    for write in writes:
        if write.status is not None and write.answered is None:
            continue  # refused: not applied
        overtaken = any(
            write.answered is not None and write.answered < later.sent
            for later in acknowledged
            if later is not write
        )
        if not overtaken:
            values.add(write.value)
    return values


def _storm(
    server: LiveServer, token: str, number: int, ids: dict[str, list[str]], writes: list[Write]
) -> None:
    """PATCH users' displayName and groups' members until the server dies."""
    with _client(server, token) as client:
        _patch_until_killed(client, random.Random(number), number, ids, writes)


def _patch_until_killed(
    client: httpx.Client,
    chance: random.Random,
    number: int,
    ids: dict[str, list[str]],
    writes: list[Write],
) -> None:
    for sequence in range(1_000_000):
        user = chance.choice(ids["users"])
        if chance.random() < 0.5:
            value = f"Name {number}.{sequence}"
            write = Write(("user", user), value, time.monotonic())
            path = f"/Users/{user}"
            operations = [{"op": "replace", "path": "displayName", "value": value}]
        else:
            group = chance.choice(ids["groups"])
            add = chance.random() < 0.5
            write = Write(("member", group, user), add, time.monotonic())
            path = f"/Groups/{group}"
            operations = [
                {"op": "add", "path": "members", "value": [{"value": user}]}
                if add
                else {"op": "remove", "path": f'members[value eq "{user}"]'}
            ]
        writes.append(write)
        try:
            response = client.patch(path, json={"schemas": [PATCH], "Operations": operations})
        except httpx.TransportError:
            return  # the kill
        write.status = response.status_code
        if response.is_success:
            write.answered = time.monotonic()


def test_a_patch_storm_cut_off_by_a_kill_keeps_every_acknowledged_write(database_url):
    tenant = f"crash-patch-{uuid.uuid4().hex[:8]}"
    token = create_token(database_url, tenant)
    writes: list[list[Write]] = [[] for _ in range(THREADS)]

    with running_server(database_url) as first, _client(first, token) as client:
        ids: dict[str, list[str]] = {"users": [], "groups": []}
        for i in range(USERS):
            body = {"schemas": [USER], "userName": f"{tenant}-{i}", "displayName": "Initial"}
            created = client.post("/Users", json=body)
            assert created.status_code == 201, created.text
            ids["users"].append(created.json()["id"])
        for i in range(GROUPS):
            created = client.post("/Groups", json={"schemas": [GROUP], "displayName": f"G{i}"})
            assert created.status_code == 201, created.text
            ids["groups"].append(created.json()["id"])

        threads = [
            threading.Thread(target=_storm, args=(first, token, n, ids, writes[n]))
            for n in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + TIMEOUT
        while sum(w.answered is not None for ws in writes for w in ws) < ACKNOWLEDGED_BEFORE_KILL:
            assert all(thread.is_alive() for thread in threads), first.output()[-4000:]
            assert time.monotonic() < deadline, first.output()[-4000:]
            time.sleep(0.01)
        _crash(first)
        for thread in threads:
            thread.join(timeout=TIMEOUT)

    every = [w for ws in writes for w in ws]
    refused = [w for w in every if w.status is not None and w.answered is None]
    assert not refused, [(w.register, w.status) for w in refused]
    cut_off = [w for w in every if w.status is None]
    assert cut_off, "no PATCH was in flight at the kill"

    with running_server(database_url) as second, _client(second, token) as client:
        for user in ids["users"]:
            shown = client.get(f"/Users/{user}").json()["displayName"]
            of_user = [w for w in every if w.register == ("user", user)]
            assert shown in _possible("Initial", of_user), (shown, of_user)
        for group in ids["groups"]:
            response = client.get(f"/Groups/{group}")
            members = {m["value"] for m in response.json().get("members", [])}
            for user in ids["users"]:
                of_pair = [w for w in every if w.register == ("member", group, user)]
                assert (user in members) in _possible(False, of_pair), (group, user, of_pair)
        report = _db_check(database_url, tenant)
    assert report.startswith(f"store is consistent: {USERS} users, {GROUPS} groups"), report
