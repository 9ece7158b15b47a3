"""Queued imports survive a server killed mid-job (SIGKILL: no shutdown code runs).

A live ``scimd serve`` runs the queued import; the test kills its process group
part-way, checks in the store what the crash left, then starts a new server,
whose job runner claims the job once its lease has run out and finishes it.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, select

from directory import database, jobs, tables, tenants
from directory.imports import CHUNK_ROWS
from tests.support.live_server import LiveServer, run_scimd, running_server
from tests.support.spreadsheets import csv_bytes

# A dead server's job is claimed again 2 s after its last heartbeat, looked for every 0.1 s.
ENV = {"SCIMD_JOB_POLL_SECONDS": "0.1", "SCIMD_JOB_LEASE_SECONDS": "2"}
ROWS = 3000
BAD = (17, 1234, 2901)  # indexes of rows with a bad cell: before and after the kill
MFA_ERROR = "'maybe' is not TRUE/FALSE, Y/N or 1/0"
TIMEOUT = 180.0  # the machine is slow: generous, yet a hung job still fails the test

T = TypeVar("T")


def _admin_token(database_url: str, tenant: str) -> str:
    """An admin token of a new tenant, made by ``scimd token create``."""
    result = run_scimd(
        "token", "create", "--tenant", tenant, "--scope", "admin", "--database-url", database_url
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _tenant_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return tenants.get_tenant(conn, name).id


def _admin(server: LiveServer, token: str) -> httpx.Client:
    origin = server.base_url.removesuffix("/scim/v2")
    return httpx.Client(
        base_url=f"{origin}/admin/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _queue(admin: httpx.Client, data: bytes, **form: str) -> int:
    response = admin.post(
        "/imports",
        files={"file": ("users.csv", data, "text/csv")},
        data={"queue": "true", **form},
    )
    assert response.status_code == 202, response.text
    # Queued: the server's runner may have claimed it before the answer was read back.
    assert response.json()["status"] in (jobs.QUEUED, jobs.RUNNING), response.json()
    return int(response.json()["id"])


def _shown(admin: httpx.Client, job_id: int) -> dict[str, Any]:
    response = admin.get(f"/imports/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _wait_for(what: str, server: LiveServer, check: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {TIMEOUT:.0f} s:\n{server.output()[-4000:]}")
        time.sleep(0.05)


def _crash(server: LiveServer) -> None:
    """SIGKILL the server's whole process group, as a power cut or the OOM killer would."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _stored(engine: Engine, tenant_id: int, job_id: int) -> jobs.Job:
    # Read-only: on SQLite a plain connection takes the write lock and would queue behind
    # the import's chunks, seeing the job only when it has ended.
    with database.readonly(engine).connect() as conn:
        return jobs.get(conn, tenant_id, job_id)


def _user_names(engine: Engine, tenant_id: int) -> list[str]:
    """The tenant's userNames, one entry per stored user (duplicates would show)."""
    with database.readonly(engine).connect() as conn:
        return sorted(
            conn.execute(
                select(tables.User.user_name).where(tables.User.tenant_id == tenant_id)
            ).scalars()
        )


def _finished(admin: httpx.Client, job_id: int) -> dict[str, Any] | None:
    shown = _shown(admin, job_id)
    return shown if shown["status"] in (jobs.DONE, jobs.FAILED) else None


