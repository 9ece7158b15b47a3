"""Bounded time and memory per request: what a hostile client sends is refused (or answered)
quickly, and never held in memory whole.

- A 10 MB body to an admin JSON endpoint (or a sign-in one) is a 413, whether it declares its
  length (refused before a byte is read) or comes chunked (reading stops past the 1 MB limit).
- An import (or a provider's list for the link wizard) past the file limit is a 413 the
  same two ways: a chunked upload is not spooled to disk whole before its size is looked at.
- The costliest filters SCIM's filter limits let through are answered, and those past the
  limits refused, in little time. (tests/scim/test_hostile_input.py checks what they return.)

Bodies are fed to the app over ASGI a megabyte at a time (Starlette's TestClient reads a
whole body before the app sees any), which counts what the server read. Time is the
process's CPU time, so that load on the machine does not count; memory the peak of Python's
allocations while the request is served (tracemalloc).
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from starlette.types import ASGIApp, Message

from directory import sheets
from tests.scim.helpers import user
from tests.scimd.accounts import admin_token

MB = 1024 * 1024
MAX_CPU_SECONDS = 2.0
# The costliest filter below takes 0.25 s of CPU here, on 100 users (on SQLite it grows with
# them: 300 LIKEs over 10,000 users' documents took 3.3 s). Wall time bounds PostgreSQL's
# share, spent in its own process.
MAX_FILTER_WALL_SECONDS = 10.0
MAX_PEAK_BYTES = 8 * MB  # the 1 MB JSON limit (or a spooled file's 1 MB) and chunks in flight
CHUNK = b"a" * MB


@dataclass
class Cost:
    cpu: float = 0.0
    wall: float = 0.0
    peak: int = 0

    def __str__(self) -> str:
        return f"{self.cpu:.2f} s CPU, {self.wall:.2f} s wall, peak {self.peak / MB:.1f} MB"


@contextmanager
def cost(memory: bool = True) -> Iterator[Cost]:
    """What the block costs: CPU time of the process, wall time, and (``memory``: tracing
    allocations slows them) peak Python allocations."""
    spent = Cost()
    gc.collect()
    if memory:
        tracemalloc.start()
    cpu, wall = time.process_time(), time.monotonic()
    try:
        yield spent
    finally:
        spent.cpu, spent.wall = time.process_time() - cpu, time.monotonic() - wall
        if memory:
            spent.peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


@dataclass
class Served:
    status: int
    body: Any
    read: int
    """Bytes of the request body the app asked for before it answered."""


def serve(
    app: ASGIApp, method: str, path: str, headers: dict[str, str], chunks: list[bytes]
) -> Served:
    """One request to ``app`` over ASGI, its body handed over a chunk at a time."""
    pending = iter(chunks)
    read = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> Message:
        nonlocal read
        chunk = next(pending, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    return Served(answer["status"], json.loads(answer["body"]), read)


JSON_ENDPOINTS = [
    ("POST", "/admin/v1/users"),
    ("PATCH", "/admin/v1/users/{id}"),
    ("PUT", "/admin/v1/settings"),
    ("POST", "/admin/v1/roles"),
    ("POST", "/auth/login"),
]


@pytest.mark.parametrize("declared", [True, False], ids=["declared length", "chunked"])
@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_a_10_mb_json_body_is_413_quickly_and_never_held_whole(
    app, engine, tenant, admin, method, path, declared
):
    user_id = admin.post("/users", json={"userName": "bounds@example.com"}).json()["id"]
    chunks = [b'{"name": "', *[CHUNK] * 10, b'"}']
    headers = {
        "authorization": f"Bearer {admin_token(engine, tenant)}",
        "content-type": "application/json",
    }
    if declared:
        headers["content-length"] = str(sum(map(len, chunks)))
    with cost() as spent:
        served = serve(app, method, path.replace("{id}", user_id), headers, chunks)
    assert served.status == 413, served.body
    assert served.body["error"] == "too_large"
    assert served.read == 0 if declared else served.read <= 2 * MB + 10
    assert spent.cpu < MAX_CPU_SECONDS, spent
    assert spent.peak < MAX_PEAK_BYTES, spent


BOUNDARY = "scimd-bounds"


UPLOADS = {  # path: its form's fields, the file's name and first line, where it would show
    "/admin/v1/imports": ({}, "users.csv", "Username", ("/imports", "jobs")),
    "/admin/v1/sso/snapshots": ({"provider": "onelogin"}, "ids.csv", "email,object_id", None),
}


@pytest.mark.parametrize("declared", [True, False], ids=["declared length", "chunked"])
@pytest.mark.parametrize("path", UPLOADS)
def test_an_upload_past_the_file_limit_is_413_quickly_and_never_spooled_whole(
    app, engine, tenant, admin, path, declared
):
    fields, filename, first_line, listing = UPLOADS[path]
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ) + (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n{first_line}\r\n"
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    chunks = [head.encode(), *[CHUNK] * (3 * sheets.MAX_FILE_BYTES // MB), tail]
    headers = {
        "authorization": f"Bearer {admin_token(engine, tenant)}",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    if declared:
        headers["content-length"] = str(sum(map(len, chunks)))
    with cost() as spent:
        served = serve(app, "POST", path, headers, chunks)
    assert served.status == 413, served.body
    assert served.body["error"] == "too_large"
    assert served.read == 0 if declared else served.read <= sheets.MAX_FILE_BYTES + 2 * MB
    assert spent.cpu < MAX_CPU_SECONDS, spent
    assert spent.peak < MAX_PEAK_BYTES, spent
    if listing:
        assert admin.get(listing[0]).json()[listing[1]] == []


# The costliest filters found within the limits (10,000 characters, 50 levels): hundreds of
# EXISTS over emails, of LIKEs over the JSON document, of complex attribute filters.
COSTLY_FILTERS = {
    "600 ORs of pr": " or ".join(["userName pr"] * 600),
    "330 ORs of emails co": " or ".join(f'emails.value co "{i % 10}"' for i in range(330)),
    "300 ORs of title co": " or ".join(f'title co "{i % 10}x"' for i in range(300)),
    "200 complex filters": " or ".join(
        f'emails[type eq "work" and value co "{i % 10}"]' for i in range(200)
    ),
    "400 ORs of not": " or ".join(['not (userName eq "a")'] * 400),
    "4990 parentheses": "(" * 4990 + "userName pr" + ")" * 4990,
    "co with 4990 wildcards": 'userName co "' + "%_" * 4990 + '"',
}
REFUSED_FILTERS = {
    "10,001 characters": 'title eq "' + "x" * 10_000 + '"',
    "51 levels": "not (" * 51 + "userName pr" + ")" * 51,
    "1990 levels": "not (" * 1990 + "userName pr" + ")" * 1990,
    "700 ANDs (11,195 characters)": " and ".join(["userName pr"] * 700),
}


def test_pathological_filters_are_answered_or_refused_quickly(scim):
    for i in range(100):
        body = user(f"bounds-{i}@example.com", title="t" * (i % 7))
        body["emails"] = [{"value": f"bounds-{i}@example.com", "type": "work"}]
        assert scim.post("/Users", json=body).status_code == 201
    failures = []
    for name, filter_text in [*COSTLY_FILTERS.items(), *REFUSED_FILTERS.items()]:
        expected = 200 if name in COSTLY_FILTERS else 400
        with cost(memory=False) as searched_cost:
            searched = scim.post("/Users/.search", json={"filter": filter_text, "count": 10})
        with cost(memory=False) as listed_cost:
            listed = scim.get("/Users", params={"filter": filter_text, "count": 10})
        for response, spent in ((searched, searched_cost), (listed, listed_cost)):
            if (
                response.status_code != expected
                or spent.cpu >= MAX_CPU_SECONDS
                or spent.wall >= MAX_FILTER_WALL_SECONDS
            ):
                failures.append(f"{name}: {response.status_code} in {spent}")
    assert not failures, "\n".join(failures)
