"""A small HTTP/1.1 load driver on raw asyncio streams, for loopback benchmarks.

Why not httpx: on this machine httpx tops out near 300 requests/s, below what the
servers under test answer, so it would measure itself. Raw streams over
keep-alive connections cost a few microseconds a request. The driver still
shares the machine's CPUs with the server, so every result carries the
driver's own CPU share: a high one means the numbers understate the server.

A load is bounded in time (warm-up plus measured seconds) and optionally in
count (``max_requests``), so that a phase drawing from a finite pool of ids
never reuses one. Each request is built by a callable from its sequence
number, so phases decide what varies between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

REQUEST_TIMEOUT = 120.0  # seconds; a stuck server fails a request instead of hanging the run
_STREAM_LIMIT = 1 << 20
_NO_BODY_STATUSES = frozenset({204, 304})


@dataclass
class HTTPResponse:
    status: int
    headers: dict[str, str]  # lower-cased names; the last value of a repeated header
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(
    method: str, target: str, port: int, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request, serialised once so the load loop only writes bytes."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection; ``exchange`` writes a request and reads its whole response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answered = 0  # responses read on the current socket

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            "127.0.0.1", self.port, limit=_STREAM_LIMIT
        )
        self._answered = 0

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def exchange(self, raw: bytes) -> HTTPResponse:
        """Send ``raw``, read the response; reconnect once if the server had dropped the socket.

        uvicorn closes keep-alive connections idle for 5 seconds, which a slow
        phase's connections can be (waiting for the warm-up of the others): a
        reused socket closed before any byte of the answer is opened anew and
        the request sent again, as HTTP clients do; the server never read it.
        """
        reused = self._writer is not None and self._answered > 0
        try:
            return await self._exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            partial = isinstance(exc, asyncio.IncompleteReadError) and exc.partial
            if not reused or partial:
                raise
            await self.close()
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> HTTPResponse:
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line[9:12])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status in _NO_BODY_STATUSES or raw.startswith(b"HEAD "):
            body = b""
        elif "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(self._reader)
        else:  # no framing: the body runs to the end of the connection
            body = await self._reader.read()
            await self.close()
        self._answered += 1
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return HTTPResponse(status, headers, body)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected: the closing CRLF
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)


class Client:
    """Sequential requests for setting up and probing (not for load): JSON in, response out."""

    def __init__(self, port: int, headers: Mapping[str, str]) -> None:
        self.port = port
        self.headers = dict(headers)
        self.connection = Connection(port)

    async def call(self, method: str, target: str, document: Any = None) -> HTTPResponse:
        body = b"" if document is None else json.dumps(document).encode()
        raw = request_bytes(method, target, self.port, self.headers, body)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                return await self.connection.exchange(raw)
        except BaseException:
            await self.connection.close()
            raise

    async def close(self) -> None:
        await self.connection.close()


Acceptance = Callable[[HTTPResponse], bool]


def is_2xx(response: HTTPResponse) -> bool:
    return 200 <= response.status < 300


@dataclass
class LoadResult:
    """What one load measured: successes, failures, latencies of the successes."""

    ok: int = 0
    warmup_ok: int = 0  # successes during the warm-up: done, but not measured
    failed: int = 0  # non-2xx answers, or answers ``accept`` refused
    transport_errors: int = 0  # resets, timeouts, malformed responses
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    driver_cpu: float = 0.0  # the driver's CPU seconds per wall second
    first_failure: str | None = None

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def not_ok(self) -> int:
        return self.failed + self.transport_errors

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def run_load(
    port: int,
    make_request: Callable[[int], bytes],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int | None = None,
    accept: Acceptance = is_2xx,
) -> LoadResult:
    """Send requests on ``concurrency`` keep-alive connections until time (or count) runs out.

    A warm-up comes first, unmeasured: every connection sends at least one
    request (first requests pay one-off costs: connections, caches, models
    built on first use), for at least ``warmup`` seconds, and the warm-up
    ends only when all of them are answered, so that none of its requests
    stalls the measured window. Requests in flight when time runs out
    complete and are counted, and the window is extended to the last one.
    Non-2xx answers and transport errors are counted in both stages.
    """
    result = LoadResult()
    sequence = 0
    connections = [Connection(port) for _ in range(concurrency)]

    def exhausted() -> bool:
        return max_requests is not None and sequence >= max_requests

    async def worker(connection: Connection, stop_at: float, measured: bool) -> None:
        nonlocal sequence
        first = not measured
        while first or (time.perf_counter() < stop_at and not exhausted()):
            if exhausted():
                return
            first = False
            raw = make_request(sequence)
            sequence += 1
            began = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    response = await connection.exchange(raw)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                await connection.close()
                result.transport_errors += 1
                if result.first_failure is None:
                    result.first_failure = f"{type(exc).__name__}: {exc}"[:300]
                continue
            if not accept(response):
                result.failed += 1
                if result.first_failure is None:
                    result.first_failure = f"{response.status} {response.body[:250]!r}"
            elif measured:
                result.ok += 1
                result.latencies.append(time.perf_counter() - began)
            else:
                result.warmup_ok += 1

    cpu_start = time.process_time()
    start = time.perf_counter()
    try:
        if warmup > 0:
            stop_at = start + warmup
            await asyncio.gather(*(worker(c, stop_at, False) for c in connections))
        measure_from = time.perf_counter()
        stop_at = measure_from + duration
        await asyncio.gather(*(worker(c, stop_at, True) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    end = time.perf_counter()
    result.seconds = end - measure_from
    result.driver_cpu = (time.process_time() - cpu_start) / max(end - start, 1e-9)
    return result


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when installed: it keeps the driver's own CPU cost down."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if importlib.util.find_spec("uvloop"):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)