def test_a_skip_errors_import_killed_mid_job_resumes_after_its_last_committed_chunk(
    database_url, engine
):
    tenant = f"crash-skip-{uuid.uuid4().hex[:8]}"
    token = _admin_token(database_url, tenant)
    tenant_id = _tenant_id(engine, tenant)
    names = [f"zoë.{i:04d}.{tenant}@example.com" for i in range(ROWS)]
    rows = [[name, f"Zoë {i}", "maybe" if i in BAD else "TRUE"] for i, name in enumerate(names)]
    data = csv_bytes(["Username", "First name", "MFA required"], rows)
    good = [name for i, name in enumerate(names) if i not in BAD]
    # Spreadsheet row numbers: the header is row 1.
    errors = [{"row": i + 2, "column": "MFA required", "reason": MFA_ERROR} for i in BAD]

    with running_server(database_url, env=ENV) as first, _admin(first, token) as admin:
        job_id = _queue(admin, data, skipErrors="true")

        def a_chunk_committed() -> jobs.Job | None:
            shown = _shown(admin, job_id)
            # Finished before the kill would leave nothing to test: fail rather than pass.
            assert shown["status"] in (jobs.QUEUED, jobs.RUNNING), shown
            stored = _stored(engine, tenant_id, job_id)
            return stored if shown["status"] == jobs.RUNNING and stored.done >= CHUNK_ROWS else None

        _wait_for("committed chunk", first, a_chunk_committed)
        _crash(first)

    at_kill = _stored(engine, tenant_id, job_id)
    assert at_kill.status == jobs.RUNNING and at_kill.attempts == 1
    # Whole chunks only: the rows and the job's progress were committed together.
    assert at_kill.done % CHUNK_ROWS == 0 and CHUNK_ROWS <= at_kill.done < ROWS, at_kill.done
    landed = _user_names(engine, tenant_id)
    assert landed == sorted(n for i, n in enumerate(names[: at_kill.done]) if i not in BAD)
    assert at_kill.report["created"] == len(landed)
    assert at_kill.report["errors"] == [e for e in errors if e["row"] - 2 < at_kill.done]

    with running_server(database_url, env=ENV) as second, _admin(second, token) as admin:
        finished = _wait_for("finished job", second, lambda: _finished(admin, job_id))

    assert finished["status"] == jobs.DONE, json.dumps(finished)[:4000]
    assert finished["attempts"] == 2
    assert finished["progress"] == {"done": ROWS, "total": ROWS}
    report = finished["report"]
    assert (report["total"], report["created"], report["failed"]) == (ROWS, len(good), len(BAD))
    assert (report["updated"], report["unchanged"]) == (0, 0)
    assert (report["committed"], report["complete"]) == (True, False)
    # Each bad row reported once, the rows done before the crash not redone ("already exists").
    assert report["errors"] == errors
    assert _user_names(engine, tenant_id) == sorted(good)


def test_an_all_or_nothing_import_killed_mid_job_lands_whole_or_not_at_all(database_url, engine):
    tenant = f"crash-all-{uuid.uuid4().hex[:8]}"
    token = _admin_token(database_url, tenant)
    tenant_id = _tenant_id(engine, tenant)
    names = [f"ångström.{i:04d}.{tenant}@example.com" for i in range(ROWS)]
    data = csv_bytes(["Username", "Last name"], [[name, "Ångström"] for name in names])

    with running_server(database_url, env=ENV) as first, _admin(first, token) as admin:
        job_id = _queue(admin, data)

        def underway() -> dict[str, Any] | None:
            shown = _shown(admin, job_id)
            assert shown["status"] in (jobs.QUEUED, jobs.RUNNING), shown
            # Well past the chunks an import that committed as it went would have committed.
            return shown if shown["progress"]["done"] >= 4 * CHUNK_ROWS else None

        shown = _wait_for("progress", first, underway)
        # The progress shown is the running process's own count: nothing of it is committed.
        assert shown["status"] == jobs.RUNNING and shown["progress"]["done"] < ROWS, shown
        _crash(first)

    landed = len(_user_names(engine, tenant_id))
    at_kill = _stored(engine, tenant_id, job_id)
    assert landed in (0, ROWS), landed
    if landed == 0:
        assert (at_kill.status, at_kill.done, at_kill.report) == (jobs.RUNNING, 0, {})
        attempts = 2
    else:  # committed, with the job's end, in the instant between the poll and the kill
        assert at_kill.status == jobs.DONE
        attempts = 1

    with running_server(database_url, env=ENV) as second, _admin(second, token) as admin:
        finished = _wait_for("finished job", second, lambda: _finished(admin, job_id))

    assert finished["status"] == jobs.DONE, json.dumps(finished)[:4000]
    assert finished["attempts"] == attempts
    assert finished["progress"] == {"done": ROWS, "total": ROWS}
    report = finished["report"]
    assert (report["created"], report["failed"], report["errors"]) == (ROWS, 0, [])
    assert (report["committed"], report["complete"]) == (True, True)
    assert _user_names(engine, tenant_id) == sorted(names)
