"""A soak run: a steady mixed SCIM workload on live servers with a fault every minute.

Usage::

    python -m bench.soak                                  # 10 minutes on SQLite, then PostgreSQL
    python -m bench.soak --backend sqlite --minutes 2 --rate 40
    python -m bench.soak --fault-every 30 --faults server-kill,db-crash --json

The workload (``bench/soak_workload.py``: ``--rate`` requests/s, started on a fixed clock
whatever the answers take) creates, PATCHes (displayName, active), PUTs and deletes users,
creates groups and PATCHes their members (add, remove) and names, reads users and groups by
id and by filter, and sends small ``/Bulk`` requests. Faults (``bench/soak_faults.py``) come
every ``--fault-every`` seconds: a server restarted after SIGTERM or SIGKILL, and on
PostgreSQL (two server processes, ``SCIMD_DATABASE_PRE_PING=1``) the database restarted
cleanly or as after a crash. The servers run without a rate limit.

What is checked:

- Lost writes: the ledger (``bench/soak_ledger.py``) keeps every write with when it was sent
  and acknowledged; at the end the whole store is read over SCIM, and an acknowledged write
  whose effect is absent, or overwritten by an older write, is lost. Writes without an answer
  have an unknown outcome, not lost. Nothing is retried, so no retry can hide a loss.
- Errors: non-2xx answers other than the workload's expected refusals (a 400 or 404 on a
  resource whose deletion was already sent), and requests without an answer. Each fault has
  a window, from its start until the first 2xx from every affected server to a request sent
  after the fault is over, plus ``--grace`` seconds; an error counts inside when its request
  overlapped a window.
- ``scimd db check`` of the tenant must exit 0.

The run fails (exit 1) on a lost write, an error outside the fault windows, a resource the
ledger cannot explain, or a failed db check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import soak_faults
from bench.soak_ledger import Verdict, check
from bench.soak_workload import Fault, Options, Sent, Workload

__all__ = ["Options", "Report", "soak", "main"]

BACKENDS = ("sqlite", "postgresql")
DEFAULT_FAULTS = {
    "sqlite": ("server-term", "server-kill"),
    "postgresql": ("server-term", "db-restart", "server-kill", "db-crash"),
}
SERVERS = {"sqlite": 1, "postgresql": 2}  # SQLite is served by one process
SHOWN = 20  # details of problems and errors listed per kind


# --- fault windows and the report ------------------------------------------------------------


def close_windows(faults_seen: list[Fault], requests: list[Sent], options: Options) -> None:
    """End each window at the first 2xx from every affected server sent after the fault."""
    for fault in faults_seen:
        limit = fault.over + options.recovery_limit
        firsts = [
            min(
                (
                    r.finished
                    for r in requests
                    if r.server == server and r.outcome == "ok" and r.sent >= fault.over
                ),
                default=limit,
            )
            for server in fault.servers
        ]
        fault.end = min(max(firsts, default=fault.over), limit) + options.grace


def in_window(record: Sent, faults_seen: list[Fault]) -> bool:
    return any(record.sent <= f.end and record.finished >= f.start for f in faults_seen)


@dataclass
class Report:
    backend: str
    servers: int
    seconds: float
    rate: float
    requests: int
    ok: int
    refused: int
    """Expected 4xx: a request naming a resource whose deletion was already sent."""
    errors_in_windows: int
    errors_outside_windows: int
    not_sent: int
    requests_per_second: float
    faults: list[dict[str, Any]]
    writes_acknowledged: int
    writes_unknown: int
    writes_refused: int
    unknown_landed: int
    """Creates with an unknown outcome whose resource is in the store."""
    lost_writes: int
    unexplained: int
    db_check_status: int
    db_check: str
    error_kinds: dict[str, int]
    lost: list[str]
    unexplained_detail: list[str]
    errors_outside: list[str]
    errors_inside: list[str]
    """A sample: the first errors of each kind inside the windows."""

    @property
    def passed(self) -> bool:
        return (
            self.lost_writes == 0
            and self.errors_outside_windows == 0
            and self.unexplained == 0
            and self.db_check_status == 0
        )


def _error_kind(record: Sent) -> str:
    return f"HTTP {record.status}" if record.status is not None else record.detail.split(":")[0]


def read_store(base_url: str, token: str, endpoint: str) -> dict[str, Any]:
    """Every resource of ``endpoint`` (``/Users``, ``/Groups``), by id, in pages of 1,000."""
    found: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        while True:
            params = {"startIndex": str(len(found) + 1), "count": "1000"}
            response = client.get(endpoint, params=params)
            response.raise_for_status()
            page = response.json()
            for resource in page.get("Resources", []):
                found[resource["id"]] = resource
            if not page.get("Resources") or len(found) >= page["totalResults"]:
                break
    if len(found) != page["totalResults"]:
        raise RuntimeError(f"{endpoint}: read {len(found)} of {page['totalResults']}")
    return found


def report(
    backend: str,
    workload: Workload,
    verdict: Verdict,
    db_check: subprocess.CompletedProcess[str],
) -> Report:
    requests, faults_seen, options = workload.requests, workload.faults, workload.options
    close_windows(faults_seen, requests, options)
    errors = [r for r in requests if r.outcome == "error"]
    inside = [r for r in errors if in_window(r, faults_seen)]
    outside = [r for r in errors if not in_window(r, faults_seen)]
    seconds = max((r.finished for r in requests), default=workload.origin) - workload.origin
    origin = workload.origin
    return Report(
        backend=backend,
        servers=len(workload.base_urls),
        seconds=round(seconds, 1),
        rate=options.rate,
        requests=len(requests),
        ok=sum(r.outcome == "ok" for r in requests),
        refused=sum(r.outcome == "refused" for r in requests),
        errors_in_windows=len(inside),
        errors_outside_windows=len(outside),
        not_sent=workload.not_sent,
        requests_per_second=round(len(requests) / seconds, 1) if seconds else 0.0,
        faults=[
            {
                "kind": f.kind,
                "servers": f.servers,
                "at": round(f.start - origin, 1),
                "over_after": round(f.over - f.start, 2),
                "window": round(f.end - f.start, 2),
                "errors": sum(r.sent <= f.end and r.finished >= f.start for r in errors),
            }
            for f in faults_seen
        ],
        writes_acknowledged=workload.ledger.acknowledged,
        writes_unknown=workload.ledger.unknown,
        writes_refused=workload.ledger.refused,
        unknown_landed=verdict.unknown_landed,
        lost_writes=len(verdict.lost),
        unexplained=len(verdict.unexplained),
        db_check_status=db_check.returncode,
        db_check=(db_check.stdout + db_check.stderr).strip()[-2000:],
        error_kinds=dict(Counter(_error_kind(r) for r in inside).most_common()),
        lost=verdict.lost[:SHOWN],
        unexplained_detail=verdict.unexplained[:SHOWN],
        errors_outside=[r.describe(origin) for r in outside[:SHOWN]],
        errors_inside=[
            next(r for r in inside if _error_kind(r) == kind).describe(origin)
            for kind in Counter(_error_kind(r) for r in inside)
        ],
    )


def soak(backend: str, options: Options, progress: bool = False) -> Report:
    """One backend's soak run, on fresh servers and a fresh store."""
    kinds = (
        tuple(
            k
            for k in options.faults or DEFAULT_FAULTS[backend]
            if backend == "postgresql" or k in soak_faults.SERVER_FAULTS
        )
        or DEFAULT_FAULTS[backend]
    )
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scimd-soak-")))
        env = {"SCIMD_RATE_LIMIT_PER_SECOND": "0"}  # the workload is one token, on purpose
        cluster = None
        if backend == "postgresql":
            cluster = stack.enter_context(soak_faults.postgres_cluster())
            database_url = cluster.create_database("scimd_soak")
            env["SCIMD_DATABASE_PRE_PING"] = "1"  # no failed request after a database restart
        else:
            database_url = f"sqlite:///{directory / 'soak.db'}"
        tenant = f"soak-{uuid.uuid4().hex[:8]}"
        token = soak_faults.create_token(database_url, tenant)
        servers = stack.enter_context(
            soak_faults.scimd_servers(database_url, SERVERS[backend], env, directory)
        )
        injector = soak_faults.Injector(servers, cluster)
        workload = Workload([s.base_url for s in servers], token, injector, options, progress)
        try:
            asyncio.run(workload.run(kinds))
            users = read_store(servers[0].base_url, token, "/Users")
            groups = read_store(servers[0].base_url, token, "/Groups")
        except BaseException:
            for number, server in enumerate(servers):
                print(f"--- server {number}:\n{server.output_tail()}", file=sys.stderr)
            raise
        verdict = check(workload.ledger, users, groups)
        db_check = soak_faults.run_scimd(
            "db", "check", "--tenant", tenant, "--database-url", database_url, env={}
        )
        result = report(backend, workload, verdict, db_check)
        if not result.passed:
            for number, server in enumerate(servers):
                print(f"--- server {number}:\n{server.output_tail()}", file=sys.stderr)
        return result


