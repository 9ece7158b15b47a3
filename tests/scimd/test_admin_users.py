"""``/admin/v1``: users, actions, bulk actions, approvals, settings and audit over HTTP."""

from __future__ import annotations

from starlette.routing import Mount, Route

from directory import accounts
from directory.audit import SYSTEM
from tests.conftest import make_tenant
from tests.scimd.accounts import (
    act,
    admin_token,
    assert_error,
    client,
    events,
    new_user,
)


def test_admin_tokens_and_scim_tokens_do_not_open_each_others_api(app, engine, tenant):
    with client(app, "/admin/v1", tenant.token) as scim_token_on_admin:
        assert_error(scim_token_on_admin.get("/users"), 403, "forbidden")
    admin_only = admin_token(engine, tenant)
    with client(app, "/scim/v2", admin_only) as admin_token_on_scim:
        assert admin_token_on_scim.get("/Users").status_code == 403
    both = admin_token(engine, tenant, "admin", "scim")
    with client(app, "/admin/v1", both) as api, client(app, "/scim/v2", both) as scim:
        assert api.get("/users").status_code == 200
        assert scim.get("/Users").status_code == 200
    with client(app, "/admin/v1") as anonymous:
        response = anonymous.get("/users")
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_create_read_edit_and_delete_a_user(admin, scim):
    for path, code in (("/user-types", "staff"), ("/licences", "pro")):
        assert admin.post(path, json={"code": code}).status_code == 201
    user = new_user(
        admin, name="Ann Lee", email="ann@corp.example", mobile="+44 7700 900123", userType="staff"
    )
    assert (user["name"], user["email"], user["mobile"], user["userType"]) == (
        "Ann Lee",
        "ann@corp.example",
        "+44 7700 900123",
        "staff",
    )
    # The SCIM view is the same user, its contact fields in the SCIM document.
    document = scim.get(f"/Users/{user['id']}").json()
    assert document["displayName"] == "Ann Lee"
    assert document["emails"][0] == {"value": "ann@corp.example", "type": "work", "primary": True}
    assert document["phoneNumbers"] == [{"value": "+44 7700 900123", "type": "mobile"}]

    changed = admin.patch(
        f"/users/{user['id']}",
        json={"email": "ann.lee@corp.example", "forcePasswordChange": True, "accessLicence": "pro"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["email"] == "ann.lee@corp.example" and body["forcePasswordChange"] is True
    assert body["accessLicence"] == "pro" and body["version"] == user["version"] + 1

    assert_error(admin.patch(f"/users/{user['id']}", json={"colour": "red"}), 400, "invalid_value")
    assert_error(
        admin.patch(f"/users/{user['id']}", json={"email": "not an address"}), 400, "invalid_value"
    )
    assert_error(admin.delete(f"/users/{user['id']}"), 400, "confirmation_required")
    assert admin.get(f"/users/{user['id']}").status_code == 200
    assert admin.delete(f"/users/{user['id']}", params={"confirm": "true"}).status_code == 204
    assert_error(admin.get(f"/users/{user['id']}"), 404, "not_found")
    actions = [e["action"] for e in events(admin, target=f"user:{user['id']}")]
    assert actions[:3] == ["user.delete", "account.update", "user.update"]
    assert "user.create" in actions


def test_a_user_name_taken_is_a_conflict(admin):
    user = new_user(admin)
    assert_error(admin.post("/users", json={"userName": user["userName"].upper()}), 409, "conflict")
    assert_error(admin.post("/users", json={"name": "No login"}), 400, "invalid_value")


def test_lock_unlock_and_reset_tries_are_recorded(admin):
    user = new_user(admin)
    act(admin, user["id"], "allow-login")
    locked = act(admin, user["id"], "lock", reason="Suspicious activity")
    assert locked["locked"] and locked["accessLocked"] and locked["lockedDate"]
    assert locked["lockedReason"] == "Suspicious activity"
    unlocked = act(admin, user["id"], "unlock")
    assert not unlocked["locked"] and not unlocked["accessLocked"]
    assert unlocked["lockedDate"] is None
    act(admin, user["id"], "reset-tries")
    actions = [e["action"] for e in events(admin, target=f"user:{user['id']}")]
    assert actions[:4] == [
        "account.reset_tries",
        "account.unlock",
        "account.lock",
        "account.allow_login",
    ]
    assert_error(
        admin.post(f"/users/{user['id']}/actions/teleport", json={}), 404, "unknown_action"
    )


def test_passwords_never_reach_the_audit_log_or_the_responses(admin):
    user = new_user(admin)
    secret = "Never-logged-pass-42"
    shown = act(admin, user["id"], "set-password", password=secret, forceChange=True)
    assert shown["hasPassword"] is True and secret not in str(shown)
    trail = admin.get("/audit", params={"target": f"user:{user['id']}"}).text
    assert secret not in trail and "set_password" in trail


def test_the_grid_searches_filters_sorts_pages_and_chooses_columns(admin):
    made = [
        new_user(admin, userName=f"grid-{n}-{i}@example.com", name=f"Grid {i}")
        for n, i in enumerate(["c", "a", "b"])
    ]
    act(admin, made[0]["id"], "allow-login")
    act(admin, made[0]["id"], "lock")
    page = admin.get("/users", params={"search": "GRID-", "sort": "-name"}).json()
    assert page["totalResults"] == 3
    assert [u["name"] for u in page["users"]] == ["Grid c", "Grid b", "Grid a"]
    locked = admin.get("/users", params={"locked": "true"}).json()
    assert [u["id"] for u in locked["users"]] == [made[0]["id"]]
    unlocked = admin.get("/users", params={"search": "grid-", "locked": "false"}).json()
    assert unlocked["totalResults"] == 2
    narrow = admin.get(
        "/users", params={"search": "grid-", "columns": "userName,accessLocked", "count": 2}
    ).json()
    assert narrow["totalResults"] == 3 and len(narrow["users"]) == 2
    assert set(narrow["users"][0]) == {"id", "userName", "accessLocked"}
    second = admin.get("/users", params={"search": "grid-", "count": 2, "startIndex": 3}).json()
    assert len(second["users"]) == 1 and second["startIndex"] == 3
    assert_error(admin.get("/users", params={"columns": "shoeSize"}), 400, "invalid_value")
    assert_error(admin.get("/users", params={"sort": "shoeSize"}), 400, "invalid_value")
    assert_error(admin.get("/users", params={"locked": "maybe"}), 400, "invalid_value")


def test_bulk_actions_are_all_or_nothing_with_a_result_per_user(admin):
    first, second = new_user(admin), new_user(admin)
    ids = [first["id"], second["id"]]
    failed = admin.post("/users/bulk/lock", json={"ids": [*ids, "no-such-user"]})
    assert failed.status_code == 409, failed.text
    results = {r["id"]: r for r in failed.json()["results"]}
    assert results["no-such-user"]["status"] == "failed"
    assert results["no-such-user"]["error"] == "not_found"
    assert results[first["id"]]["status"] == "ok"
    assert admin.get(f"/users/{first['id']}").json()["locked"] is False  # nothing changed

    done = admin.post("/users/bulk/lock", json={"ids": ids})
    assert done.status_code == 200, done.text
    assert [r["status"] for r in done.json()["results"]] == ["ok", "ok"]
    assert all(admin.get(f"/users/{i}").json()["locked"] for i in ids)
    assert admin.post("/users/bulk/unlock", json={"ids": ids}).status_code == 200
    assert_error(admin.post("/users/bulk/delete", json={"ids": ids}), 400, "confirmation_required")
    assert admin.post("/users/bulk/delete", json={"ids": ids, "confirm": True}).status_code == 200
    assert all(admin.get(f"/users/{i}").status_code == 404 for i in ids)
    assert_error(admin.post("/users/bulk/teleport", json={"ids": ids}), 404, "unknown_action")
    assert_error(admin.post("/users/bulk/lock", json={"ids": []}), 400, "invalid_value")


def test_pending_approvals_are_listed_approved_and_rejected(admin, engine, tenant):
    waiting = [new_user(admin) for _ in range(3)]
    with engine.begin() as conn:
        for user in waiting:
            accounts.mark_pending(conn, tenant.id, user["id"], SYSTEM)
    listed = admin.get("/approvals").json()
    assert [u["id"] for u in listed["users"]] == [u["id"] for u in waiting]  # oldest first
    approved = act(admin, waiting[0]["id"], "approve")
    assert approved["approval"] == "approved" and approved["loginAllowed"] is True
    rejected = act(admin, waiting[1]["id"], "reject")
    assert rejected["approval"] == "rejected" and rejected["accessLocked"] is True
    assert_error(
        admin.post(f"/users/{waiting[0]['id']}/actions/approve", json={}), 400, "invalid_value"
    )
    bulk = admin.post("/users/bulk/approve", json={"ids": [waiting[2]["id"]]})
    assert bulk.status_code == 200, bulk.text
    assert admin.get("/approvals").json()["users"] == []


def test_settings_are_validated_and_audited(admin):
    defaults = admin.get("/settings").json()
    assert defaults["max_failed_tries"] == 5 and defaults["password"]["min_length"] == 12
    changed = admin.put(
        "/settings", json={"mfa_required": True, "password": {"min_length": 16, "history": 3}}
    )
    assert changed.status_code == 200, changed.text
    assert admin.get("/settings").json()["password"] == {
        "min_length": 16,
        "min_classes": 3,
        "history": 3,
    }
    for bad in (
        {"max_failed_tries": 0},
        {"colour": "red"},
        {"mfa_required": "yes"},
        {"password": {"min_length": 4}},
    ):
        assert_error(admin.put("/settings", json=bad), 400, "invalid_value")
    assert events(admin, action="settings.update")


def test_one_tenants_admin_sees_nothing_of_another_tenant(app, engine, admin):
    other = make_tenant(engine)
    with client(app, "/admin/v1", admin_token(engine, other)) as theirs:
        their_user = new_user(theirs)
    assert_error(admin.get(f"/users/{their_user['id']}"), 404, "not_found")
    assert_error(admin.post(f"/users/{their_user['id']}/actions/lock", json={}), 404, "not_found")
    assert admin.get("/users", params={"search": their_user["userName"]}).json()["users"] == []
    assert not events(admin, target=f"user:{their_user['id']}")


def test_the_openapi_document_describes_every_route(app, admin):
    spec = admin.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin/v1")
    served = {
        (route.path, method.lower())
        for route in mount.routes
        if isinstance(route, Route) and route.path != "/openapi.json"
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert served == described
