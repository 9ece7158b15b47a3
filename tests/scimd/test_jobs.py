"""Queued imports: run by a server's job runner, resumed after a crash, readable meanwhile."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from directory import imports, jobs, tables
from directory.audit import SYSTEM
from scimd.admin.views import validated_document
from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.scimd.accounts import admin_token, client
from tests.support.spreadsheets import csv_bytes


def _running_app(engine, lease: float = 30.0):
    settings = Settings(
        shared_logins=True,
        secret_key=TEST_SECRET_KEY,
        job_runner=True,
        job_poll_seconds=0.05,
        job_lease_seconds=lease,
    )
    return create_app(settings, engine=engine)


def _users_file(prefix: str, count: int, bad: frozenset[int] = frozenset()) -> bytes:
    rows = [
        [f"{prefix}-{n}@example.com", "not-an-email" if n in bad else f"{prefix}-{n}@example.com"]
        for n in range(count)
    ]
    return csv_bytes(["Username", "Email"], rows)


def _wait_for(admin, job_id: int, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = admin.get(f"/imports/{job_id}").json()
        if job["status"] == status:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _count_users(engine, tenant_id: int, prefix: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(tables.User)
            .where(tables.User.tenant_id == tenant_id, tables.User.user_name.like(f"{prefix}-%"))
        ).scalar_one()


def test_a_queued_import_is_run_by_the_job_runner(engine, tenant):
    app = _running_app(engine)
    with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
        response = admin.post(
            "/imports",
            files={"file": ("q.csv", _users_file("queued", 30), "text/csv")},
            data={"queue": "true"},
        )
        assert response.status_code == 202, response.text
        queued = response.json()
        assert queued["status"] == "queued" and queued["progress"] == {"done": 0, "total": 30}
        assert response.headers["location"].endswith(f"/imports/{queued['id']}")
        done = _wait_for(admin, queued["id"], "done")
    assert done["report"]["created"] == 30 and done["report"]["complete"] is True
    assert done["progress"] == {"done": 30, "total": 30} and done["attempts"] == 1
    assert _count_users(engine, tenant.id, "queued") == 30


def test_a_skip_errors_job_resumes_after_its_last_committed_chunk(engine, tenant):
    """A process died after committing the first chunk: another takes over from there."""
    total = imports.CHUNK_ROWS + 40
    data = _users_file("resume", total, bad=frozenset({3, imports.CHUNK_ROWS + 5}))
    options = imports.ImportOptions(skip_errors=True)
    plan = imports.plan(data, "r.csv", options)
    with engine.begin() as conn:
        job_id = jobs.create(
            conn,
            tenant.id,
            "import",
            SYSTEM,
            "r.csv",
            data,
            options.to_json(),
            total,
            claimed_by="dead-process",
        )

    def write(work):
        with engine.begin() as conn:
            return work(conn)

    class Crash(Exception):
        pass

    def checkpoint(conn, done, report):
        assert jobs.progress(conn, job_id, "dead-process", done, report.to_json())
        if done == imports.CHUNK_ROWS:
            return  # the first chunk commits with its progress
        raise Crash  # the process dies inside the second chunk: it rolls back

    with pytest.raises(Crash):
        imports.run(
            write,
            tenant.id,
            plan,
            options,
            SYSTEM,
            check_document=validated_document,
            checkpoint=checkpoint,
        )
    assert _count_users(engine, tenant.id, "resume") == imports.CHUNK_ROWS - 1
    with engine.begin() as conn:  # its lease runs out
        conn.execute(
            update(tables.Job)
            .where(tables.Job.id == job_id)
            .values(heartbeat=tables.Job.heartbeat - timedelta(minutes=10))
        )
    with client(_running_app(engine), "/admin/v1", admin_token(engine, tenant)) as admin:
        done = _wait_for(admin, job_id, "done")
    report = done["report"]
    assert (report["created"], report["failed"]) == (total - 2, 2)
    assert [error["row"] for error in report["errors"]] == [5, imports.CHUNK_ROWS + 7]
    assert done["attempts"] == 2
    assert _count_users(engine, tenant.id, "resume") == total - 2


def test_an_all_or_nothing_job_that_died_is_run_again_from_the_start(engine, tenant):
    data = _users_file("again", 20)
    with engine.begin() as conn:
        job_id = jobs.create(
            conn, tenant.id, "import", SYSTEM, "a.csv", data, {}, 20, claimed_by="dead"
        )
        conn.execute(
            update(tables.Job)
            .where(tables.Job.id == job_id)
            .values(heartbeat=tables.Job.heartbeat - timedelta(minutes=10))
        )
    with client(_running_app(engine), "/admin/v1", admin_token(engine, tenant)) as admin:
        done = _wait_for(admin, job_id, "done")
    assert done["report"]["created"] == 20 and done["attempts"] == 2
    assert _count_users(engine, tenant.id, "again") == 20


def test_a_job_that_keeps_dying_is_failed_not_retried_forever(engine, tenant):
    with engine.begin() as conn:
        job_id = jobs.create(
            conn,
            tenant.id,
            "import",
            SYSTEM,
            "p.csv",
            _users_file("poison", 2),
            {},
            2,
            claimed_by="dead",
        )
        conn.execute(
            update(tables.Job)
            .where(tables.Job.id == job_id)
            .values(
                attempts=jobs.MAX_ATTEMPTS,
                heartbeat=tables.Job.heartbeat - timedelta(minutes=10),
            )
        )
    with client(_running_app(engine), "/admin/v1", admin_token(engine, tenant)) as admin:
        failed = _wait_for(admin, job_id, "failed")
    assert "attempts" in failed["report"]["error"]
    assert _count_users(engine, tenant.id, "poison") == 0
