"""The processes a soak run (``bench/soak.py``) breaks on purpose, and the faults it injects.

- ``ScimdServer``: a live ``scimd serve`` on a fixed port, restarted on that port after a
  SIGTERM (graceful: in-flight requests finish) or a SIGKILL (nothing runs), so clients
  keep their URL as they would behind a load balancer.
- ``PostgresCluster``: a private PostgreSQL cluster (Debian's initdb and pg_ctl, as the test
  suite starts one), restarted with ``pg_ctl -m fast`` (clean shutdown) or ``-m immediate``
  (no shutdown checkpoint: crash recovery at start). Unlike the test suite's cluster
  (``tests/support/postgres.py``, which does not expose its data directory for a restart) it
  keeps ``synchronous_commit`` on: with it off, a crash of the database may lose transactions
  it has acknowledged, and the soak would count those as scimd's lost writes. ``fsync`` stays
  off: the machine never crashes here, only processes do, and the kernel keeps what they wrote.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.servers import free_port

SCIMD = [sys.executable, "-m", "scimd"]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

SERVER_FAULTS = ("server-term", "server-kill")
DATABASE_FAULTS = ("db-restart", "db-crash")
FAULTS = SERVER_FAULTS + DATABASE_FAULTS
"""``server-term``: SIGTERM one server and start it again; ``server-kill``: the same with
SIGKILL; ``db-restart``: ``pg_ctl restart -m fast``; ``db-crash``: ``pg_ctl stop -m immediate``
then start (PostgreSQL only)."""


def scimd_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without any ``SCIMD_*`` setting, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCIMD_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_scimd(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``scimd ARGS`` to completion; never raises on a non-zero exit."""
    return subprocess.run(
        [*SCIMD, *args], env=scimd_env(env), capture_output=True, text=True, timeout=300
    )


def create_token(database_url: str, tenant: str) -> str:
    """A new token for ``tenant`` (created, and the schema migrated, on the way)."""
    result = run_scimd(
        "token", "create", "--tenant", tenant, "--database-url", database_url, env={}
    )
    if result.returncode != 0:
        raise RuntimeError(f"scimd token create failed: {result.stderr}")
    return result.stdout.strip().splitlines()[-1]


class ScimdServer:
    """``scimd serve`` on one port, in its own process group, its output appended to a file."""

    def __init__(self, database_url: str, env: Mapping[str, str], log_path: Path) -> None:
        self.database_url = database_url
        self.env = scimd_env(env)
        self.log_path = log_path
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"{self.origin}/scim/v2"

    def start(self) -> None:
        command = [
            *SCIMD,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--log-level",
            "warning",  # no access line per request; errors and their tracebacks stay
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"scimd serve exited with {self.process.returncode}:\n{self.output_tail()}"
                )
            try:
                if httpx.get(f"{self.origin}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"scimd serve not healthy in time:\n{self.output_tail()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Send ``sig`` to the server's process group and wait; SIGKILL if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    def restart(self, sig: signal.Signals) -> None:
        self.stop(sig)
        self.start()

    def output_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-size:].decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


@contextmanager
def scimd_servers(
    database_url: str, count: int, env: Mapping[str, str], directory: Path
) -> Iterator[list[ScimdServer]]:
    """``count`` servers on one store, all stopped (SIGTERM) when the block ends."""
    servers = [ScimdServer(database_url, env, directory / f"scimd-{n}.log") for n in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def postgres_bin() -> str | None:
    """Debian's newest PostgreSQL binaries, or None when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return found[-1] if found else None


@dataclass
class PostgresCluster:
    """A private cluster on 127.0.0.1 (see the module's docstring for its settings)."""

    bin: str
    directory: Path
    port: int
    as_user: list[str]

    @property
    def server_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def _pg_ctl(self, *args: str) -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", str(self.directory / "data"), *args)

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.directory} -F "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._pg_ctl("-l", str(self.directory / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def restart(self, mode: str) -> None:
        """``fast``: a clean shutdown; ``immediate``: none, as a crash (recovery at start)."""
        self.stop(mode)
        self.start()

    def create_database(self, name: str) -> str:
        self._run(
            f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-c", f"CREATE DATABASE {name}",
        )  # fmt: skip
        return f"{self.server_url}/{name}"


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A new private cluster, removed when the block ends."""
    pg_bin = postgres_bin()
    if pg_bin is None:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
    directory = Path(tempfile.mkdtemp(prefix="scimd-soak-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(directory, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = PostgresCluster(pg_bin, directory, free_port(), as_user)
    try:
        cluster._run(
            f"{pg_bin}/initdb", "-D", str(directory / "data"), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Injector:
    """Carries out faults on one backend's processes."""

    servers: list[ScimdServer]
    cluster: PostgresCluster | None
    server_faults: int = 0

    def inject(self, kind: str) -> list[int]:
        """Carry out ``kind`` until it is over; returns the servers it affected (by index)."""
        if kind in SERVER_FAULTS:
            index = self.server_faults % len(self.servers)
            self.server_faults += 1
            sig = signal.SIGTERM if kind == "server-term" else signal.SIGKILL
            self.servers[index].restart(sig)
            return [index]
        if self.cluster is None:
            raise ValueError(f"{kind} needs PostgreSQL")
        self.cluster.restart("fast" if kind == "db-restart" else "immediate")
        return list(range(len(self.servers)))
