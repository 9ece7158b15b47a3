"""The real ``scimd`` executable, for tests: CLI runs and a live ``scimd serve``.

Everything here goes through a subprocess running ``python -m scimd``, so the
tests see what an operator sees: exit status, stdout, stderr, a listening port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.postgres import free_port

SCIMD = [sys.executable, "-m", "scimd"]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def scimd_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a ``scimd`` child: this one without any ``SCIMD_*`` setting."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCIMD_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run_scimd(
    *args: str,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``scimd ARGS`` to completion (``input`` on its stdin); never raises on a non-zero
    exit."""
    return subprocess.run(
        [*SCIMD, *args],
        cwd=cwd,
        env=scimd_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def create_token(database_url: str, tenant: str) -> str:
    """A new bearer token for ``tenant`` (created if needed), made by ``scimd token create``."""
    result = run_scimd("token", "create", "--tenant", tenant, "--database-url", database_url)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # The server runs in its own process group: this takes its workers too.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    """The SCIM root, ``http://127.0.0.1:PORT/scim/v2``."""
    process: subprocess.Popen[bytes]
    output: Callable[[], str]
    """Everything the server printed so far (stdout and stderr)."""

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes of a ``--workers N`` server (Linux ``/proc``)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


@contextmanager
def running_server(
    database_url: str, *, workers: int | None = None, env: Mapping[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run ``scimd serve`` on a free port until the block ends.

    Waits for ``GET /healthz`` to answer 200. If the server exits or does not
    get healthy within ``START_TIMEOUT`` seconds, fails with its output. Stops
    it with SIGTERM, then SIGKILL if it does not exit within ``STOP_TIMEOUT``.
    """
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", database_url]
    if workers is not None:
        args += ["--workers", str(workers)]
    origin = f"http://127.0.0.1:{port}"
    # A file, not a pipe: a chatty server can never block on a full pipe.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*SCIMD, *args], env=scimd_env(env), stdout=log, stderr=log, start_new_session=True
        )

        def output() -> str:
            # pread: the child shares the file offset, so seeking would garble its writes.
            fd = log.fileno()
            return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")

        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise AssertionError(
                        f"scimd serve exited with status {process.returncode}:\n{output()}"
                    )
                try:
                    if httpx.get(f"{origin}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"scimd serve not healthy after {START_TIMEOUT:.0f} s:\n{output()}"
                    )
                time.sleep(0.1)
            yield LiveServer(f"{origin}/scim/v2", process, output)
        finally:
            _stop(process)


@contextmanager
def live_server(database_url: str, *, workers: int | None = None) -> Iterator[str]:
    """Run ``scimd serve`` (see ``running_server``); yields the SCIM base URL."""
    with running_server(database_url, workers=workers) as server:
        yield server.base_url