# --- the command -----------------------------------------------------------------------------


def _table(reports: list[Report]) -> str:
    def row(label: str, values: Iterable[Any]) -> str:
        shown = [f"{v:,}" if isinstance(v, int) else str(v) for v in values]
        return f"| {label} | " + " | ".join(shown) + " |"

    def faults_of(r: Report) -> str:
        kinds = Counter(f["kind"] for f in r.faults)
        return f"{len(r.faults)} (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")"

    lines = [
        "| measure | " + " | ".join(r.backend for r in reports) + " |",
        "|---|" + "---:|" * len(reports),
        row("workload seconds", (r.seconds for r in reports)),
        row("server processes", (r.servers for r in reports)),
        row("requests sent", (r.requests for r in reports)),
        row("requests/s", (r.requests_per_second for r in reports)),
        row("2xx", (r.ok for r in reports)),
        row("expected 4xx (target deleted meanwhile)", (r.refused for r in reports)),
        row("errors in fault windows", (r.errors_in_windows for r in reports)),
        row("errors outside fault windows", (r.errors_outside_windows for r in reports)),
        row("not sent (client backlog)", (r.not_sent for r in reports)),
        row("faults", (faults_of(r) for r in reports)),
        row(
            "longest fault window, s",
            (max((f["window"] for f in r.faults), default=0) for r in reports),
        ),
        row("write operations acknowledged", (r.writes_acknowledged for r in reports)),
        row("write operations with unknown outcome", (r.writes_unknown for r in reports)),
        row("unknown-outcome creates found in the store", (r.unknown_landed for r in reports)),
        row("lost writes", (r.lost_writes for r in reports)),
        row("resources the ledger cannot explain", (r.unexplained for r in reports)),
        row(
            "scimd db check",
            (f"exit {r.db_check_status}: {r.db_check.splitlines()[-1]}" for r in reports),
        ),
    ]
    return "\n".join(lines)


