"""The job queue in the store: claims that never overlap, leases that run out, progress."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from directory import jobs, tables
from directory.audit import SYSTEM
from directory.errors import NotFound
from tests.conftest import make_tenant

LEASE = timedelta(seconds=30)


def _queue(engine, tenant_id: int, count: int) -> list[int]:
    with engine.begin() as conn:
        return [
            jobs.create(conn, tenant_id, "import", SYSTEM, f"f{n}.csv", b"x", {}, 1)
            for n in range(count)
        ]


def test_concurrent_claimants_never_take_the_same_job(engine):
    tenant = make_tenant(engine)
    queued = set(_queue(engine, tenant.id, 12))
    claimed: list[int] = []
    errors: list[BaseException] = []

    def claimant(name: str) -> None:
        try:
            while True:
                with engine.begin() as conn:
                    job = jobs.claim(conn, name, LEASE)
                if job is None:
                    return
                if job.id in queued:
                    claimed.append(job.id)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=claimant, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(claimed) == sorted(queued)  # each exactly once
    with engine.connect() as conn:
        states = [jobs.get(conn, tenant.id, job_id) for job_id in queued]
    assert {(job.status, job.attempts) for job in states} == {(jobs.RUNNING, 1)}


def test_a_running_job_is_claimed_again_only_after_its_lease(engine):
    tenant = make_tenant(engine)
    [job_id] = _queue(engine, tenant.id, 1)
    with engine.begin() as conn:
        assert jobs.claim(conn, "first", LEASE).id == job_id
    with engine.begin() as conn:
        alive = jobs.claim(conn, "second", LEASE)  # other tests' queued jobs may come first
        assert alive is None or alive.id != job_id
    with engine.begin() as conn:  # the first process went quiet for longer than the lease
        conn.execute(
            update(tables.Job)
            .where(tables.Job.id == job_id)
            .values(heartbeat=tables.Job.heartbeat - timedelta(minutes=5))
        )
    with engine.begin() as conn:
        again = jobs.claim(conn, "second", LEASE)
    assert again is not None and again.id == job_id and again.attempts == 2
    with engine.begin() as conn:
        # The first worker's late progress is refused: the job is the second's now.
        assert jobs.progress(conn, job_id, "first", 1, {}) is False
        assert jobs.progress(conn, job_id, "second", 1, {"created": 1}) is True


def test_finishing_keeps_the_report_and_drops_the_file(engine):
    tenant = make_tenant(engine)
    [job_id] = _queue(engine, tenant.id, 1)
    with engine.begin() as conn:
        jobs.finish(conn, job_id, jobs.DONE, {"created": 1}, done=1)
    with engine.connect() as conn:
        job = jobs.get(conn, tenant.id, job_id)
        assert (job.status, job.done, job.report) == (jobs.DONE, 1, {"created": 1})
        assert job.finished is not None
        assert jobs.payload(conn, job_id) is None
    with engine.begin() as conn:
        late = jobs.claim(conn, "late", LEASE)
        assert late is None or late.id != job_id  # a finished job is never claimed


def test_jobs_are_read_only_within_their_tenant(engine):
    mine, other = make_tenant(engine), make_tenant(engine)
    [job_id] = _queue(engine, mine.id, 1)
    with engine.connect() as conn:
        assert jobs.get(conn, mine.id, job_id).id == job_id
        assert [job.id for job in jobs.recent(conn, other.id)] == []
        with pytest.raises(NotFound):
            jobs.get(conn, other.id, job_id)
