"""scimd's load benchmark: every phase against scimd and, in the same run, its baselines.

Why baselines in the same run: absolute requests/s depend on the machine and
on what else it runs, so the results that mean something are ratios to servers
measured minutes apart on the same machine with the same driver: a bare
Starlette endpoint (the ceiling of any Starlette/uvicorn server) and
scim2-server (the reference Python SCIM server, in memory).

Usage::

    python -m bench.run                       # short: ~120k users, a few minutes
    python -m bench.run --full                # 1,000,000 users
    python -m bench.run --backends sqlite --duration 5 --markdown results.md
    python -m bench.run --pg-url postgresql+psycopg://USER@HOST/DB  # not a throw-away cluster

Phases, in order, each a warm-up then ``--duration`` measured seconds on
``--concurrency`` keep-alive connections: create (POST /Users), GET by id,
filter ``userName eq``, PATCH (replace displayName), pages of 100 by index
(first, last) and by cursor (first, last: a cursor walked to the last page and
held), member add into groups of 10 and into the big group (PATCH add one
member, ``?excludedAttributes=members``), and /Bulk of 1,000 creates.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy

from bench import dataset, driver, report, servers
from bench.dataset import Dataset, Shape, patch_payload, user_payload
from bench.driver import HTTPResponse, is_2xx, request_bytes
from bench.report import Outcome
from directory import database

PAGE = 100


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    concurrency: int
    bulk_concurrency: int


class Workload:
    """Builds one server's requests and measures phases against it."""

    def __init__(self, server: servers.Server, token: str, options: Options) -> None:
        self.server = server
        self.options = options
        self.nonce = secrets.token_hex(3)  # created userNames never collide across runs
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/scim+json",
        }
        self.send_headers = {**self.headers, "Content-Type": "application/scim+json"}

    def get(self, target: str) -> bytes:
        return request_bytes("GET", self.server.base + target, self.server.port, self.headers)

    def send(self, method: str, target: str, document: Any) -> bytes:
        body = json.dumps(document).encode()
        return request_bytes(
            method, self.server.base + target, self.server.port, self.send_headers, body
        )

    def call(self, method: str, target: str, document: Any = None) -> HTTPResponse:
        """One request outside any load (probes and set-up)."""
        return driver.run(self._call(method, target, document))

    async def _call(self, method: str, target: str, document: Any) -> HTTPResponse:
        client = driver.Client(self.server.port, self.send_headers)
        try:
            return await client.call(method, self.server.base + target, document)
        finally:
            await client.close()

    def measure(
        self,
        key: str,
        label: str,
        make: Callable[[int], bytes],
        *,
        concurrency: int | None = None,
        warmup: float | None = None,
        max_requests: int | None = None,
        accept: Callable[[HTTPResponse], bool] = is_2xx,
    ) -> Outcome:
        result = driver.run(
            driver.run_load(
                self.server.port,
                make,
                concurrency=concurrency or self.options.concurrency,
                warmup=self.options.warmup if warmup is None else warmup,
                duration=self.options.duration,
                max_requests=max_requests,
                accept=accept,
            )
        )
        outcome = Outcome(key, label, result)
        print("    " + report.progress_line(outcome), flush=True)
        if result.first_failure:
            print(f"      first failure: {result.first_failure}", flush=True)
        return outcome


def _bulk_succeeded(response: HTTPResponse) -> bool:
    """A /Bulk answers 200 even when operations fail: every operation must have been created."""
    if response.status != 200:
        return False
    operations = response.json().get("Operations", [])
    return len(operations) == 1000 and all(str(op.get("status")) == "201" for op in operations)


def _total_users(work: Workload) -> int:
    response = work.call("GET", "/Users?startIndex=1&count=1")
    if response.status != 200:
        raise RuntimeError(f"counting users: {response.status} {response.body[:200]!r}")
    total: int = response.json()["totalResults"]
    return total