def _details(r: Report) -> str:
    lines = [f"{r.backend}: {'PASSED' if r.passed else 'FAILED'}"]
    for f in r.faults:
        lines.append(
            f"  fault at {f['at']} s: {f['kind']} (servers {f['servers']}), over after "
            f"{f['over_after']} s, window {f['window']} s, {f['errors']} errors"
        )
    if r.error_kinds:
        kinds = ", ".join(f"{kind} {count}" for kind, count in r.error_kinds.items())
        lines.append(f"  errors in windows: {kinds}")
    for title, items in (
        ("lost write", r.lost),
        ("unexplained", r.unexplained_detail),
        ("error outside windows", r.errors_outside),
        ("first error in windows", r.errors_inside),
    ):
        lines.extend(f"  {title}: {item}" for item in items)
    if r.db_check_status:
        lines.append(f"  db check: {r.db_check}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="soak scimd: steady load, faults, a ledger")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--minutes", type=float, default=10.0, help="per backend")
    parser.add_argument("--rate", type=float, default=Options.rate, help="requests/s")
    parser.add_argument("--fault-every", type=float, default=Options.fault_every, help="seconds")
    parser.add_argument(
        "--faults",
        help=f"comma-separated, taken in turn, of {', '.join(soak_faults.FAULTS)} "
        "(default: both server faults; on PostgreSQL the database ones too)",
    )
    parser.add_argument("--grace", type=float, default=Options.grace, help="seconds")
    parser.add_argument("--timeout", type=float, default=Options.timeout, help="per request")
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args(argv)
    kinds = tuple(args.faults.split(",")) if args.faults else None
    if kinds and not set(kinds) <= set(soak_faults.FAULTS):
        parser.error(f"--faults: unknown {sorted(set(kinds) - set(soak_faults.FAULTS))}")
    options = Options(
        duration=args.minutes * 60,
        rate=args.rate,
        fault_every=args.fault_every,
        faults=kinds,
        grace=args.grace,
        timeout=args.timeout,
        seed=args.seed,
    )
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    if "postgresql" in backends and soak_faults.postgres_bin() is None:
        parser.error("PostgreSQL binaries not found under /usr/lib/postgresql")
    reports = []
    for backend in backends:
        print(
            f"soak: {backend}, {args.minutes:g} min at {args.rate:g} requests/s, "
            f"a fault every {args.fault_every:g} s",
            file=sys.stderr,
            flush=True,
        )
        reports.append(soak(backend, options, progress=True))
    if args.json:
        print(json.dumps([{**asdict(r), "passed": r.passed} for r in reports], indent=2))
    else:
        print(_table(reports))
        print()
        print("\n".join(_details(r) for r in reports))
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
