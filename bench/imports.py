"""Spreadsheet imports against a served scimd, with SCIM /Bulk in the same run as baseline.

Why /Bulk: it is the other way to create thousands of users in few requests,
through the same store, so import rows/s ÷ /Bulk creates/s says what the
spreadsheet path (reading the file, checking every cell and rule, resources,
grants, audit) costs over plain SCIM creates, whatever the machine's speed.

Usage::

    python -m bench.imports                          # 5,000 rows, SQLite and PostgreSQL
    python -m bench.imports --rows 5000 --repeat 3 --backends sqlite

Each repeat imports a fresh file of ``--rows`` users (all-or-nothing, run now),
imports it again updating (every row found and unchanged), imports
a file with 1% bad rows skipping errors, and creates ``--rows`` users with
/Bulk (1,000 operations a request). Medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench import dataset, servers
from directory import database, tenants
from tests.support.spreadsheets import csv_bytes

HEADERS = ["Username", "First name", "Last name", "Email", "Create resource", "Date from"]


def _rows(prefix: str, count: int, bad_every: int = 0) -> list[list[str]]:
    rows = []
    for n in range(count):
        name = f"{prefix}-{n}@example.com"
        day = "2026-01-31" if not bad_every or n % bad_every else "31/31/2026"
        rows.append([name, "Zoë", f"Ångström {n}", name, "TRUE", day])
    return rows


def _timed(action: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    response = action()
    elapsed = time.perf_counter() - start
    if response.status_code >= 300:
        raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
    return elapsed


def _import(admin: httpx.Client, data: bytes, **form: str) -> httpx.Response:
    return admin.post("/imports", files={"file": ("users.csv", data, "text/csv")}, data=form)


def _round(admin: httpx.Client, scim: httpx.Client, round_: int, rows: int) -> dict[str, float]:
    """One repeat: seconds taken by each way of writing ``rows`` users."""
    fresh = csv_bytes(HEADERS, _rows(f"imp{round_}", rows))
    seconds = {"import": _timed(lambda: _import(admin, fresh))}
    # The same file again, updating: every row found and unchanged.
    seconds["reimport"] = _timed(lambda: _import(admin, fresh, updateExisting="true"))
    bad = csv_bytes(HEADERS, _rows(f"skip{round_}", rows, bad_every=100))
    seconds["skip"] = _timed(lambda: _import(admin, bad, skipErrors="true"))

    def bulk() -> httpx.Response:
        last = httpx.Response(200)
        for start in range(0, rows, 1000):
            keys = [f"bulk{round_}-{n}" for n in range(start, min(start + 1000, rows))]
            last = scim.post("/Bulk", json=dataset.bulk_create_payload(keys))
        return last

    seconds["bulk"] = _timed(bulk)
    return seconds


def measure(database_url: str, rows: int, repeat: int) -> dict[str, Any]:
    engine = database.create_store_engine(database_url)
    database.upgrade(engine)
    with engine.begin() as conn:
        tenant = tenants.create_tenant(conn, f"bench-import-{time.time_ns()}")
        scim_token, _ = tenants.create_token(conn, tenant.id, scopes=("scim",))
        admin_token, _ = tenants.create_token(conn, tenant.id, scopes=("admin",))
    engine.dispose()
    timings: dict[str, list[float]] = {"import": [], "reimport": [], "skip": [], "bulk": []}
    with servers.running("scimd", "--database-url", database_url) as server:
        origin = f"http://127.0.0.1:{server.port}"
        with (
            httpx.Client(
                base_url=f"{origin}/admin/v1",
                headers={"Authorization": f"Bearer {admin_token}"},
                timeout=600,
            ) as admin,
            httpx.Client(
                base_url=f"{origin}/scim/v2",
                headers={"Authorization": f"Bearer {scim_token}"},
                timeout=600,
            ) as scim,
        ):
            for round_ in range(repeat):
                for name, seconds in _round(admin, scim, round_, rows).items():
                    timings[name].append(seconds)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "rows": rows,
        "import rows/s": rows / medians["import"],
        "import seconds": medians["import"],
        "re-import rows/s": rows / medians["reimport"],
        "skip-errors rows/s": rows / medians["skip"],
        "/Bulk creates/s": rows / medians["bulk"],
        "import ÷ /Bulk": medians["bulk"] / medians["import"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", help="an existing PostgreSQL database (default: throw-away)")
    args = parser.parse_args(argv)
    results = {}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                results[backend] = measure(f"sqlite:///{folder}/bench.db", args.rows, args.repeat)
        else:
            with servers.postgres_database(args.pg_url) as url:
                results[backend] = measure(url, args.rows, args.repeat)
    names = list(next(iter(results.values())))
    print("| measure | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for name in names:
        cells = [
            f"{result[name]:,.2f}" if isinstance(result[name], float) else f"{result[name]:,}"
            for result in results.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
