"""Opening the store and migrating it (directory.database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from directory import database, tables, tenants

DIRECTORY_TABLES = {
    "tenants",
    "api_tokens",
    "users",
    "user_emails",
    "groups",
    "memberships",
    "accounts",
    "tenant_settings",
    "catalog",
    "grants",
    "password_history",
    "credentials",
    "audit_events",
    "sign_in_throttle",
    "resources",
    "jobs",
    "sso_providers",
    "sso_links",
    "sso_snapshots",
    "sso_flows",
}


def head_revision() -> str:
    script = ScriptDirectory.from_config(database.alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


@pytest.fixture
def empty_database_url(engine, tmp_path) -> Iterator[str]:
    """A new, empty database on the same backend (and server) as ``engine``."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"scimd_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_creates_the_schema_on_an_empty_database_and_is_idempotent(
    empty_database_url,
):
    store = database.create_store_engine(empty_database_url, pool_size=1)
    try:
        assert DIRECTORY_TABLES.isdisjoint(inspect(store).get_table_names())
        database.upgrade(store)
        database.upgrade(store)
        assert set(inspect(store).get_table_names()) == DIRECTORY_TABLES | {"alembic_version"}
        with store.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert list(versions) == [head_revision()]
    finally:
        store.dispose()


def test_upgrade_of_a_migrated_database_keeps_its_data(engine, tenant):
    database.upgrade(engine)
    database.upgrade(engine)
    with engine.begin() as conn:
        assert tenants.get_tenant(conn, tenant.name).id == tenant.id
        principal = tenants.authenticate(conn, tenant.token)
        versions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert principal is not None
    assert principal.tenant_id == tenant.id
    assert versions == [head_revision()]


def test_store_engine_enforces_foreign_keys(engine):
    missing_tenant = 2_000_000_000
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(
                insert(tables.User).values(
                    tenant_id=missing_tenant,
                    id=str(uuid.uuid4()),
                    user_name="ghost",
                    user_name_key="ghost",
                    active=True,
                    created=now,
                    last_modified=now,
                    version=1,
                    document={"userName": "ghost"},
                )
            )
    with engine.begin() as conn:
        orphans = conn.execute(
            select(tables.User.id).where(tables.User.tenant_id == missing_tenant)
        ).all()
    assert orphans == []


def test_a_failed_statement_s_error_never_shows_its_parameters(engine, tenant):
    """Errors are logged, and parameters can be password hashes or token digests."""
    secret = "argon2-hash-that-must-not-leak"
    with pytest.raises(IntegrityError) as failure, engine.begin() as conn:
        conn.execute(
            insert(tables.Tenant).values(id=tenant.id, name=secret, created=datetime.now(UTC))
        )
    assert secret not in str(failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)


def test_ping_answers_on_a_working_store(engine):
    assert database.ping(engine) is None


def test_ping_raises_when_the_store_cannot_be_reached(tmp_path):
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "not-a-file.db").mkdir()
    broken = database.create_store_engine(f"sqlite:///{tmp_path / 'not-a-file.db'}")
    try:
        with pytest.raises(Exception, match="unable to open database file"):
            database.ping(broken)
    finally:
        broken.dispose()


# SQLite only: how the embedded backend is tuned.


def test_sqlite_store_engine_runs_in_wal_mode_with_foreign_keys_on(tmp_path):
    store = database.create_store_engine(f"sqlite:///{tmp_path / 'tuned.db'}", pool_size=1)
    try:
        with store.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        store.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "synchronous": 1,  # NORMAL
    }


def test_sqlite_store_engine_begins_transactions_immediately(tmp_path):
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    store = database.create_store_engine(url, pool_size=1)
    # A second, plain connection that gives up at once instead of waiting.
    probe = create_engine(url, connect_args={"timeout": 0}, isolation_level="AUTOCOMMIT")
    try:
        with store.begin() as conn:
            # No statement yet: IMMEDIATE already holds the write lock.
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            with probe.connect() as other, pytest.raises(Exception, match="locked"):
                other.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with probe.connect() as other:
            other.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        probe.dispose()
        store.dispose()


def test_create_store_engine_creates_the_parent_directory_of_a_new_sqlite_file(tmp_path):
    path = tmp_path / "var" / "nested" / "scimd.db"
    assert not path.parent.exists()
    store = database.create_store_engine(f"sqlite:///{path}", pool_size=1)
    try:
        assert path.parent.is_dir()
        database.upgrade(store)
        assert path.is_file()
        assert DIRECTORY_TABLES <= set(inspect(store).get_table_names())
    finally:
        store.dispose()


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path):
    """A read unit of work takes no lock: it reads its snapshot while a writer holds the lock."""
    import time

    from sqlalchemy import text

    from directory import database

    engine = database.create_store_engine(f"sqlite:///{tmp_path / 'locks.db'}", pool_size=2)
    database.upgrade(engine)
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO tenants (name, created) VALUES ('w', '2026-01-01')"))
        started = time.monotonic()
        with database.readonly(engine).connect() as reader:
            count = reader.execute(text("SELECT count(*) FROM tenants")).scalar_one()
        waited = time.monotonic() - started
    assert count == 0  # the writer has not committed: the reader sees its snapshot
    assert waited < 1.0  # and did not queue on the 30 s busy timeout
    engine.dispose()
