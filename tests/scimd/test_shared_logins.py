"""One account per login across tenants, unless the installation allows sharing."""

from __future__ import annotations

import uuid

import pytest

from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import make_tenant
from tests.scimd.accounts import (
    act,
    admin_token,
    assert_error,
    client,
    login,
    random_address,
)


def _login() -> str:
    return f"one-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def two_tenants(engine):
    """SCIM and admin clients of two tenants on an app with the default rule (no sharing)."""
    app = create_app(Settings(), engine=engine)
    first, second = make_tenant(engine), make_tenant(engine)
    with (
        client(app, "/scim/v2", first.token) as scim_a,
        client(app, "/scim/v2", second.token) as scim_b,
        client(app, "/admin/v1", admin_token(engine, second)) as admin_b,
    ):
        yield scim_a, scim_b, admin_b


def test_a_login_active_in_another_tenant_cannot_be_added(two_tenants):
    scim_a, scim_b, admin_b = two_tenants
    name, email = _login(), _login()
    made = scim_a.post("/Users", json={"userName": name, "emails": [{"value": email}]})
    assert made.status_code == 201, made.text
    for body in (
        {"userName": name.upper()},
        {"userName": _login(), "emails": [{"value": email.upper()}]},
        {"userName": email},  # an email there is a login too
    ):
        refused = scim_b.post("/Users", json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["scimType"] == "uniqueness"
    assert_error(admin_b.post("/users", json={"userName": name}), 409, "conflict")
    # Adding it to an existing user is refused the same way; other changes are not.
    own = scim_b.post("/Users", json={"userName": _login()}).json()
    add = {"op": "add", "path": "emails", "value": [{"value": email}]}
    assert scim_b.patch(f"/Users/{own['id']}", json={"Operations": [add]}).status_code == 409
    rename = {"op": "replace", "path": "displayName", "value": "Fine"}
    assert scim_b.patch(f"/Users/{own['id']}", json={"Operations": [rename]}).status_code == 200


def test_a_deactivated_account_frees_its_logins(two_tenants):
    scim_a, scim_b, _ = two_tenants
    name = _login()
    made = scim_a.post("/Users", json={"userName": name}).json()
    deactivate = {"op": "replace", "path": "active", "value": False}
    assert (
        scim_a.patch(f"/Users/{made['id']}", json={"Operations": [deactivate]}).status_code == 200
    )
    assert scim_b.post("/Users", json={"userName": name}).status_code == 201
    # ... and cannot come back while the other tenant's account is active.
    activate = {"op": "replace", "path": "active", "value": True}
    assert scim_a.patch(f"/Users/{made['id']}", json={"Operations": [activate]}).status_code == 409


def test_shared_logins_sign_in_with_a_tenant(engine):
    app = create_app(Settings(shared_logins=True), engine=engine)
    tenants = [make_tenant(engine), make_tenant(engine)]
    name = _login()
    for tenant in tenants:
        with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
            user = admin.post("/users", json={"userName": name}).json()
            act(admin, user["id"], "allow-login")
            act(admin, user["id"], "set-password", password="Shared-login-pass-1")
    with client(app, "/auth", address=random_address()) as auth:
        assert_error(login(auth, name, "Shared-login-pass-1"), 401, "invalid_credentials")
        chosen = login(auth, name, "Shared-login-pass-1", tenant=tenants[1].name)
        assert chosen.json()["status"] == "signed_in"
        assert_error(
            login(auth, name, "Shared-login-pass-1", tenant="no-such-tenant"),
            401,
            "invalid_credentials",
        )
