"""People administer their tenant as themselves: a sign-in session (or user API key) of an
account holding the admin role (``SCIMD_ADMIN_ROLE``) is accepted by the admin API, and
what it does is theirs in the audit log."""

from __future__ import annotations

from tests.scimd.accounts import act, client, login, new_user, ready_user


def _session(auth, user) -> str:
    signed_in = login(auth, user["userName"]).json()
    assert signed_in["status"] == "signed_in", signed_in
    return signed_in["session"]


def test_a_session_of_an_admin_role_holder_administers_the_tenant_as_them(app, admin, auth):
    assert admin.post("/roles", json={"code": "admin"}).status_code == 201
    person = ready_user(admin, roles=["admin"])
    with client(app, "/admin/v1", _session(auth, person)) as own:
        target = new_user(own)
        assert own.get(f"/users/{target['id']}").status_code == 200
    [event] = admin.get("/audit", params={"target": f"user:{target['id']}"}).json()["events"]
    assert event["actor"] == f"user:{person['id']}"


def test_a_session_without_the_role_or_of_a_locked_account_is_refused(app, admin, auth):
    assert admin.post("/roles", json={"code": "admin"}).status_code == 201
    plain = ready_user(admin)
    with client(app, "/admin/v1", _session(auth, plain)) as own:
        assert own.get("/users").status_code == 401
    holder = ready_user(admin, roles=["admin"])
    session = _session(auth, holder)
    act(admin, holder["id"], "lock", reason="left")
    # Not used before the lock, so not in the authenticator's short cache either.
    with client(app, "/admin/v1", session) as own:
        assert own.get("/users").status_code == 401


def test_a_session_is_not_a_scim_credential(app, admin, auth):
    assert admin.post("/roles", json={"code": "admin"}).status_code == 201
    holder = ready_user(admin, roles=["admin"])
    with client(app, "/scim/v2", _session(auth, holder)) as scim:
        assert scim.get("/Users").status_code == 401
