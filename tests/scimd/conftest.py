"""Fixtures of the scimd tests: admin API and sign-in clients on the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.conftest import Tenant, make_tenant
from tests.scimd.accounts import admin_token, client, random_address


@pytest.fixture
def admin(app: Starlette, engine, tenant: Tenant) -> Iterator[TestClient]:
    """The admin API of ``tenant``, with an admin-scoped token."""
    with client(app, "/admin/v1", admin_token(engine, tenant)) as api:
        yield api


@pytest.fixture
def auth(app: Starlette) -> Iterator[TestClient]:
    """The sign-in endpoints (no token: people sign in with passwords)."""
    with client(app, "/auth", address=random_address()) as api:
        yield api


@pytest.fixture
def make_tenant_admin(app: Starlette, engine) -> Callable[[], AbstractContextManager[TestClient]]:
    """Admin API clients of further fresh tenants: ``with make_tenant_admin() as other:``."""

    @contextmanager
    def make() -> Iterator[TestClient]:
        other = make_tenant(engine)
        with client(app, "/admin/v1", admin_token(engine, other)) as api:
            yield api

    return make
