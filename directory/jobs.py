"""Queued jobs in the store, so that any server process can run them and none runs one twice.

A job is claimed with a lease: the claim sets ``claimed_by`` and
``heartbeat``, the runner renews the heartbeat as it commits progress, and a
``running`` job whose heartbeat is older than the lease is claimed again
(its process died). On PostgreSQL the claim reads the candidate with
``FOR UPDATE SKIP LOCKED``, so processes claiming at once pass over each
other's rows instead of queueing on them; on both backends the claim is a
conditional UPDATE, so two claimants cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from directory import tables
from directory.audit import Actor
from directory.clock import as_utc, utcnow
from directory.errors import NotFound

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 3  # a job that took its process down this often is failed, not retried


@dataclass(frozen=True)
class Job:
    id: int
    tenant_id: int
    kind: str
    status: str
    actor: str
    filename: str
    options: dict[str, Any]
    total: int
    done: int
    report: dict[str, Any]
    attempts: int
    created: datetime
    started: datetime | None
    finished: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "filename": self.filename,
            "options": self.options,
            "progress": {"done": self.done, "total": self.total},
            "report": self.report,
            "attempts": self.attempts,
            "createdBy": self.actor,
            "created": _iso(self.created),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


_COLUMNS = (
    tables.Job.id,
    tables.Job.tenant_id,
    tables.Job.kind,
    tables.Job.status,
    tables.Job.actor,
    tables.Job.filename,
    tables.Job.options,
    tables.Job.total,
    tables.Job.done,
    tables.Job.report,
    tables.Job.attempts,
    tables.Job.created,
    tables.Job.started,
    tables.Job.finished,
)


def _job(row: Any) -> Job:
    return Job(**row._mapping)


def create(
    conn: Connection,
    tenant_id: int,
    kind: str,
    actor: Actor,
    filename: str,
    payload: bytes,
    options: dict[str, Any],
    total: int,
    *,
    claimed_by: str | None = None,
) -> int:
    """A new job: queued, or (``claimed_by``) already running in the caller."""
    now = utcnow()
    return int(
        conn.execute(
            insert(tables.Job)
            .values(
                tenant_id=tenant_id,
                kind=kind,
                status=RUNNING if claimed_by else QUEUED,
                actor=str(actor),
                filename=filename[:255],
                options=options,
                payload=payload,
                total=total,
                done=0,
                report={},
                attempts=1 if claimed_by else 0,
                claimed_by=claimed_by,
                created=now,
                started=now if claimed_by else None,
                heartbeat=now if claimed_by else None,
            )
            .returning(tables.Job.id)
        ).scalar_one()
    )


def get(conn: Connection, tenant_id: int, job_id: int) -> Job:
    row = conn.execute(
        select(*_COLUMNS).where(tables.Job.tenant_id == tenant_id, tables.Job.id == job_id)
    ).first()
    if row is None:
        raise NotFound(f"no job {job_id}")
    return _job(row)


def recent(conn: Connection, tenant_id: int, limit: int = 50) -> list[Job]:
    rows = conn.execute(
        select(*_COLUMNS)
        .where(tables.Job.tenant_id == tenant_id)
        .order_by(tables.Job.id.desc())
        .limit(limit)
    )
    return [_job(row) for row in rows]


def payload(conn: Connection, job_id: int) -> bytes | None:
    return conn.execute(select(tables.Job.payload).where(tables.Job.id == job_id)).scalar()


def claim(conn: Connection, worker: str, lease: timedelta) -> Job | None:
    """Take the oldest queued job, or a running one whose lease ran out; None if none."""
    job = tables.Job
    now = utcnow()
    claimable = or_(job.status == QUEUED, (job.status == RUNNING) & (job.heartbeat < now - lease))
    candidate = select(job.id).where(claimable).order_by(job.id).limit(1)
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    job_id = conn.execute(candidate).scalar()
    if job_id is None:
        return None
    claimed = conn.execute(
        update(job)
        .where(job.id == job_id, claimable)
        .values(
            status=RUNNING,
            claimed_by=worker,
            heartbeat=now,
            started=now,
            attempts=job.attempts + 1,
        )
    )
    if claimed.rowcount != 1:
        return None  # another process won it between the two statements
    return _job(conn.execute(select(*_COLUMNS).where(job.id == job_id)).one())


def progress(conn: Connection, job_id: int, worker: str, done: int, report: dict[str, Any]) -> bool:
    """Record progress and renew the lease; False if the job is no longer this worker's."""
    job = tables.Job
    renewed = conn.execute(
        update(job)
        .where(job.id == job_id, job.claimed_by == worker, job.status == RUNNING)
        .values(done=done, report=report, heartbeat=utcnow())
    )
    return renewed.rowcount == 1


def finish(
    conn: Connection, job_id: int, status: str, report: dict[str, Any], done: int | None = None
) -> None:
    """End a job: its report kept, its file dropped."""
    values: dict[str, Any] = {
        "status": status,
        "report": report,
        "finished": utcnow(),
        "payload": None,
    }
    if done is not None:
        values["done"] = done
    conn.execute(update(tables.Job).where(tables.Job.id == job_id).values(**values))
