"""Fixtures shared by every test package.

Each backend (SQLite, PostgreSQL) gets one freshly migrated database per test
session; each test gets its own tenant in it. Every query of scimd is scoped by
tenant, so tests cannot see each other's data and need no cleanup.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.testclient import TestClient

from directory import database, tenants
from directory.sealing import new_key
from scimd.app import create_app
from scimd.settings import Settings
from tests.support.authority import FakeAuthority, fake_authority
from tests.support.postgres import postgres_server

# The app fixture's MFA-sealing key; tests/scimd/test_keys.py covers where keys come from.
TEST_SECRET_KEY = new_key()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A PostgreSQL database created for this session, or None (tests then skip)."""
    with postgres_server() as server:
        if server is None:
            yield None
            return
        name = f"scimd_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'scimd.db'}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, sqlite_url: str, postgres_url: str | None) -> str:
    """The URL of a migrated test database, once per backend."""
    if request.param == "sqlite":
        url = sqlite_url
    elif postgres_url is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but no PostgreSQL is available")
        pytest.skip("no PostgreSQL available (set SCIMD_TEST_POSTGRES_URL)")
    else:
        url = postgres_url
    engine = database.create_store_engine(url, pool_size=2)
    database.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = database.create_store_engine(database_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    token: str


def make_tenant(engine: Engine, prefix: str = "t") -> Tenant:
    with engine.begin() as conn:
        tenant = tenants.create_tenant(conn, f"{prefix}-{uuid.uuid4().hex[:10]}")
        token, _ = tenants.create_token(conn, tenant.id)
    return Tenant(tenant.id, tenant.name, token)


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    """A fresh tenant with a SCIM token, private to the test."""
    return make_tenant(engine)


@pytest.fixture
def app(engine: Engine) -> Starlette:
    # Tests share one database across many tenants with fixed user names: the installation
    # setting that lets a login live in several tenants keeps them apart. The one-login rule
    # itself is tested with it off (tests/scimd/test_shared_logins.py).
    # No job runner: apps of other tests would claim each other's queued jobs and stop
    # mid-job when their test ends; tests/scimd/test_jobs.py runs its own.
    settings = Settings(shared_logins=True, secret_key=TEST_SECRET_KEY, job_runner=False)
    return create_app(settings, engine=engine)


def scim_client(app: Starlette, token: str | None) -> TestClient:
    """An HTTP client on the real app (in-process ASGI) at the SCIM root."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(app, base_url="http://testserver/scim/v2", headers=headers)


@pytest.fixture
def scim(app: Starlette, tenant: Tenant) -> Iterator[TestClient]:
    """An HTTP client on the real app, authenticated as ``tenant``."""
    with scim_client(app, tenant.token) as client:
        yield client


@pytest.fixture(scope="session")
def authority_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAuthority]:
    """The fake identity provider (tests/support/authority.py): one server per session."""
    with fake_authority(tmp_path_factory.mktemp("authority")) as server:
        yield server


@pytest.fixture
def authority(authority_server: FakeAuthority) -> FakeAuthority:
    """The running fake authority, as it started: default keys, sign-in, no tweaks."""
    authority_server.reset()
    return authority_server
