"""Running imports as jobs: now, in the request that asks, or queued for any server process.

Every import is a job row, so its status, progress and report read the same
over the admin API whether it ran now or from the queue. Each server process
runs a ``JobRunner`` that claims queued jobs (and jobs whose process died,
once their lease runs out) and runs them through the same code.

The import itself (``directory.imports``) is synchronous code over units of
work; it runs in a worker thread and hands each unit back to the event loop's
``Units``, so on SQLite it still goes through the one writer.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

import anyio
from anyio import from_thread, to_thread
from sqlalchemy import Connection

from directory import imports, jobs
from directory.audit import Actor
from directory.errors import DirectoryError, InvalidValue
from directory.imports import ImportOptions, Plan, Report
from directory.units import Units
from scimd.admin.views import validated_document

log = logging.getLogger("scimd.jobs")
KIND = "import"


class LeaseLost(Exception):
    """Another process claimed the job meanwhile (this one stalled past its lease): stop."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def actor_of(label: str) -> Actor:
    kind, _, ident = label.partition(":")
    return Actor(kind, ident)


class Imports:
    """Submits, runs and reports import jobs for the admin API and the runner."""

    def __init__(self, units: Units, *, shared_logins: bool, worker: str | None = None) -> None:
        self.units = units
        self.shared_logins = shared_logins
        self.worker = worker or worker_name()
        self.live: dict[int, tuple[int, int]] = {}
        """Progress of the jobs this process runs, between their committed checkpoints."""

    async def submit(
        self,
        tenant_id: int,
        actor: Actor,
        data: bytes,
        filename: str,
        options: ImportOptions,
        *,
        queue: bool,
    ) -> jobs.Job:
        """Check the file (nothing is written for a file refused as a whole), then run it
        now (the job as it ended) or queue it (the job as queued)."""
        the_plan = await to_thread.run_sync(imports.plan, data, filename, options)
        claimed_by = None if queue else self.worker

        def create(conn: Connection) -> jobs.Job:
            job_id = jobs.create(
                conn,
                tenant_id,
                KIND,
                actor,
                filename,
                data,
                options.to_json(),
                len(the_plan.rows),
                claimed_by=claimed_by,
            )
            return jobs.get(conn, tenant_id, job_id)

        created = await self.units.write(create)
        if queue:
            return created  # as queued: a runner may claim it the moment this commits
        await self.run(created.id, tenant_id, actor, the_plan, options)
        return await self.units.read(lambda conn: jobs.get(conn, tenant_id, created.id))

    async def run(
        self,
        job_id: int,
        tenant_id: int,
        actor: Actor,
        the_plan: Plan,
        options: ImportOptions,
        *,
        start: int = 0,
        report: Report | None = None,
    ) -> None:
        """Run a claimed job to its end, and record the end."""
        total = len(the_plan.rows)
        self.live[job_id] = (start, total)

        def progress(done: int, _total: int) -> None:
            self.live[job_id] = (done, total)

        def checkpoint(conn: Connection, done: int, so_far: Report) -> None:
            if done >= total:
                jobs.finish(conn, job_id, jobs.DONE, so_far.to_json(), done)
            elif not jobs.progress(conn, job_id, self.worker, done, so_far.to_json()):
                raise LeaseLost(f"job {job_id} was claimed by another process")

        def write(work: Any) -> Any:
            return from_thread.run(self.units.write, work)

        def run_import() -> Report:
            return imports.run(
                write,
                tenant_id,
                the_plan,
                options,
                actor,
                check_document=validated_document,
                shared_logins=self.shared_logins,
                progress=progress,
                checkpoint=checkpoint,
                start=start,
                report=report,
            )

        try:
            result = await to_thread.run_sync(run_import)
        except LeaseLost:
            log.warning("import job taken over by another process", extra={"job": job_id})
            return
        except DirectoryError as exc:  # the import as a whole: e.g. no user to copy roles from
            await self._end(job_id, jobs.FAILED, {"error": exc.detail})
            return
        except Exception:
            log.exception("import job failed", extra={"job": job_id})
            await self._end(job_id, jobs.FAILED, {"error": "internal error; see the server log"})
            return
        finally:
            self.live.pop(job_id, None)
        if not result.committed:
            # Refused (all or nothing) or a dry run: no rows were written; the report says why.
            status = jobs.DONE if options.dry_run else jobs.FAILED
            await self._end(job_id, status, result.to_json(), total)

    async def _end(
        self, job_id: int, status: str, report: dict[str, Any], done: int | None = None
    ) -> None:
        await self.units.write(lambda conn: jobs.finish(conn, job_id, status, report, done))

    async def get(self, tenant_id: int, job_id: int) -> dict[str, Any]:
        job = await self.units.read(lambda conn: jobs.get(conn, tenant_id, job_id))
        view = job.to_json()
        live = self.live.get(job_id)
        if live is not None and job.status == jobs.RUNNING:
            view["progress"] = {"done": max(live[0], job.done), "total": job.total}
        return view

    async def run_claimed(self, job: jobs.Job) -> None:
        """Run a job the runner claimed: from the start, or where a skip-errors job stopped."""
        options = ImportOptions.from_json(job.options)
        actor = actor_of(job.actor)
        if job.attempts > jobs.MAX_ATTEMPTS:
            error = f"stopped after {job.attempts - 1} attempts that did not finish"
            await self._end(job.id, jobs.FAILED, {**job.report, "error": error})
            return
        data = await self.units.read(lambda conn: jobs.payload(conn, job.id))
        try:
            the_plan = await to_thread.run_sync(imports.plan, data or b"", job.filename, options)
        except InvalidValue as exc:
            await self._end(job.id, jobs.FAILED, {"error": exc.detail})
            return
        resume = options.skip_errors and not options.dry_run and bool(job.report)
        await self.run(
            job.id,
            job.tenant_id,
            actor,
            the_plan,
            options,
            start=job.done if resume else 0,
            report=Report.from_json(job.report) if resume else None,
        )


class JobRunner:
    """Claims and runs queued jobs in this process, one at a time, until stopped.

    Stopping lets the job in hand finish (its work runs in a thread, which cannot be
    interrupted anyway) and claims no other; the server's shutdown waits for it.
    """

    def __init__(self, imports_: Imports, *, poll_seconds: float, lease_seconds: float) -> None:
        self.imports = imports_
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)

    async def run_until(self, stopping: anyio.Event) -> None:
        """Claim and run jobs until ``stopping`` is set (the server is shutting down)."""
        while not stopping.is_set():
            try:
                claimed = await self.imports.units.write(
                    lambda conn: jobs.claim(conn, self.imports.worker, self.lease)
                )
            except DirectoryError:
                claimed = None  # the store is unavailable for now: try again later
            if claimed is None:
                with anyio.move_on_after(self.poll_seconds):
                    await stopping.wait()
                continue
            log.info("running a queued job", extra={"job": claimed.id, "kind": claimed.kind})
            with anyio.CancelScope(shield=True):
                await self.imports.run_claimed(claimed)
