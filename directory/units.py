"""Where units of work run: off the event loop, and on SQLite through one writer.

A unit of work is a sync function of an open connection; it runs inside ONE
transaction that commits if it returns and rolls back if it raises.

Why one writer on SQLite: SQLite lets one transaction write at a time. With a
pool of threads each taking the write lock at ``BEGIN IMMEDIATE``, the losers
sleep in SQLite's busy handler, whose waits grow in steps of up to 100 ms:
measured, a p99 of 550-860 ms for creates and PATCHes at 32 clients, and
throughput lost to threads that slept while the lock was free. Here one
thread owns writing. It never waits for a lock held inside this process, and
it commits the units that queued while it worked in one transaction (group
commit): each unit runs in its own SAVEPOINT, so a unit that fails is rolled
back alone, and no unit is answered before the COMMIT that makes it durable.
Other processes on the same file still queue on the busy timeout.

PostgreSQL has row locks and many writers: its units run in the thread pool,
each in its own transaction, as before.

Reads never take the write path. On SQLite a point read (a few tens of µs of
SQLite) costs less than the hop to a worker thread and back, so ``read_now``
runs it on the caller's thread; anything that may scan stays in the pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool

from directory.database import readonly
from directory.errors import Unavailable

T = TypeVar("T")
Work = Callable[[Connection], T]

_IDLE_SECONDS = (
    5.0  # the writer thread ends after this long without work; the next write restarts it
)
_MAX_BATCH = 128  # units a writer commits together at most


@dataclass
class _Job:
    work: Work[Any]
    context: contextvars.Context
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]

    def settle(self, ok: bool, outcome: Any) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, ok, outcome)


def _settle(future: asyncio.Future[Any], ok: bool, outcome: Any) -> None:
    if future.done():  # the caller went away (cancelled); the write stands regardless
        return
    if ok:
        future.set_result(outcome)
    else:
        future.set_exception(outcome)


@contextmanager
def _store_errors() -> Iterator[None]:
    """A lost connection or an exhausted lock wait, as the retryable error it is."""
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("The database connection was lost; try again") from exc
        if isinstance(exc, OperationalError) and exc.statement is None:
            # No statement: connecting failed (the server is down or restarting).
            raise Unavailable("The database cannot be reached; try again") from exc
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            raise Unavailable("The database stayed locked; try again") from exc
        raise


def _transaction(engine: Engine, work: Work[T]) -> T:
    with _store_errors(), engine.begin() as conn:
        return work(conn)


def _autocommit(engine: Engine, work: Work[T]) -> T:
    with _store_errors(), engine.connect() as conn:
        return work(conn)


class Units:
    """Runs one store's units of work; one per engine and process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reader = readonly(engine)
        self.serial_writes = engine.dialect.name == "sqlite"
        self.inline_reads = engine.dialect.name == "sqlite"
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a transaction of its own (or a savepoint of a group commit)."""
        if not self.serial_writes:
            return await run_in_threadpool(_transaction, self.engine, work)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job = _Job(work, contextvars.copy_context(), loop, future)
        with self._lock:
            self._jobs.put(job)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_batches, name="scimd-sqlite-writer", daemon=True
                )
                self._writer.start()
        return await future

    async def read(self, work: Work[T]) -> T:
        """Run ``work``, which only reads, in a worker thread."""
        return await run_in_threadpool(self._read, work)

    async def read_point(self, work: Work[T]) -> T:
        """Run a read bounded by an index lookup (a GET by id): inline where that is cheaper."""
        if self.inline_reads:
            return self._read(work)
        return await run_in_threadpool(self._read, work)

    def _read(self, work: Work[T]) -> T:
        # The read-only engine takes no transaction (see ``readonly``).
        return _autocommit(self.reader, work)

    # --- the SQLite writer ---------------------------------------------------------

    def _next_batch(self) -> list[_Job] | None:
        try:
            first = self._jobs.get(timeout=_IDLE_SECONDS)
        except queue.Empty:
            with self._lock:
                if self._jobs.empty():
                    self._writer = None
                    return None
            first = self._jobs.get()
        batch = [first]
        while len(batch) < _MAX_BATCH:
            try:
                batch.append(self._jobs.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write_batches(self) -> None:
        while (batch := self._next_batch()) is not None:
            if len(batch) == 1:
                self._write_one(batch[0])
            else:
                self._write_together(batch)

    def _write_one(self, job: _Job) -> None:
        try:
            value = job.context.run(_transaction, self.engine, job.work)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            job.settle(False, exc)
        else:
            job.settle(True, value)

    def _write_together(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with _store_errors(), self.engine.begin() as conn:
                for job in batch:
                    try:
                        with conn.begin_nested():
                            outcomes.append((True, job.context.run(job.work, conn)))
                    except Exception as exc:  # noqa: BLE001 - this unit alone is rolled back
                        outcomes.append((False, exc))
        except Exception as exc:  # noqa: BLE001 - the COMMIT failed: no unit is written
            outcomes = [(False, exc)] * len(batch)
        for job, (ok, outcome) in zip(batch, outcomes, strict=True):
            job.settle(ok, outcome)
