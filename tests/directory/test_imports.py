"""Imports when the store itself refuses a row (a constraint no check foresaw)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from directory import imports, tables
from directory.audit import SYSTEM
from scimd.admin.views import validated_document
from tests.conftest import make_tenant
from tests.support.spreadsheets import csv_bytes


@pytest.fixture
def refused_name(engine) -> Iterator[str]:
    """A username the database refuses to store, by a trigger, as a DBA's rule might."""
    name = f"refused-{uuid.uuid4().hex[:8]}@example.com"
    trigger = f"refuse_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON users "
                    f"WHEN NEW.user_name = '{name}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    f"CREATE FUNCTION {trigger}() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.user_name = '{name}' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON users "
                    f"FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                )
            )
    yield name
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER {trigger}"))
        else:
            conn.execute(text(f"DROP TRIGGER {trigger} ON users"))
            conn.execute(text(f"DROP FUNCTION {trigger}()"))


def _run(engine, tenant_id: int, names: list[str], **options) -> imports.Report:
    data = csv_bytes(["Username", "Job title"], [[name, "x"] for name in names])
    chosen = imports.ImportOptions(**options)

    def write(work):
        with engine.begin() as conn:
            return work(conn)

    plan = imports.plan(data, "f.csv", chosen)
    return imports.run(write, tenant_id, plan, chosen, SYSTEM, check_document=validated_document)


def _users(engine, tenant_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(tables.User).where(tables.User.tenant_id == tenant_id)
        ).scalar_one()


def test_all_or_nothing_reports_a_row_the_store_refuses_and_writes_nothing(engine, refused_name):
    tenant = make_tenant(engine)
    names = ["a@example.com", refused_name, "b@example.com", "a@example.com"]
    report = _run(engine, tenant.id, names)
    assert report.committed is False and report.failed == 2
    assert [(e.row, e.column) for e in report.errors] == [(3, None), (5, "Username")]
    assert "the store refused the row" in report.errors[0].reason
    assert report.created == 2  # what would have been created: counted once, not twice
    assert _users(engine, tenant.id) == 0


def test_skip_errors_writes_the_rows_around_one_the_store_refuses(engine, refused_name):
    tenant = make_tenant(engine)
    report = _run(
        engine, tenant.id, ["c@example.com", refused_name, "d@example.com"], skip_errors=True
    )
    assert (report.created, report.failed, report.committed) == (2, 1, True)
    assert _users(engine, tenant.id) == 2
