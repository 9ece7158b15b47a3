"""The servers under test, each in its own process, all on the same uvicorn settings.

Why subprocesses: the load driver must not share an interpreter (the GIL, an
event loop) with the server it measures. Why one runner for every kind: "the
same uvicorn settings" holds only if one function passes them, so scimd, the
raw Starlette ceiling and scim2-server are all started by ``serve`` below
(``python -m bench.servers KIND --port P ...``); scimd is built exactly as
``scimd serve`` builds it (``scimd.app.create_app`` on a database URL).

Kinds:

- ``scimd``: the product, on SQLite or PostgreSQL;
- ``starlette``: the ceiling, a bare Starlette endpoint answering GET by id
  from a dict with a body shaped like scimd's;
- ``scim2-server``: the reference Python SCIM server, in memory, no auth.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dataset import user_payload

KINDS = ("scimd", "starlette", "scim2-server")
BASE_PATH = {"scimd": "/scim/v2", "starlette": "/scim/v2", "scim2-server": "/v2"}
READY_PATH = {
    "scimd": "/healthz",
    "starlette": "/healthz",
    "scim2-server": "/v2/ServiceProviderConfig",
}
RAW_SEED = 20240601
SCIM2_SERVER_SECRET = "scimd-bench-cursor-secret"  # scim2-server seals its cursors with it
_REPO = Path(__file__).resolve().parents[1]


def uvicorn_settings() -> dict[str, Any]:
    """One process, no access log, the fastest HTTP parser and event loop installed."""
    return {
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "access_log": False,
        "log_level": "warning",
        "workers": 1,
    }


def describe_settings() -> str:
    return ", ".join(f"{name}={value}" for name, value in uvicorn_settings().items())


# --- the applications ------------------------------------------------------------------


def raw_user_ids(count: int) -> list[str]:
    """The ids the raw endpoint serves; the driver regenerates the same list."""
    rnd = random.Random(RAW_SEED)
    return [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(count)]


def raw_user_body(user_id: str, port: int) -> dict[str, Any]:
    """A body shaped like scimd's GET /Users/{id} answer for a loaded user (one group)."""
    base = f"http://127.0.0.1:{port}/scim/v2"
    body = {"schemas": [], "id": user_id, **user_payload(f"u{user_id[:6]}")}
    body["meta"] = {
        "resourceType": "User",
        "created": "2026-01-01T12:00:00.000000Z",
        "lastModified": "2026-01-01T12:00:00.000000Z",
        "location": f"{base}/Users/{user_id}",
        "version": 'W/"1"',
    }
    group_id = "0b5e2a43-6a8a-4c8e-9d7e-3f0e8b1c2d4a"
    body["groups"] = [
        {
            "value": group_id,
            "$ref": f"{base}/Groups/{group_id}",
            "display": "Big group 100000",
            "type": "direct",
        }
    ]
    return body


def starlette_app(users: int, port: int) -> Any:
    """The ceiling: routing, a dict lookup and JSON rendering, nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    store = {user_id: raw_user_body(user_id, port) for user_id in raw_user_ids(users)}
    media_type = "application/scim+json"

    async def get_user(request: Request) -> Response:
        found = store.get(request.path_params["id"])
        if found is None:
            return JSONResponse({"status": "404"}, status_code=404, media_type=media_type)
        return JSONResponse(found, media_type=media_type)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/scim/v2/Users/{id}", get_user, methods=["GET"]),
        ]
    )


def scim2_server_cursors_available() -> bool:
    """scim2-server seals cursors with AES-GCM: it needs its ``cursor`` extra (cryptography)."""
    return importlib.util.find_spec("cryptography") is not None


def scim2_server_app() -> Any:
    """scim2-server's in-memory ASGI app, announcing index and (when it can) cursor pages.

    Its default configuration announces no pagination; this one adds what the
    benchmark's phases use, with the same page sizes as scimd. It asks for no
    authentication (its ASGIApplication accepts every request).
    """
    from scim2_models import Pagination, ScimProvider
    from scim2_server import utils
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage
    from scim2_server.service import ScimService

    cursors = scim2_server_cursors_available()
    config = utils.load_default_service_provider_config()
    config.pagination = Pagination(
        cursor=cursors,
        index=True,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=100,
        max_page_size=1000,
        cursor_timeout=24 * 3600,
    )
    provider = ScimProvider.from_discovery(
        utils.load_default_schemas().values(),
        utils.load_default_resource_types().values(),
        config=config,
    )
    service = ScimService(provider, secret=SCIM2_SERVER_SECRET if cursors else None)
    return ASGIApplication(AsyncInMemoryStorage(), provider, service)


def scimd_app(database_url: str) -> Any:
    """scimd as ``scimd serve`` builds it; the schema is already current (the loader made it).

    Its per-request JSON log lines are off (level warning), as uvicorn's access
    log is for every server here: the baselines log nothing per request either.
    """
    from scimd.app import create_app
    from scimd.settings import Settings

    # No per-token rate limit: the bench drives one token as hard as it can on purpose.
    return create_app(
        Settings(database_url=database_url, log_level="warning", rate_limit_per_second=0)
    )


def serve(argv: list[str] | None = None) -> None:
    """Entry point of a server process: ``python -m bench.servers KIND --port P``."""
    import uvicorn

    parser = argparse.ArgumentParser(description="run one benchmarked server")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", help="scimd's store")
    parser.add_argument("--users", type=int, default=10_000, help="starlette's in-memory users")
    args = parser.parse_args(argv)
    if args.kind == "scimd":
        app = scimd_app(args.database_url)
    elif args.kind == "starlette":
        app = starlette_app(args.users, args.port)
    else:
        app = scim2_server_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, **uvicorn_settings())


# --- running them ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        """The SCIM base path on this server."""
        return BASE_PATH[self.kind]


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    request = (
        f"GET {READY_PATH[server.kind]} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    ).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with status {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(request)
                if sock.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.kind} did not answer {READY_PATH[server.kind]} in {timeout:.0f}s")


def memory_mb(server: Server) -> tuple[float, float]:
    """The server process's peak and current resident memory (VmHWM, VmRSS), in MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{server.process.pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                fields[name] = int(value.split()[0]) / 1024  # kB
    return fields["VmHWM"], fields["VmRSS"]


@contextmanager
def running(kind: str, *arguments: str) -> Iterator[Server]:
    """A server of ``kind`` on a free loopback port, stopped (by its own pid) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "bench.servers", kind, "--port", str(port), *arguments]
    process = subprocess.Popen(command, cwd=_REPO, env=os.environ.copy())
    server = Server(kind, port, process)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def postgres_database(pg_url: str | None) -> Iterator[str]:
    """A PostgreSQL database URL: ``pg_url`` as given, or a database in a throw-away cluster.

    The throw-away cluster is the test suite's (``tests.support.postgres``): a
    private initdb on a free port, removed afterwards, tuned for speed over
    durability (fsync and synchronous_commit off), which SQLite's WAL mode with
    synchronous=NORMAL roughly matches: neither waits for the disk on commit.
    """
    if pg_url:
        yield pg_url
        return
    from sqlalchemy import create_engine, text

    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as server:
        engine = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE scimd_bench"))
        engine.dispose()
        yield server + "/scimd_bench"


if __name__ == "__main__":
    serve()
