"""The soak's workload (``bench/soak.py``): a steady mix of SCIM requests and the faults.

Requests start on a fixed clock (``Options.rate`` a second) whatever the answers take, each in
its own task on one event loop, to the servers in turn; nothing is retried (httpx retries
nothing by default), so no retry can hide a lost write. Every write goes into the ledger
(``bench/soak_ledger.py``) before it is sent and is settled by its answer. Faults
(``bench/soak_faults.py``) run in a thread beside the load, every ``Options.fault_every``
seconds.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import soak_faults
from bench.soak_ledger import Ledger, Value, Write

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MIX = {  # operation: weight in the workload, about a percentage
    "create user": 14,
    "patch user displayName": 14,
    "patch user active": 8,
    "put user": 8,
    "delete user": 5,
    "create group": 3,
    "add member": 10,
    "remove member": 5,
    "patch group displayName": 2,
    "delete group": 1,
    "get user": 10,
    "filter userName": 8,
    "list users": 3,
    "get group": 5,
    "bulk": 4,
}


@dataclass(frozen=True)
class Options:
    duration: float = 600.0
    """Seconds of workload per backend."""
    rate: float = 20.0
    """Requests started per second."""
    fault_every: float = 60.0
    """Seconds between faults; the first comes after this long."""
    faults: tuple[str, ...] | None = None
    """The faults, taken in turn; None: the backend's default (``bench.soak.DEFAULT_FAULTS``)."""
    quiet_tail: float = 10.0
    """No fault starts in the run's last seconds."""
    grace: float = 2.0
    """Seconds a fault window stays open after the first success that ends it."""
    recovery_limit: float = 30.0
    """A window closes at the latest this long after its fault is over."""
    timeout: float = 10.0
    """Per request."""
    max_in_flight: int = 64
    """Requests not started when this many are unanswered (counted as not sent)."""
    seed: int = 1


@dataclass
class Sent:
    """One request of the workload."""

    kind: str
    server: int
    sent: float
    finished: float = 0.0
    status: int | None = None  # None: no answer
    outcome: str = ""  # ok, refused (an expected 4xx), error
    effect: str = ""  # on the store: ok (acknowledged), refused (not applied), unknown
    detail: str = ""

    def describe(self, origin: float) -> str:
        answer = self.status if self.status is not None else "no answer"
        return (
            f"{self.kind} to server {self.server} at {self.sent - origin:.2f}-"
            f"{self.finished - origin:.2f} s: {answer} {self.detail}"
        )


@dataclass
class Fault:
    kind: str
    start: float
    over: float = 0.0  # the fault is over: the server answers /healthz, the database is up
    servers: list[int] = field(default_factory=list)  # the servers it affected
    end: float = 0.0  # the window's end


def _user(name: str, display: str, active: bool) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "displayName": display,
        "active": active,
        "emails": [{"value": name, "type": "work", "primary": True}],
    }


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


