"""The admin users grid (``GET /admin/v1/users``) over a tenant of 100,000 users.

Times, through the real admin API in process (the console's way to it), the pages an admin
asks for: the first page, a middle and the last page by index (``startIndex``) and by cursor
(the ``nextCursor`` of the index page before), a filtered page (``locked=true``), a broad and
a narrow search prefix, and each sort (last login newest first, also deep). Baseline in the
same run: ``GET /admin/v1/users/{id}`` of one user, so the ratio says what a page of the
grid costs over the cheapest read of the same API. Medians of ``--repeat`` answers each.

Usage::

    python -m bench.grid                           # 100,000 users, SQLite and PostgreSQL
    python -m bench.grid --users 20000 --backends sqlite --repeat 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert
from starlette.testclient import TestClient

from bench import servers
from directory import accounts, database, tables, tenants
from directory.sealing import new_key
from directory.values import comparison_key
from scimd.app import create_app
from scimd.settings import Settings

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
CHUNK = 5000
PAGE = 50
FIRST_NAMES = ("Ada", "Björn", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Íñigo", "Jo")


def load(engine: Engine, tenant_id: int, count: int, seed: int = 7) -> list[str]:
    """``count`` users with their emails and accounts, inserted a chunk per statement (as
    ``directory.users.create_user`` and an import's ``accounts.create_rows`` write them, less
    the per-user checks). One in ten has no account row (as users SCIM created and no admin
    touched), one in ten an account that never signed in, one in a hundred is locked."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    ids: list[str] = []
    with engine.begin() as conn:
        for start in range(0, count, CHUNK):
            users, emails, rows = [], [], []
            for n in range(start, min(start + CHUNK, count)):
                user_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                name = f"user{n}@example.com"
                display = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} Person{n}"
                document = {
                    "schemas": [CORE],
                    "userName": name,
                    "displayName": display,
                    "emails": [{"value": name, "type": "work", "primary": True}],
                    "active": True,
                }
                users.append(
                    {
                        "tenant_id": tenant_id,
                        "id": user_id,
                        "user_name": name,
                        "user_name_key": comparison_key(name),
                        "external_id": None,
                        "display_name": display,
                        "display_name_key": comparison_key(display),
                        "active": True,
                        "created": now - timedelta(seconds=count - n),
                        "last_modified": now,
                        "version": 1,
                        "document": document,
                    }
                )
                emails.append(
                    {
                        "tenant_id": tenant_id,
                        "user_id": user_id,
                        "position": 0,
                        "value": name,
                        "value_key": comparison_key(name),
                        "type": "work",
                        "primary": True,
                    }
                )
                ids.append(user_id)
                if n % 10 == 0:
                    continue  # provisioned by SCIM, never touched by an admin: no account row
                login = None if n % 10 == 1 else now - timedelta(seconds=rnd.randrange(10**7))
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "user_id": user_id,
                        "login_allowed": True,
                        "locked": n % 100 == 1,
                        "last_login": login,
                        "failed_tries": rnd.randrange(3),
                    }
                )
            conn.execute(insert(tables.User), users)
            conn.execute(insert(tables.UserEmail), emails)
            accounts.create_rows(conn, rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # What autovacuum would have done by now in a running installation (statistics for
        # the planner, and on PostgreSQL the visibility map that index-only scans need);
        # SQLite's planner has no statistics without ANALYZE either.
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    return ids


def _timed(admin: TestClient, path: str, params: dict[str, Any], repeat: int) -> float:
    """The median milliseconds of ``repeat`` answers (after one unmeasured warm-up)."""
    times = []
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        answer = admin.get(path, params=params)
        elapsed = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"{path} {params}: {answer.status_code} {answer.text[:300]}")
        if attempt:
            times.append(elapsed * 1000)
    return statistics.median(times)


def _cursor_at(admin: TestClient, params: dict[str, Any], start: int) -> str:
    """The cursor of the page starting at ``start`` (taken from the index page before it:
    every page hands out the cursor of the next)."""
    before = admin.get("/users", params={**params, "startIndex": start - PAGE}).json()
    return str(before["nextCursor"])


def measure(database_url: str, count: int, repeat: int) -> dict[str, float]:
    engine = database.create_store_engine(database_url)
    database.upgrade(engine)
    with engine.begin() as conn:
        tenant = tenants.create_tenant(conn, f"bench-grid-{time.time_ns()}")
        token, _ = tenants.create_token(conn, tenant.id, scopes=("admin",))
    started = time.perf_counter()
    ids = load(engine, tenant.id, count)
    loaded = time.perf_counter() - started
    settings = Settings(secret_key=new_key(), job_runner=False, log_level="warning")
    app = create_app(settings, engine=engine)
    last = ((count - 1) // PAGE) * PAGE + 1
    middle = (count // 2 // PAGE) * PAGE + 1
    with TestClient(
        app,
        base_url="http://testserver/admin/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as admin:
        page = {"count": PAGE}
        by_login = {**page, "sort": "-lastLogin"}

        def timed(params: dict[str, Any], path: str = "/users") -> Callable[[], float]:
            return lambda: _timed(admin, path, params, repeat)

        def cursor(params: dict[str, Any], start: int) -> Callable[[], float]:
            return lambda: _timed(
                admin, "/users", {**params, "cursor": _cursor_at(admin, params, start)}, repeat
            )

        cases: dict[str, Callable[[], float]] = {
            "GET /users/{id} (baseline)": timed({}, f"/users/{ids[count // 2]}"),
            "first page": timed(page),
            f"middle page (startIndex={middle:,})": timed({**page, "startIndex": middle}),
            f"last page (startIndex={last:,})": timed({**page, "startIndex": last}),
            "filtered page (locked=true)": timed({**page, "locked": "true"}),
            "search prefix (user5: 11,111 match)": timed({**page, "search": "user5"}),
            "search prefix (user512: 111 match)": timed({**page, "search": "user512"}),
            "sort lastLogin descending": timed(by_login),
            "sort lastLogin descending, middle page": timed({**by_login, "startIndex": middle}),
            "sort name": timed({**page, "sort": "name"}),
            "sort created descending": timed({**page, "sort": "-created"}),
            "cursor, middle page": cursor(page, middle),
            "cursor, last page": cursor(page, last),
            "cursor, sort lastLogin descending, middle page": cursor(by_login, middle),
        }
        result = {name: case() for name, case in cases.items()}
    engine.dispose()
    baseline = result["GET /users/{id} (baseline)"]
    return {"users": count, "load seconds": loaded, **result, "_baseline": baseline}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", help="an existing PostgreSQL database (default: throw-away)")
    args = parser.parse_args(argv)
    results = {}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                results[backend] = measure(f"sqlite:///{folder}/bench.db", args.users, args.repeat)
        else:
            with servers.postgres_database(args.pg_url) as url:
                results[backend] = measure(url, args.users, args.repeat)
    first = next(iter(results.values()))
    print(
        "| request (page of 50) | " + " | ".join(f"{b} ms | {b} ÷ baseline" for b in results) + " |"
    )
    print("|---|" + "---:|---:|" * len(results))
    for name in first:
        if name.startswith("_"):
            continue
        cells = []
        for result in results.values():
            value = result[name]
            if name in ("users", "load seconds"):
                cells += [f"{value:,.0f}" if name == "users" else f"{value:,.1f}", ""]
            else:
                cells += [f"{value:,.1f}", f"{value / result['_baseline']:,.1f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
