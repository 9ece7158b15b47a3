#!/usr/bin/env python3
"""Benchmark: sync SQLAlchemy in a threadpool vs async SQLAlchemy for scimd.

Why this exists
---------------
scimd's request path must pick one database access style:

* **sync** - SQLAlchemy Core on a regular ``Engine``; each request does
  ``with engine.begin()`` inside ``starlette.concurrency.run_in_threadpool``
  (anyio worker threads, default limit 40);
* **async** - ``create_async_engine`` with ``async with engine.begin()``
  directly on the event loop (aiosqlite for SQLite; psycopg 3 async or
  asyncpg for PostgreSQL).

Rather than argue about it, this script measures it.  For every variant it
builds a fresh ``users`` table (10,000 rows, ~600-byte JSON documents, an
index on ``(tenant_id, user_name)``), serves a minimal Starlette app with
``GET /u/{id}`` and ``POST /u`` under uvicorn (one worker, in a subprocess on
a free 127.0.0.1 port), and drives it with a small asyncio load generator
that speaks raw HTTP/1.1 keep-alive over asyncio streams (httpx is far too
slow to saturate the server).  It reports requests/s and p50/p99 latency per
variant and phase, then the ratio of each async variant to the sync variant
on the same database.

Usage::

    python bench/sync_vs_async.py                       # SQLite only
    python bench/sync_vs_async.py --pg-url postgresql://postgres@127.0.0.1:5432/bench
    SCIMD_BENCH_PG_URL=postgresql://... python bench/sync_vs_async.py --duration 8 --repeat 2

PostgreSQL objects live in a dedicated schema (``scimd_bench`` by default)
that is dropped and recreated for every run and dropped at the end; nothing
else in the target database is touched.

The script re-invokes itself (``serve`` sub-command) to run each server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

# --------------------------------------------------------------------------
# Schema and data
# --------------------------------------------------------------------------

TENANTS = 10
SEED = 20240601
PG_SCHEMA_DEFAULT = "scimd_bench"

VARIANTS: dict[str, tuple[str, str]] = {
    # name: (backend, mode)
    "sqlite-sync": ("sqlite", "sync"),
    "sqlite-async": ("sqlite", "async"),
    "pg-sync": ("pg", "sync"),
    "pg-async-psycopg": ("pg", "async-psycopg"),
    "pg-async-asyncpg": ("pg", "async-asyncpg"),
}
BASELINE = {"sqlite": "sqlite-sync", "pg": "pg-sync"}
PHASES = ("read", "write")


def make_table(metadata: sa.MetaData, schema: str | None) -> sa.Table:
    """The benchmark table: a slimmed-down version of scimd's user store."""
    return sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Index("ix_users_tenant_user_name", "tenant_id", "user_name"),
        schema=schema,
    )


def row_keys(rows: int) -> list[tuple[str, int]]:
    """Deterministic (id, tenant_id) pairs; the load driver regenerates them."""
    rnd = random.Random(SEED)
    return [
        (str(uuid.UUID(int=rnd.getrandbits(128), version=4)), i % TENANTS + 1) for i in range(rows)
    ]