class Workload:
    """Sends the mix at a steady rate and keeps the ledger; one event loop, so no locks."""

    def __init__(
        self,
        base_urls: list[str],
        token: str,
        injector: soak_faults.Injector,
        options: Options,
        progress: bool = False,
    ) -> None:
        self.base_urls = base_urls
        self.progress = progress
        self.token = token
        self.injector = injector
        self.options = options
        self.chance = random.Random(options.seed)
        self.nonce = uuid.uuid4().hex[:6]
        self.ledger = Ledger()
        self.requests: list[Sent] = []
        self.faults: list[Fault] = []
        self.not_sent = 0
        self.sequence = 0
        self.turn = 0
        self.clients: list[httpx.AsyncClient] = []
        self.origin = 0.0

    def _next(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix} {self.sequence}"

    # --- sending -------------------------------------------------------------------------

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        writes: Iterable[Write] = (),
        targets: Iterable[str] = (),
        operations: int = 0,
    ) -> tuple[Sent, httpx.Response | None]:
        """Send one request to the next server in turn, settling ``writes`` by its answer.

        ``operations``: write operations counted for the ledger's totals (0 for reads and
        for /Bulk, whose operations are settled one by one).
        """
        server = self.turn % len(self.clients)
        self.turn += 1
        record = Sent(kind, server, time.monotonic())
        self.requests.append(record)
        writes = list(writes)
        for write in writes:
            write.sent = record.sent
            self.ledger.add(write)
        content = None if body is None else json.dumps(body).encode()
        response: httpx.Response | None = None
        try:
            response = await self.clients[server].request(
                method, path, content=content, params=params
            )
        except httpx.HTTPError as exc:
            record.detail = f"{type(exc).__name__}: {exc}"[:300]
            record.outcome = "error"
            # No connection, no request: only then is an unanswered write known not to land.
            undelivered = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
            record.effect = "refused" if isinstance(exc, undelivered) else "unknown"
        record.finished = time.monotonic()
        if response is not None:
            record.status = response.status_code
            if response.is_success:
                record.outcome = "ok"
            elif 400 <= response.status_code < 500:
                expected = self.ledger.expected_refusal(
                    response.status_code, targets, record.finished
                )
                record.outcome = "refused" if expected else "error"
            else:
                record.outcome = "error"
            if not response.is_success:
                record.detail = response.text[:300]
            # A 4xx refused the writes even when it was unexpected; a 5xx leaves them unknown.
            refused = 400 <= response.status_code < 500
            record.effect = "ok" if response.is_success else "refused" if refused else "unknown"
        self.ledger.settle(writes, record.effect, record.finished)
        if operations:
            self.ledger.count(record.effect, operations)
        return record, response

    # --- the operations ------------------------------------------------------------------

    async def create_user(self) -> None:
        name = f"soak-{self.nonce}-{self._next('u').split()[1]}@example.com"
        display, active = self._next("Soak"), self.chance.random() < 0.8
        sent, response = await self.call(
            "create user", "POST", "/Users", _user(name, display, active), operations=1
        )
        if response is not None and response.is_success:
            id = response.json()["id"]
            self.ledger.created_user(id, name, display, active, sent.sent, sent.finished)
        elif sent.effect == "unknown":
            self.ledger.unknown_users[name] = (display, active)

    async def patch_user(self, attribute: str) -> None:
        id = self.ledger.live_users.pick(self.chance)
        if id is None:
            return await self.create_user()
        value: Value = (
            self._next("Soak") if attribute == "displayName" else self.chance.random() < 0.7
        )
        await self.call(
            f"patch user {attribute}",
            "PATCH",
            f"/Users/{id}",
            _patch({"op": "replace", "path": attribute, "value": value}),
            writes=[Write((attribute, id), value)],
            targets=[id],
            operations=1,
        )

    async def put_user(self) -> None:
        id = self.ledger.live_users.pick(self.chance)
        if id is None:
            return await self.create_user()
        display, active = self._next("Soak"), self.chance.random() < 0.7
        await self.call(
            "put user",
            "PUT",
            f"/Users/{id}",
            _user(self.ledger.user_names[id], display, active),
            writes=[Write(("displayName", id), display), Write(("active", id), active)],
            targets=[id],
            operations=1,
        )

    async def delete_user(self) -> None:
        id = self.ledger.live_users.pick(self.chance)
        if id is None or len(self.ledger.live_users) < 20:
            return await self.create_user()
        self.ledger.deleting(id, time.monotonic())
        await self.call(
            "delete user",
            "DELETE",
            f"/Users/{id}",
            writes=[Write(("user", id), False)],
            targets=[id],
            operations=1,
        )

    def _some_users(self, most: int) -> list[str]:
        return sorted({u for _ in range(self.chance.randint(0, most)) if (u := self._live_user())})

    def _live_user(self) -> str | None:
        return self.ledger.live_users.pick(self.chance)

    async def create_group(self) -> None:
        name = self._next("Soak group")
        members = self._some_users(3)
        body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
        sent, response = await self.call(
            "create group",
            "POST",
            "/Groups",
            body,
            params={"excludedAttributes": "members"},
            targets=members,
            operations=1,
        )
        if response is not None and response.is_success:
            id = response.json()["id"]
            self.ledger.created_group(id, name, members, sent.sent, sent.finished)
        elif sent.effect == "unknown":
            self.ledger.unknown_groups.add(name)

    async def change_member(self, add: bool) -> None:
        group = self.ledger.live_groups.pick(self.chance)
        if group is None:
            return await self.create_group()
        if add:
            user = self._live_user()
        else:
            candidates = sorted(
                self.ledger.added.get(group, set()) & self.ledger.live_users.index.keys()
            )
            user = self.chance.choice(candidates) if candidates else None
        if user is None:
            return await self.create_user()
        if add:
            operation = {"op": "add", "path": "members", "value": [{"value": user}]}
            self.ledger.added.setdefault(group, set()).add(user)
        else:
            operation = {"op": "remove", "path": f'members[value eq "{user}"]'}
        await self.call(
            "add member" if add else "remove member",
            "PATCH",
            f"/Groups/{group}",
            _patch(operation),
            params={"excludedAttributes": "members"},
            writes=[Write(("member", group, user), add)],
            targets=[group, user],
            operations=1,
        )

    async def rename_group(self) -> None:
        group = self.ledger.live_groups.pick(self.chance)
        if group is None:
            return await self.create_group()
        name = self._next("Soak group")
        await self.call(
            "patch group displayName",
            "PATCH",
            f"/Groups/{group}",
            _patch({"op": "replace", "path": "displayName", "value": name}),
            params={"excludedAttributes": "members"},
            writes=[Write(("groupName", group), name)],
            targets=[group],
            operations=1,
        )

    async def delete_group(self) -> None:
        group = self.ledger.live_groups.pick(self.chance)
        if group is None or len(self.ledger.live_groups) < 5:
            return await self.create_group()
        self.ledger.deleting(group, time.monotonic())
        await self.call(
            "delete group",
            "DELETE",
            f"/Groups/{group}",
            writes=[Write(("group", group), False)],
            targets=[group],
            operations=1,
        )

    async def read(self, kind: str) -> None:
        user = self._live_user()
        group = self.ledger.live_groups.pick(self.chance)
        if kind == "get user" and user:
            await self.call(kind, "GET", f"/Users/{user}", targets=[user])
        elif kind == "filter userName" and user:
            query = {"filter": f'userName eq "{self.ledger.user_names[user]}"'}
            await self.call(kind, "GET", "/Users", params=query)
        elif kind == "get group" and group:
            params = {"excludedAttributes": "members"}
            await self.call(kind, "GET", f"/Groups/{group}", params=params, targets=[group])
        else:
            query = {"filter": f'displayName sw "Soak {self.chance.randint(1, 9)}"', "count": "10"}
            await self.call("list users", "GET", "/Users", params=query)

    async def bulk(self) -> None:
        """A POST /Users, a PATCH of a user, maybe a group of the new user, maybe a DELETE."""
        name = f"soak-{self.nonce}-{self._next('u').split()[1]}@example.com"
        display, active = self._next("Soak"), self.chance.random() < 0.8
        operations: list[dict[str, Any]] = [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u",
                "data": _user(name, display, active),
            }
        ]
        writes: list[list[Write]] = [[]]
        patched = self._live_user()
        if patched:
            value = self._next("Soak")
            operations.append(
                {
                    "method": "PATCH",
                    "path": f"/Users/{patched}",
                    "data": _patch({"op": "replace", "path": "displayName", "value": value}),
                }
            )
            writes.append([Write(("displayName", patched), value)])
        group_name = None
        if self.chance.random() < 0.5:
            group_name = self._next("Soak group")
            group = {
                "schemas": [GROUP],
                "displayName": group_name,
                "members": [{"value": "bulkId:u"}],
            }
            operations.append({"method": "POST", "path": "/Groups", "bulkId": "g", "data": group})
            writes.append([])
        deleted = self._live_user()
        if (
            deleted
            and deleted != patched
            and self.chance.random() < 0.4
            and len(self.ledger.live_users) >= 20
        ):
            self.ledger.deleting(deleted, time.monotonic())
            operations.append({"method": "DELETE", "path": f"/Users/{deleted}"})
            writes.append([Write(("user", deleted), False)])
        targets = [id for id in (patched, deleted) if id]
        now = time.monotonic()
        for write in (w for ws in writes for w in ws):
            write.sent = now
            self.ledger.add(write)
        sent, response = await self.call(
            "bulk", "POST", "/Bulk", {"schemas": [BULK], "Operations": operations}, targets=targets
        )
        if response is None or not response.is_success:
            for ws in writes:
                self.ledger.settle(ws, sent.effect, sent.finished)
            self.ledger.count(sent.effect, len(operations))
            if sent.effect == "unknown":
                self.ledger.unknown_users[name] = (display, active)
                if group_name:
                    self.ledger.unknown_groups.add(group_name)
            return
        results = response.json()["Operations"]
        created: str | None = None
        for position, operation in enumerate(operations):
            result = results[position] if position < len(results) else {"status": "412"}
            status = int(result["status"])
            settled = "ok" if status < 300 else "refused"
            self.ledger.settle(writes[position], settled, sent.finished)
            self.ledger.count(settled)
            if settled != "ok" or operation["method"] != "POST":
                if settled != "ok" and not self.ledger.expected_refusal(
                    status, targets, sent.finished
                ):
                    sent.outcome = "error"
                    sent.detail = f"operation {position}: {json.dumps(result)[:250]}"
                continue
            id = result["location"].rsplit("/", 1)[1]
            if operation["path"] == "/Users":
                created = id
                self.ledger.created_user(id, name, display, active, sent.sent, sent.finished)
            else:
                members = [created] if created else []
                self.ledger.created_group(id, group_name or "", members, sent.sent, sent.finished)

    # --- the run -------------------------------------------------------------------------

    async def one(self, kind: str) -> None:
        if kind == "create user":
            await self.create_user()
        elif kind == "patch user displayName":
            await self.patch_user("displayName")
        elif kind == "patch user active":
            await self.patch_user("active")
        elif kind == "put user":
            await self.put_user()
        elif kind == "delete user":
            await self.delete_user()
        elif kind == "create group":
            await self.create_group()
        elif kind in ("add member", "remove member"):
            await self.change_member(kind == "add member")
        elif kind == "patch group displayName":
            await self.rename_group()
        elif kind == "delete group":
            await self.delete_group()
        elif kind == "bulk":
            await self.bulk()
        else:
            await self.read(kind)

    def fault_times(self) -> list[float]:
        options = self.options
        times: list[float] = []
        at = options.fault_every
        while at < options.duration - options.quiet_tail:
            times.append(at)
            at += options.fault_every
        return times

    async def inject_faults(self, kinds: tuple[str, ...]) -> None:
        for number, at in enumerate(self.fault_times()):
            await asyncio.sleep(max(0.0, self.origin + at - time.monotonic()))
            fault = Fault(kinds[number % len(kinds)], time.monotonic())
            self.faults.append(fault)
            fault.servers = await asyncio.to_thread(self.injector.inject, fault.kind)
            fault.over = time.monotonic()
            if self.progress:
                print(
                    f"  {fault.start - self.origin:.0f} s: {fault.kind} (servers {fault.servers}),"
                    f" over after {fault.over - fault.start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

    async def run(self, kinds: tuple[str, ...]) -> None:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/scim+json",
            "Content-Type": "application/scim+json",
        }
        limits = httpx.Limits(max_connections=self.options.max_in_flight)
        names, weights = list(MIX), list(MIX.values())
        failures: list[BaseException] = []

        def finished(task: asyncio.Task[None]) -> None:
            pending.discard(task)
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                failures.append(failure)  # a bug of the workload: stop the run

        async with AsyncExitStack() as stack:
            for url in self.base_urls:
                client = httpx.AsyncClient(
                    base_url=url, headers=headers, limits=limits, timeout=self.options.timeout
                )
                self.clients.append(await stack.enter_async_context(client))
            self.origin = time.monotonic()
            injecting = asyncio.create_task(self.inject_faults(kinds))
            pending: set[asyncio.Task[None]] = set()
            for tick in range(int(self.options.duration * self.options.rate)):
                due = self.origin + tick / self.options.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if failures or (injecting.done() and injecting.exception()):
                    break
                if len(pending) >= self.options.max_in_flight:
                    self.not_sent += 1
                    continue
                task = asyncio.create_task(self.one(self.chance.choices(names, weights)[0]))
                pending.add(task)
                task.add_done_callback(finished)
            if pending:
                await asyncio.wait(pending)
            await injecting  # raises what a fault raised
            if failures:
                raise failures[0]
