"""Units of work: one transaction each, whether they run alone, in the pool or in a group commit."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from sqlalchemy import Engine, func, select

from directory import tables, units, users
from directory.errors import Conflict
from directory.paging import PageRequest
from directory.units import Units
from tests.conftest import make_tenant

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
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next unit runs after the cancelled one committed.
        return await runner.write(lambda conn: "after")

    assert asyncio.run(main()) == "after"
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
