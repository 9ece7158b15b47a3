"""PostgreSQL for the tests: the server CI started, or a throw-away cluster.

``SCIMD_TEST_POSTGRES_URL`` names a server to use (CI exports it after
starting Debian's cluster). Without it, a private cluster is started from the
installed PostgreSQL binaries on a free port and removed afterwards. Without
either, PostgreSQL tests skip, unless ``REQUIRE_POSTGRES=1`` makes that a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return found[-1] if found else None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A private PostgreSQL cluster on 127.0.0.1; yields its server URL (no database)."""
    pg_bin = _pg_bin()
    if pg_bin is None:
        raise RuntimeError("PostgreSQL binaries not found under /usr/lib/postgresql")
    # Not pytest's tmp_path: as root it is a 0700 directory postgres cannot enter.
    directory = tempfile.mkdtemp(prefix="scimd-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True)

    run(
        f"{pg_bin}/initdb",
        "-D",
        f"{directory}/data",
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    run(
        f"{pg_bin}/pg_ctl",
        "-D",
        f"{directory}/data",
        "-l",
        f"{directory}/log",
        "-w",
        "-o",
        f"-h 127.0.0.1 -p {port} -k {directory} -F -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        run(f"{pg_bin}/pg_ctl", "-D", f"{directory}/data", "-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A PostgreSQL URL to create test databases on, or None when none is available."""
    url = os.environ.get("SCIMD_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    if _pg_bin() is None:
        yield None
        return
    with throwaway_cluster() as server:
        yield server + "/postgres"
