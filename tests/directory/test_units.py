"""Units of work: one transaction each, whether they run alone, in the pool or in a group commit."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
import threading
import time

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import make_url

from directory import database, tables, units, users
from directory.errors import Conflict, Unavailable
from directory.paging import PageRequest
from directory.units import Units
from tests.conftest import make_tenant
from tests.support.postgres import free_port

WHO = contextvars.ContextVar("who", default="nobody")


def count_users(engine: Engine, tenant_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(tables.User.tenant_id == tenant_id)
        ).scalar_one()


def create(tenant_id: int, name: str):
    return lambda conn: users.create_user(conn, tenant_id, {"userName": name}).id


def test_concurrent_writes_all_commit_and_answer_their_own_result(engine: Engine) -> None:
    tenant = make_tenant(engine)
    runner = Units(engine)

    async def main() -> list[str]:
        return await asyncio.gather(
            *(runner.write(create(tenant.id, f"user{n}")) for n in range(200))
        )

    ids = asyncio.run(main())
    assert len(set(ids)) == 200
    with engine.connect() as conn:
        for n in (0, 99, 199):
            assert users.get_user(conn, tenant.id, ids[n]).document["userName"] == f"user{n}"
    assert count_users(engine, tenant.id) == 200


def test_a_failing_unit_is_rolled_back_alone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a group commit, a unit that raises loses its own writes and nobody else's."""
    tenant = make_tenant(engine)
    runner = Units(engine)
    batches: list[int] = []
    together = Units._write_together

    def spy(self: Units, batch: list) -> None:
        batches.append(len(batch))
        together(self, batch)

    monkeypatch.setattr(Units, "_write_together", spy)

    def create_then_fail(conn) -> None:
        users.create_user(conn, tenant.id, {"userName": "half-done"})
        raise RuntimeError("the unit fails after writing")

    async def main() -> list[object]:
        work = [create(tenant.id, f"ok{n}") for n in range(50)]
        work.insert(25, create_then_fail)
        work.insert(10, create(tenant.id, "ok3"))  # a duplicate userName: Conflict
        return await asyncio.gather(*(runner.write(w) for w in work), return_exceptions=True)

    outcomes = asyncio.run(main())
    if engine.dialect.name == "sqlite":
        assert batches and max(batches) > 1, "the units were never committed together"
    assert sum(isinstance(o, RuntimeError) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert sum(isinstance(o, str) for o in outcomes) == 50
    assert count_users(engine, tenant.id) == 50
    with engine.connect() as conn:
        found, _ = users.query_users(conn, tenant.id, PageRequest(limit=100))
    assert found.total == 50


def test_units_see_the_callers_context(engine: Engine) -> None:
    """Policies (the SCIM provider's) travel in context variables: the writer runs under them."""
    runner = Units(engine)

    async def main() -> list[str]:
        async def one(name: str) -> str:
            WHO.set(name)
            return await runner.write(lambda conn: WHO.get())

        return await asyncio.gather(*(one(f"caller{n}") for n in range(20)))

    assert asyncio.run(main()) == [f"caller{n}" for n in range(20)]


def test_a_cancelled_caller_does_not_undo_its_write(engine: Engine) -> None:
    tenant = make_tenant(engine)
    runner = Units(engine)
    started, release = threading.Event(), threading.Event()

    def slow_create(conn) -> str:
        started.set()
        release.wait(10)
        return users.create_user(conn, tenant.id, {"userName": "kept"}).id

    async def main() -> str:
        task = asyncio.ensure_future(runner.write(slow_create))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        release.set()
        # The thread pool may deliver the cancellation or the result; either way the
        # unit ran to its end.
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The next unit runs after the cancelled one committed.
        return await runner.write(lambda conn: "after")

    assert asyncio.run(main()) == "after"
    # In the thread pool (PostgreSQL) the cancelled caller may return before the
    # unit commits: wait for it, within reason.
    deadline = time.monotonic() + 10
    while count_users(engine, tenant.id) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert count_users(engine, tenant.id) == 1


def test_the_sqlite_writer_ends_when_idle_and_restarts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes run in the thread pool")
    monkeypatch.setattr(units, "_IDLE_SECONDS", 0.05)
    tenant = make_tenant(engine)
    runner = Units(engine)

    async def main() -> None:
        await runner.write(create(tenant.id, "first"))
        first = runner._writer
        assert first is not None
        await asyncio.to_thread(first.join, 5)
        assert not first.is_alive() and runner._writer is None
        await runner.write(create(tenant.id, "second"))

    asyncio.run(main())
    assert count_users(engine, tenant.id) == 2


def test_reads_return_what_writes_committed(engine: Engine) -> None:
    tenant = make_tenant(engine)
    runner = Units(engine)

    async def main() -> tuple[str, str]:
        user_id = await runner.write(create(tenant.id, "reader"))
        pooled = await runner.read(lambda conn: users.get_user(conn, tenant.id, user_id))
        point = await runner.read_point(lambda conn: users.get_user(conn, tenant.id, user_id))
        return pooled.document["userName"], point.document["userName"]

    assert asyncio.run(main()) == ("reader", "reader")


def test_a_write_that_waits_out_the_lock_is_unavailable_and_writes_nothing(tmp_path) -> None:
    """Another process holding SQLite's write lock past the busy timeout: a retryable error."""
    path = tmp_path / "locked.db"
    store = database.create_store_engine(f"sqlite:///{path}", pool_size=1)
    database.upgrade(store)
    tenant = make_tenant(store)
    event.listen(
        store, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=50"), insert=False
    )
    store.dispose()  # reconnect with the short timeout
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Unavailable):
            asyncio.run(Units(store).write(create(tenant.id, "blocked")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count_users(store, tenant.id) == 0
    store.dispose()


@pytest.mark.postgres
def test_a_database_that_refuses_connections_is_unavailable_not_an_error(postgres_url) -> None:
    """While PostgreSQL restarts, connecting fails: a retryable 503, not a 500."""
    if postgres_url is None:
        pytest.skip("no PostgreSQL available")
    closed = make_url(postgres_url).set(host="127.0.0.1", port=free_port())
    store = database.create_store_engine(closed.render_as_string(hide_password=False))
    try:
        with pytest.raises(Unavailable, match="cannot be reached"):
            asyncio.run(Units(store).read(lambda conn: conn.execute(text("SELECT 1")).scalar()))
        with pytest.raises(Unavailable, match="cannot be reached"):
            asyncio.run(Units(store).write(lambda conn: conn.execute(text("SELECT 1")).scalar()))
    finally:
        store.dispose()
