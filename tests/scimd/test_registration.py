"""``/auth/register``: self-registration where the tenant allows it, into pending approval."""

from __future__ import annotations

import uuid

from tests.scimd.accounts import (
    PASSWORD,
    act,
    assert_error,
    client,
    events,
    login,
    random_address,
)


def _register(auth, tenant, **fields):
    body = {
        "tenant": tenant.name,
        "userName": f"self-{uuid.uuid4().hex[:10]}@example.com",
        "password": PASSWORD,
        **fields,
    }
    return auth.post("/register", json=body)


def _open(admin, **settings) -> None:
    response = admin.put("/settings", json={"self_registration": True, **settings})
    assert response.status_code == 200, response.text


def _grid_size(admin) -> int:
    return admin.get("/users").json()["totalResults"]


def test_registration_is_closed_unless_the_tenant_opens_it(admin, auth, tenant):
    before = _grid_size(admin)
    closed = _register(auth, tenant)
    assert_error(closed, 403, "registration_closed")
    unknown = auth.post(
        "/register", json={"tenant": "no-such-tenant", "userName": "a@b.c", "password": PASSWORD}
    )
    assert_error(unknown, 403, "registration_closed")
    assert unknown.json() == closed.json() | {"detail": unknown.json()["detail"]}
    assert "no-such-tenant" not in unknown.text
    assert _grid_size(admin) == before


def test_a_registered_account_waits_for_approval_then_signs_in(admin, auth, tenant):
    _open(admin)
    made = _register(auth, tenant, email="self.made@example.com", name="Self Made")
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending_approval"
    user_id = made.json()["userId"]
    user = admin.get(f"/users/{user_id}").json()
    assert user["email"] == "self.made@example.com" and user["name"] == "Self Made"
    assert user["approval"] == "pending" and user["loginAllowed"] is False

    assert_error(login(auth, "self.made@example.com"), 403, "login_not_allowed")
    assert user_id in {u["id"] for u in admin.get("/approvals").json()["users"]}
    act(admin, user_id, "approve")
    assert login(auth, "self.made@example.com").json()["status"] == "signed_in"
    [registered] = events(admin, action="user.register", target=f"user:{user_id}")
    assert registered["actor"] == f"user:{user_id}" and PASSWORD not in str(registered)


def test_without_approval_a_registered_account_signs_in_at_once(admin, auth, tenant):
    _open(admin, approval_required=False)
    made = _register(auth, tenant)
    assert made.json()["status"] == "registered"
    user = admin.get(f"/users/{made.json()['userId']}").json()
    assert login(auth, user["userName"]).json()["status"] == "signed_in"


def test_a_refused_registration_leaves_nothing_behind(admin, auth, tenant):
    _open(admin)
    before = _grid_size(admin)
    name = f"weak-{uuid.uuid4().hex[:8]}@example.com"
    assert_error(_register(auth, tenant, userName=name, password="short"), 400, "invalid_value")
    assert_error(_register(auth, tenant, userName=name, colour="red"), 400, "invalid_value")
    assert_error(_register(auth, tenant, userName=""), 400, "invalid_value")
    assert _grid_size(admin) == before
    assert _register(auth, tenant, userName=name).status_code == 201  # the name was left free
    taken = _register(auth, tenant, userName=name)
    assert_error(taken, 409, "conflict")
    assert _grid_size(admin) == before + 1


def test_registrations_from_one_address_are_throttled(app, admin, tenant):
    _open(admin)
    with client(app, "/auth", address=random_address()) as auth:
        for _ in range(10):
            _register(auth, tenant, password="short")  # refused ones count too
        throttled = _register(auth, tenant)
        assert_error(throttled, 429, "throttled")
        assert int(throttled.headers["retry-after"]) > 0
    with client(app, "/auth", address=random_address()) as elsewhere:
        assert _register(elsewhere, tenant).status_code == 201
