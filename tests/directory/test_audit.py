"""The audit trail in the store (directory.audit): append-only by the database's own rule,
gone only with its tenant, and read by filters, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from directory import audit, tables, tenants
from directory.audit import Actor
from tests.conftest import make_tenant

ACTOR = Actor("admin-token", "7")


def _events_of(conn, tenant_id: int) -> int:
    event = tables.AuditEvent
    return conn.execute(select(func.count()).where(event.tenant_id == tenant_id)).scalar_one()


@pytest.fixture
def recorded(engine, tenant) -> list[audit.Event]:
    """Three events of ``tenant``, oldest first."""
    with engine.begin() as conn:
        for action in ("user.create", "account.lock", "user.delete"):
            audit.record(conn, tenant.id, ACTOR, action, "user:abc")
        return list(reversed(audit.events(conn, tenant.id)))


@pytest.mark.parametrize(
    "statement",
    [
        lambda tenant_id: (
            update(tables.AuditEvent)
            .where(tables.AuditEvent.tenant_id == tenant_id)
            .values(action="nothing.happened")
        ),
        lambda tenant_id: delete(tables.AuditEvent).where(tables.AuditEvent.tenant_id == tenant_id),
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_event(engine, tenant, recorded, statement):
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(statement(tenant.id))
    with engine.connect() as conn:
        assert list(reversed(audit.events(conn, tenant.id))) == recorded


def test_deleting_a_tenant_takes_its_events_and_no_other_tenant_s(engine, tenant, recorded):
    doomed = make_tenant(engine, "doomed")
    with engine.begin() as conn:
        audit.record(conn, doomed.id, ACTOR, "user.create", "user:x")
    with engine.begin() as conn:
        tenants.delete_tenant(conn, doomed.name)
    with engine.connect() as conn:
        assert _events_of(conn, doomed.id) == 0
        assert _events_of(conn, tenant.id) == len(recorded)


def test_events_read_newest_first_or_oldest_first_after_an_id(engine, tenant, recorded):
    ids = [event.id for event in recorded]
    with engine.connect() as conn:
        assert [e.id for e in audit.events(conn, tenant.id)] == ids[::-1]
        assert [e.id for e in audit.events(conn, tenant.id, after_id=0)] == ids
        assert [e.id for e in audit.events(conn, tenant.id, after_id=ids[0], limit=1)] == ids[1:2]
        assert [e.id for e in audit.events(conn, tenant.id, before_id=ids[2])] == ids[1::-1]


def test_a_filter_narrows_by_each_field_and_a_half_open_time_window(engine, tenant, recorded):
    first, second, third = recorded
    with engine.connect() as conn:

        def ids(**fields):
            return [e.id for e in audit.events(conn, tenant.id, audit.Filter(**fields))]

        assert ids(action="account.lock") == [second.id]
        assert ids(actor="admin-token:7", target="user:abc") == [third.id, second.id, first.id]
        assert ids(actor="admin-token:8") == [] and ids(result="refused") == []
        assert ids(since=first.at) == [third.id, second.id, first.id]
        assert ids(until=first.at) == []  # until is exclusive
        assert ids(until=third.at + timedelta(seconds=1), since=third.at)[0] == third.id