def scim_document(user_id: str, tenant_id: int, user_name: str) -> str:
    """A SCIM-ish user resource serialised to roughly 600 bytes of JSON."""
    doc: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user_id,
        "externalId": f"ext-{user_id[:8]}",
        "userName": user_name,
        "name": {"givenName": "Benchmark", "familyName": "User", "formatted": "Benchmark User"},
        "displayName": "Benchmark User",
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": "2024-06-01T12:00:00Z",
            "lastModified": "2024-06-01T12:00:00Z",
            "version": 'W/"1"',
            "location": f"https://scim.example.com/t/{tenant_id}/Users/{user_id}",
        },
    }
    raw = json.dumps(doc, separators=(",", ":"))
    doc["title"] = "x" * max(0, 600 - len(raw) - len(',"title":""'))
    return json.dumps(doc, separators=(",", ":"))


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings (WAL itself is persistent in the file)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def populate(url: URL, schema: str | None, rows: int) -> None:
    """(Re)create the table and bulk-load ``rows`` users using a sync engine."""
    engine = sa.create_engine(url)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    metadata = sa.MetaData()
    users = make_table(metadata, schema)
    with engine.begin() as conn:
        if schema:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        metadata.create_all(conn)
        batch: list[dict[str, Any]] = []
        for i, (uid, tenant) in enumerate(row_keys(rows)):
            name = f"user{i}@tenant{tenant}.example.com"
            batch.append(
                {
                    "id": uid,
                    "tenant_id": tenant,
                    "user_name": name,
                    "document": scim_document(uid, tenant, name),
                }
            )
            if len(batch) == 2000:
                conn.execute(users.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(users.insert(), batch)
    if url.get_backend_name() == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'VACUUM ANALYZE "{schema}".users'))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def drop_pg_schema(url: URL, schema: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def pg_url_for(base: str, driver: str) -> URL:
    """Normalise any postgres URL to a specific SQLAlchemy driver."""
    return make_url(base).set(drivername=f"postgresql+{driver}")


# --------------------------------------------------------------------------
# Server side (runs in a subprocess)
# --------------------------------------------------------------------------


def build_app(mode: str, url: URL, schema: str | None, pool_size: int) -> Any:
    """Starlette app with GET /u/{id} and POST /u for the given access mode."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    users = make_table(sa.MetaData(), schema)
    get_stmt = sa.select(users.c.document).where(
        users.c.id == sa.bindparam("id"), users.c.tenant_id == sa.bindparam("tenant_id")
    )
    ins_stmt = users.insert()
    is_sqlite = url.get_backend_name() == "sqlite"
    engine_kw: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_size}
    media = "application/scim+json"

    def new_user(body: dict[str, Any]) -> dict[str, Any]:
        uid = str(uuid.uuid4())
        tenant = int(body["tenant_id"])
        return {
            "id": uid,
            "tenant_id": tenant,
            "user_name": body["userName"],
            "document": scim_document(uid, tenant, body["userName"]),
        }

    def not_found() -> Response:
        return JSONResponse(
            {"status": "404", "detail": "not found"}, status_code=404, media_type=media
        )

    if mode == "sync":
        engine = sa.create_engine(url, **engine_kw)
        if is_sqlite:
            sa.event.listen(engine, "connect", sqlite_pragmas)

        def fetch(uid: str, tenant: int) -> str | None:
            with engine.begin() as conn:
                return conn.execute(get_stmt, {"id": uid, "tenant_id": tenant}).scalar_one_or_none()

        def store(row: dict[str, Any]) -> None:
            with engine.begin() as conn:
                conn.execute(ins_stmt, row)

        async def get_user(request: Request) -> Response:
            doc = await run_in_threadpool(
                fetch, request.path_params["id"], int(request.query_params["t"])
            )
            return not_found() if doc is None else Response(doc, media_type=media)

        async def post_user(request: Request) -> Response:
            row = new_user(await request.json())
            await run_in_threadpool(store, row)
            return Response(row["document"], status_code=201, media_type=media)

        @contextlib.asynccontextmanager
        async def lifespan(_app: Any) -> AsyncIterator[None]:
            yield
            engine.dispose()

    else:
        from sqlalchemy.ext.asyncio import create_async_engine

        aengine = create_async_engine(url, **engine_kw)
        if is_sqlite:
            sa.event.listen(aengine.sync_engine, "connect", sqlite_pragmas)

        async def get_user(request: Request) -> Response:
            async with aengine.begin() as conn:
                res = await conn.execute(
                    get_stmt,
                    {"id": request.path_params["id"], "tenant_id": int(request.query_params["t"])},
                )
                doc = res.scalar_one_or_none()
            return not_found() if doc is None else Response(doc, media_type=media)

        async def post_user(request: Request) -> Response:
            row = new_user(await request.json())
            async with aengine.begin() as conn:
                await conn.execute(ins_stmt, row)
            return Response(row["document"], status_code=201, media_type=media)

        @contextlib.asynccontextmanager
        async def lifespan(_app: Any) -> AsyncIterator[None]:
            yield
            await aengine.dispose()

    return Starlette(
        routes=[
            Route("/u/{id}", get_user, methods=["GET"]),
            Route("/u", post_user, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    app = build_app(args.mode, make_url(args.url), args.schema or None, args.pool_size)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http=http,
        loop=loop,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


# --------------------------------------------------------------------------
# Load driver
# --------------------------------------------------------------------------

_CL_RE = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class PhaseResult:
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    driver_cpu: float = 0.0  # load-driver CPU seconds / wall seconds (it shares the 2 cores)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        s = sorted(self.latencies)
        return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


async def _http_round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes
) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    m = _CL_RE.search(head)
    if m:
        await reader.readexactly(int(m.group(1)))
    return int(head[9:12])


async def run_phase(
    port: int,
    phase: str,
    concurrency: int,
    warmup: float,
    duration: float,
    keys: Sequence[tuple[str, int]],
) -> PhaseResult:
    """Hammer the server with ``concurrency`` keep-alive connections."""
    host = f"127.0.0.1:{port}"
    get_reqs = [f"GET /u/{uid}?t={t} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for uid, t in keys]
    result = PhaseResult()
    seq = 0

    def next_request(rnd: random.Random) -> bytes:
        nonlocal seq
        if phase == "read":
            return rnd.choice(get_reqs)
        seq += 1
        body = json.dumps(
            {
                "tenant_id": seq % TENANTS + 1,
                "userName": f"load-{os.getpid()}-{seq}-{rnd.getrandbits(32):08x}@example.com",
            }
        ).encode()
        return (
            f"POST /u HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/scim+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    start = time.perf_counter()
    cpu0 = time.process_time()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker(n: int) -> None:
        rnd = random.Random(n)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    break
                status = await _http_round_trip(reader, writer, next_request(rnd))
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    if 200 <= status < 300:
                        result.ok += 1
                        result.latencies.append(t1 - t0)
                    else:
                        result.errors += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    # Requests in flight at stop_at complete after it; count the real window.
    end = time.perf_counter()
    result.seconds = max(end, stop_at) - measure_from
    result.driver_cpu = (time.process_time() - cpu0) / (end - start)
    return result


def driver_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Use uvloop for the load driver too, when available, to keep it light."""
    if importlib.util.find_spec("uvloop"):
        import uvloop

        return uvloop.new_event_loop
    return None


# --------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], probe: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    req = f"GET {probe} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(req)
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


@dataclass
class Target:
    variant: str
    backend: str
    mode: str
    setup_url: URL
    serve_url: URL
    schema: str | None


def run_variant(
    t: Target, args: argparse.Namespace, keys: Sequence[tuple[str, int]]
) -> dict[str, PhaseResult]:
    populate(t.setup_url, t.schema, args.rows)
    port = free_port()
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "serve",
        "--mode",
        t.mode,
        "--url",
        t.serve_url.render_as_string(hide_password=False),
        "--schema",
        t.schema or "",
        "--port",
        str(port),
        "--pool-size",
        str(args.pool_size),
    ]
    proc = subprocess.Popen(cmd)
    try:
        uid, tenant = keys[0]
        wait_ready(port, proc, f"/u/{uid}?t={tenant}")
        out: dict[str, PhaseResult] = {}
        for phase in PHASES:
            with asyncio.Runner(loop_factory=driver_loop_factory()) as runner:
                out[phase] = r = runner.run(
                    run_phase(port, phase, args.concurrency, args.warmup, args.duration, keys)
                )
            print(
                f"  {t.variant:<18} {phase:<6} {r.rps:9.1f} req/s  p50 {r.pct(50):7.2f} ms  "
                f"p99 {r.pct(99):7.2f} ms  errors {r.errors}  driver cpu {r.driver_cpu:4.0%}",
                flush=True,
            )
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pick(runs: list[PhaseResult], how: str) -> PhaseResult:
    """Best (highest req/s) or median-by-req/s run."""
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[-1] if how == "best" else ordered[(len(ordered) - 1) // 2]


def report(results: dict[str, dict[str, list[PhaseResult]]], how: str) -> None:
    print(
        f"\n== Results ({how} of {max(len(v['read']) for v in results.values())} runs by req/s) =="
    )
    hdr = (
        f"{'variant':<18} {'phase':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        "   all runs req/s"
    )
    print(hdr)
    print("-" * len(hdr))
    for variant, phases in results.items():
        for phase in PHASES:
            r = pick(phases[phase], how)
            runs = ", ".join(f"{x.rps:.0f}" for x in phases[phase])
            print(
                f"{variant:<18} {phase:<6} {r.rps:9.1f} {r.pct(50):8.2f} {r.pct(99):8.2f}"
                f" {r.errors:6d}   {runs}"
            )

    print("\n== Ratios vs the sync variant on the same database (>1 = better than sync) ==")
    hdr = f"{'variant':<18} {'phase':<6} {'req/s x':>8} {'p50 x':>7} {'p99 x':>7}"
    print(hdr + "   (latency ratios: sync/variant, so >1 = lower latency)")
    print("-" * len(hdr))
    for variant, phases in results.items():
        base_name = BASELINE[VARIANTS[variant][0]]
        if base_name not in results:
            continue
        for phase in PHASES:
            r, b = pick(phases[phase], how), pick(results[base_name][phase], how)
            print(
                f"{variant:<18} {phase:<6} {r.rps / b.rps:8.2f} {b.pct(50) / r.pct(50):7.2f} "
                f"{b.pct(99) / r.pct(99):7.2f}"
            )


def bench(args: argparse.Namespace) -> None:
    pg_url: str | None = args.pg_url or os.environ.get("SCIMD_BENCH_PG_URL")
    wanted = args.variants or list(VARIANTS)
    tmpdir = tempfile.mkdtemp(prefix="scimd-bench-")
    sqlite_url = make_url(f"sqlite:///{os.path.join(tmpdir, 'bench.db')}")
    targets: list[Target] = []
    for name in wanted:
        backend, mode = VARIANTS[name]
        if backend == "sqlite":
            serve_url = (
                sqlite_url if mode == "sync" else sqlite_url.set(drivername="sqlite+aiosqlite")
            )
            targets.append(Target(name, backend, mode, sqlite_url, serve_url, None))
        elif pg_url:
            driver = {"sync": "psycopg", "async-psycopg": "psycopg", "async-asyncpg": "asyncpg"}[
                mode
            ]
            targets.append(
                Target(
                    name,
                    backend,
                    "sync" if mode == "sync" else "async",
                    pg_url_for(pg_url, "psycopg"),
                    pg_url_for(pg_url, driver),
                    args.pg_schema,
                )
            )
        else:
            print(f"skipping {name}: no --pg-url / SCIMD_BENCH_PG_URL", file=sys.stderr)

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"python {sys.version.split()[0]}, sqlalchemy {sa.__version__}, "
        f"uvicorn http={http} loop={loop}, "
        f"cpus={os.cpu_count()}, rows={args.rows}, concurrency={args.concurrency}, "
        f"warmup={args.warmup}s, duration={args.duration}s/phase, repeat={args.repeat}",
        flush=True,
    )

    keys = row_keys(args.rows)
    results: dict[str, dict[str, list[PhaseResult]]] = {
        t.variant: {p: [] for p in PHASES} for t in targets
    }
    try:
        # Interleave repeats (all variants, then all again) to spread machine noise.
        for rep in range(args.repeat):
            print(f"-- round {rep + 1}/{args.repeat}", flush=True)
            for t in targets:
                if t.backend == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        with contextlib.suppress(FileNotFoundError):
                            os.remove(sqlite_url.database + suffix)  # type: ignore[operator]
                for phase, r in run_variant(t, args, keys).items():
                    results[t.variant][phase].append(r)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if pg_url and any(t.backend == "pg" for t in targets):
            with contextlib.suppress(Exception):
                drop_pg_schema(pg_url_for(pg_url, "psycopg"), args.pg_schema)
    if results:
        report(results, args.pick)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd")

    s = sub.add_parser("serve", help="(internal) run one server variant")
    s.add_argument("--mode", choices=["sync", "async"], required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--schema", default="")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pool-size", type=int, default=20)

    p.add_argument(
        "--pg-url", help="PostgreSQL URL (default: $SCIMD_BENCH_PG_URL; PG skipped if unset)"
    )
    p.add_argument(
        "--pg-schema", default=PG_SCHEMA_DEFAULT, help="schema to create/drop (default %(default)s)"
    )
    p.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), help="subset of variants to run"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=8.0,
        help="measured seconds per phase (default %(default)s)",
    )
    p.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each phase")
    p.add_argument(
        "--concurrency", type=int, default=32, help="keep-alive connections (default %(default)s)"
    )
    p.add_argument("--rows", type=int, default=10_000, help="rows preloaded per variant")
    p.add_argument(
        "--pool-size", type=int, default=20, help="SQLAlchemy pool_size (max_overflow = same)"
    )
    p.add_argument("--repeat", type=int, default=2, help="runs per variant (default %(default)s)")
    p.add_argument("--pick", choices=["best", "median"], default="best", help="which run to report")
    args = p.parse_args(argv)
    if args.cmd == "serve":
        serve(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
