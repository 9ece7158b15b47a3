"""Shared set-up for the admin API and sign-in tests: admin clients and ready accounts."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pyotp
from starlette.applications import Starlette
from starlette.testclient import TestClient

from directory import tenants
from tests.conftest import Tenant

PASSWORD = "Correct-horse-9-battery"


def admin_token(engine, tenant: Tenant, *scopes: str) -> str:
    with engine.begin() as conn:
        token, _ = tenants.create_token(conn, tenant.id, scopes=scopes or ("admin",))
    return token


def client(
    app: Starlette, path: str, token: str | None = None, address: str = "testclient"
) -> TestClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(
        app, base_url=f"http://testserver{path}", headers=headers, client=(address, 50000)
    )


def random_address() -> str:
    """A client address of its own, so one test's failures never throttle another's."""
    return "10." + ".".join(str(random.randrange(256)) for _ in range(3))


def new_user(admin: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"userName": f"u-{uuid.uuid4().hex[:10]}@example.com", **fields}
    response = admin.post("/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def ready_user(admin: TestClient, password: str = PASSWORD, **fields: Any) -> dict[str, Any]:
    """A user with login access and a password of its own choosing (no forced change)."""
    user = new_user(admin, **fields)
    act(admin, user["id"], "allow-login")
    act(admin, user["id"], "set-password", password=password)
    return user


def act(admin: TestClient, user_id: str, action: str, **body: Any) -> dict[str, Any]:
    response = admin.post(f"/users/{user_id}/actions/{action}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def login(auth: TestClient, login_name: str, password: str = PASSWORD, **extra: Any):
    return auth.post("/login", json={"login": login_name, "password": password, **extra})


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def events(admin: TestClient, **filters: str) -> list[dict[str, Any]]:
    response = admin.get("/audit", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def next_code(secret: str) -> str:
    """The TOTP code of the next time step: still accepted (one step of drift), and later
    than a code of the current step, which the server takes only once."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time(), counter_offset=1)