async def _walk_to_last_page(work: Workload, total: int) -> tuple[str, int] | None:
    """A cursor for the last page, found by following nextCursor, and that page's size.

    The last page is the last ``PAGE`` users, a full page like the first (the
    index phase asks for the same users), reached fastest first: hops of 1,000
    ids only, then one shorter hop. A server whose cursors are bound to their
    query's attributes or count (scim2-server) refuses the shortcut; the walk
    then follows pages of ``PAGE`` on the very query the phase sends, and ends
    on whatever remains after the last full page.
    """
    client = driver.Client(work.server.port, work.headers)
    plans = (
        (1000, "&attributes=id", max(0, total - PAGE)),
        (1000, "", max(0, total - PAGE)),
        (PAGE, "", (total - 1) // PAGE * PAGE),
    )
    try:
        for hop, extra, before_last in plans:
            cursor, position = "", 0
            while position < before_last:
                count = min(hop, before_last - position)
                target = f"/Users?count={count}{extra}&cursor={quote(cursor)}"
                response = await client.call("GET", work.server.base + target)
                if response.status != 200:
                    break
                body = response.json()
                position += len(body.get("Resources", []))
                cursor = body.get("nextCursor") or ""
                if not cursor:
                    break
            if position != before_last:
                continue
            check = await client.call(
                "GET", f"{work.server.base}/Users?count={PAGE}&cursor={quote(cursor)}"
            )
            size = len(check.json().get("Resources", [])) if check.status == 200 else -1
            if size == total - before_last:
                return cursor, size
        return None
    finally:
        await client.close()


def _check_members(work: Workload, data: Dataset, added: int) -> str:
    """Whether the big group holds what was loaded plus what the member-add phase added."""
    query = quote(f'groups.value eq "{data.big_group_id}"')
    response = work.call("GET", f"/Users?filter={query}&count=0")
    if response.status != 200:
        return f"member count not checked (filter groups.value answered {response.status})"
    found = response.json()["totalResults"]
    expected = data.big_group_size + added
    verdict = "ok" if found == expected else "MISMATCH"
    return f"big group holds {found:,} members after the phase, expected {expected:,}: {verdict}"


def measure_scim(
    work: Workload, data: Dataset, *, cursors: bool, groups_filter: bool
) -> dict[str, Outcome]:
    """Every SCIM phase, in order, against one loaded server.

    ``cursors``: the server pages by cursor; ``groups_filter``: it answers
    ``groups.value eq`` (so the member-add phase can be checked).
    """
    rnd = random.Random(7)
    ids, names, nonce = data.user_ids, data.user_names, work.nonce
    out: dict[str, Outcome] = {}

    def phase(outcome: Outcome) -> None:
        if outcome.result is None:
            print("    " + report.progress_line(outcome), flush=True)
        out[outcome.key] = outcome

    phase(
        work.measure(
            "create",
            "create (POST /Users)",
            lambda n: work.send("POST", "/Users", user_payload(f"c{nonce}-{n}")),
        )
    )
    phase(work.measure("get", "GET by id", lambda n: work.get(f"/Users/{rnd.choice(ids)}")))
    phase(
        work.measure(
            "filter",
            "filter userName eq",
            lambda n: work.get(
                "/Users?filter=" + quote(f'userName eq "{rnd.choice(names)}"', safe="")
            ),
        )
    )
    phase(
        work.measure(
            "filter-1",
            "filter userName eq, 1 client",
            lambda n: work.get(
                "/Users?filter=" + quote(f'userName eq "{rnd.choice(names)}"', safe="")
            ),
            concurrency=1,
        )
    )
    phase(
        work.measure(
            "patch",
            "PATCH replace displayName",
            lambda n: work.send(
                "PATCH",
                f"/Users/{rnd.choice(ids)}",
                patch_payload({"op": "replace", "path": "displayName", "value": f"Renamed {n}"}),
            ),
        )
    )

    total = _total_users(work)
    last = max(1, total - PAGE + 1)  # the last full page: the same size as the first
    print(f"    pages over {total:,} users; the last page starts at {last:,}", flush=True)
    phase(
        work.measure(
            "index-first",
            "page of 100, index, first",
            lambda n: work.get(f"/Users?startIndex=1&count={PAGE}"),
        )
    )
    phase(
        work.measure(
            "index-last",
            "page of 100, index, last",
            lambda n: work.get(f"/Users?startIndex={last}&count={PAGE}"),
        )
    )
    if not cursors:
        skipped = "skipped: scim2-server needs its cursor extra (cryptography)"
        phase(Outcome("cursor-first", "page of 100, cursor, first", None, skipped))
        phase(Outcome("cursor-last", "page of 100, cursor, last", None, skipped))
    else:
        phase(
            work.measure(
                "cursor-first",
                "page of 100, cursor, first",
                lambda n: work.get(f"/Users?count={PAGE}&cursor="),
            )
        )
        started = time.perf_counter()
        walked = driver.run(_walk_to_last_page(work, total))
        if walked is None:
            phase(Outcome("cursor-last", "page of 100, cursor, last", None, "no cursor walk"))
        else:
            held, size = walked
            print(
                f"    walked to the last page ({size} users) in "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )
            last_page = work.measure(
                "cursor-last",
                "page of 100, cursor, last",
                lambda n: work.get(f"/Users?count={PAGE}&cursor={quote(held)}"),
            )
            if size != PAGE:
                last_page.note = f"the last page held {size} users (cursors bound to count)"
            phase(last_page)

    pool, small = data.pool, data.small_group_ids

    def add_member(group_id: str, n: int) -> bytes:
        operation = {"op": "add", "path": "members", "value": [{"value": pool[n]}]}
        return work.send(
            "PATCH", f"/Groups/{group_id}?excludedAttributes=members", patch_payload(operation)
        )

    phase(
        work.measure(
            "member-add-10",
            f"member add, groups of {data.small_group_size}",
            lambda n: add_member(small[n % len(small)], n),
            max_requests=len(pool),
        )
    )
    big = work.measure(
        "member-add-big",
        f"member add, group of {data.big_group_size:,}",
        lambda n: add_member(data.big_group_id, n),
        max_requests=len(pool),
    )
    assert big.result is not None
    if groups_filter:
        big.note = _check_members(work, data, big.result.ok + big.result.warmup_ok)
        print(f"      {big.note}", flush=True)
    phase(big)

    def bulk(n: int) -> bytes:
        keys = [f"b{nonce}-{n}-{i}" for i in range(1000)]
        return work.send("POST", "/Bulk", dataset.bulk_create_payload(keys))

    phase(
        work.measure(
            "bulk",
            "/Bulk of 1,000 creates",
            bulk,
            concurrency=work.options.bulk_concurrency,
            accept=_bulk_succeeded,
        )
    )
    return out


def run_starlette(options: Options) -> Outcome:
    print("== raw Starlette (the ceiling): GET by id from a dict", flush=True)
    users = 10_000
    ids = servers.raw_user_ids(users)
    rnd = random.Random(7)
    with servers.running("starlette", "--users", str(users)) as server:
        work = Workload(server, "none", options)
        size = len(work.call("GET", f"/Users/{ids[0]}").body)
        print(f"    body {size} bytes", flush=True)
        return work.measure("get", "GET by id", lambda n: work.get(f"/Users/{rnd.choice(ids)}"))


def run_scim2_server(options: Options, shape: Shape) -> dict[str, Outcome]:
    cursors = servers.scim2_server_cursors_available()
    print(
        f"== scim2-server (in memory): {shape.users:,} users loaded over HTTP, "
        f"big group {shape.big_group:,}",
        flush=True,
    )
    with servers.running("scim2-server") as server:
        work = Workload(server, "unused-scim2-server-needs-no-auth", options)
        data = driver.run(_load_scim2_server(work, shape))
        return measure_scim(work, data, cursors=cursors, groups_filter=False)


async def _load_scim2_server(work: Workload, shape: Shape) -> Dataset:
    client = driver.Client(work.server.port, work.send_headers)
    try:
        return await dataset.load_over_http(client, work.server.base, shape)
    finally:
        await client.close()


def run_scimd(
    backend: str, url: str, options: Options, shape: Shape, *, clean_up: bool = False
) -> dict[str, Outcome]:
    """Load scimd's store directly, serve it, measure it; ``clean_up``: delete the tenant after."""
    print(
        f"== scimd on {backend}: loading {shape.users:,} users, big group {shape.big_group:,}",
        flush=True,
    )
    engine = database.create_store_engine(url, pool_size=2)
    database.upgrade(engine)
    tenant = dataset.create_tenant(engine)
    started = time.perf_counter()
    data = dataset.load_scimd(engine, tenant.id, shape)
    print(f"    loaded through SQLAlchemy Core in {time.perf_counter() - started:.1f}s", flush=True)
    try:
        with servers.running("scimd", "--database-url", url) as server:
            work = Workload(server, tenant.token, options)
            # A user in the big group only, as most users the GET phase reads are.
            typical = data.user_ids[
                min(len(data.small_group_ids) * data.small_group_size, data.big_group_size - 1)
            ]
            size = len(work.call("GET", f"/Users/{typical}").body)
            print(f"    GET by id body {size} bytes (a member of one group)", flush=True)
            outcomes = measure_scim(work, data, cursors=True, groups_filter=True)
            peak, resident = servers.memory_mb(server)
            print(f"    server memory: peak RSS {peak:,.0f} MB, now {resident:,.0f} MB", flush=True)
            outcomes["memory"] = Outcome("memory", "server RSS", None, f"{peak:.1f}")
            return outcomes
    finally:
        if clean_up:  # a --pg-url database is not ours to leave full
            dataset.delete_tenant(engine, tenant)
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--full", action="store_true", help="1,000,000 users, longer phases")
    parser.add_argument("--duration", type=float, help="measured seconds a phase (3; --full 10)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds a phase (0.5; --full 2)")
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the tables there")
    parser.add_argument(
        "--pg-url", help="PostgreSQL database to use (default: a throw-away cluster)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--bulk-concurrency", type=int, default=2, help="connections for /Bulk")
    parser.add_argument("--users", type=int, help="scimd's users (120,000; --full 1,000,000)")
    parser.add_argument("--big-group", type=int, default=100_000, help="scimd's big group")
    parser.add_argument(
        "--baseline-group", type=int, default=2_000, help="scim2-server's big group (and users×2)"
    )
    args = parser.parse_args(argv)
    options = Options(
        duration=args.duration or (10.0 if args.full else 3.0),
        warmup=args.warmup if args.warmup is not None else (2.0 if args.full else 0.5),
        concurrency=args.concurrency,
        bulk_concurrency=args.bulk_concurrency,
    )
    users = args.users or (1_000_000 if args.full else args.big_group + 20_000)
    shape = Shape(users=users, big_group=args.big_group)
    baseline_shape = Shape(users=2 * args.baseline_group, big_group=args.baseline_group)

    started = time.perf_counter()
    header = report.environment(
        options.__dict__, servers.describe_settings(), sqlalchemy.__version__
    )
    postgres = (
        "--pg-url" if args.pg_url else "a throw-away cluster (fsync and synchronous_commit off)"
    )
    header += (
        f"\nscimd: {shape.users:,} users, big group {shape.big_group:,}, "
        f"{shape.small_groups} groups of {shape.small_group_size}; its per-request log lines off; "
        f"SQLite in WAL mode in a temp dir, PostgreSQL on {postgres}"
        f"\nscim2-server: {baseline_shape.users:,} users, big group {baseline_shape.big_group:,}, "
        f"cursors {'on' if servers.scim2_server_cursors_available() else 'off (no cryptography)'}"
    )
    print(header, flush=True)
    loads: list[str] = []

    def note_load(name: str) -> None:
        # The machine is shared: a load well above what this run makes means others ran too.
        loads.append(f"{name} {os.getloadavg()[0]:.1f}")

    raw = run_starlette(options)
    note_load("raw Starlette")
    baseline = run_scim2_server(options, baseline_shape)
    note_load("scim2-server")
    results: dict[str, dict[str, Outcome]] = {}
    for backend in args.backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="scimd-bench-") as directory:
                url = f"sqlite:///{directory}/scimd.db"
                results[backend] = run_scimd(backend, url, options, shape)
        else:
            with servers.postgres_database(args.pg_url) as url:
                results[backend] = run_scimd(
                    backend, url, options, shape, clean_up=bool(args.pg_url)
                )
        note_load(f"scimd on {backend}")

    text, markdown = report.render(raw, baseline, results, shape, baseline_shape)
    elapsed = time.perf_counter() - started
    footer = (
        f"total time {elapsed / 60:.1f} min; 1-minute load average after each server's phases, "
        f"on {os.cpu_count()} CPUs (the driver, the server and PostgreSQL's backends make "
        "part of it; more than usual means other processes competed): " + ", ".join(loads)
    )
    print("\n" + text + "\n\n" + footer, flush=True)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(f"# scimd benchmark\n\n{header}\n\n{markdown}\n\n{footer}\n")
        print(f"markdown written to {args.markdown}")


if __name__ == "__main__":
    main()
