"""The Alembic migrations: in step with the table declarations, and safe to run concurrently."""

from __future__ import annotations

import threading
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from directory import database
from directory.tables import Base


def test_migrated_schema_matches_the_table_declarations(engine):
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


@pytest.mark.postgres
def test_servers_upgrading_a_fresh_database_at_once_all_succeed(postgres_url):
    if postgres_url is None:
        pytest.skip("no PostgreSQL available")
    name = f"scimd_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    errors: list[BaseException] = []

    def start_server() -> None:
        engine = database.create_store_engine(url, pool_size=1)
        try:
            database.upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            engine.dispose()

    try:
        threads = [threading.Thread(target=start_server) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        engine = create_engine(url)
        with engine.connect() as conn:
            assert "users" in inspect(conn).get_table_names()
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                == ScriptDirectory.from_config(database.alembic_config(url)).get_current_head()
            )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
