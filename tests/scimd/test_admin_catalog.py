"""Roles, role groups, licences and user types: the catalog, grants and the rules between them."""

from __future__ import annotations

from tests.scimd.accounts import act, assert_error, events, new_user


def _catalog(admin) -> None:
    for path, body in (
        ("/licences", {"code": "basic", "name": "Basic"}),
        ("/licences", {"code": "pro", "name": "Professional"}),
        ("/user-types", {"code": "staff"}),
        ("/user-types", {"code": "contractor"}),
        ("/roles", {"code": "viewer", "name": "Viewer"}),
        ("/roles", {"code": "approver", "licences": ["pro"], "userTypes": ["staff"]}),
        ("/role-groups", {"code": "finance", "roles": ["viewer", "approver"]}),
        ("/user-groups", {"code": "emea"}),
        ("/dac-groups", {"code": "uk-data"}),
    ):
        response = admin.post(path, json=body)
        assert response.status_code == 201, response.text


def test_catalog_entries_are_listed_read_and_validated(admin):
    _catalog(admin)
    roles = admin.get("/roles").json()["entries"]
    assert [r["code"] for r in roles] == ["approver", "viewer"]
    assert admin.get("/roles/approver").json() == {
        "code": "approver",
        "name": "approver",
        "licences": ["pro"],
        "userTypes": ["staff"],
    }
    assert admin.get("/role-groups/finance").json()["roles"] == ["approver", "viewer"]
    assert_error(admin.get("/roles/nope"), 404, "not_found")
    assert_error(
        admin.post("/roles", json={"code": "x", "licences": ["gold"]}), 400, "invalid_value"
    )
    assert_error(
        admin.post("/role-groups", json={"code": "g", "roles": ["nope"]}), 400, "invalid_value"
    )
    assert_error(admin.post("/roles", json={"code": ""}), 400, "invalid_value")
    assert events(admin, action="catalog.put_role")


def test_roles_are_limited_by_the_licence_and_the_user_type(admin):
    _catalog(admin)
    user = new_user(admin, accessLicence="basic", userType="staff")
    refused = admin.patch(f"/users/{user['id']}", json={"roles": ["approver"]})
    assert_error(refused, 400, "invalid_value")
    assert "licences pro" in refused.json()["detail"]
    # Through a role group too.
    assert_error(
        admin.patch(f"/users/{user['id']}", json={"roleGroups": ["finance"]}), 400, "invalid_value"
    )
    # Licence and role in one request: the licence first, then the role it allows.
    granted = admin.patch(
        f"/users/{user['id']}", json={"accessLicence": "pro", "roles": ["approver", "viewer"]}
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["roles"] == ["approver", "viewer"]
    # The account may not drop to a licence or type its roles do not allow.
    assert_error(
        admin.patch(f"/users/{user['id']}", json={"accessLicence": "basic"}), 400, "invalid_value"
    )
    assert_error(
        admin.patch(f"/users/{user['id']}", json={"userType": "contractor"}), 400, "invalid_value"
    )
    assert_error(
        admin.patch(f"/users/{user['id']}", json={"accessLicence": "gold"}), 400, "invalid_value"
    )
    # Nor may the role's rules narrow under a holder.
    assert_error(
        admin.post("/roles", json={"code": "approver", "userTypes": ["contractor"]}),
        400,
        "invalid_value",
    )
    assert admin.get(f"/users/{user['id']}").json()["accessLicence"] == "pro"


def test_grants_replace_and_entries_in_use_cannot_be_deleted(admin):
    _catalog(admin)
    user = new_user(admin)
    admin.patch(
        f"/users/{user['id']}",
        json={"roles": ["viewer"], "userGroups": ["emea"], "dacGroups": ["uk-data"]},
    )
    shown = admin.get(f"/users/{user['id']}").json()
    assert (shown["roles"], shown["userGroups"], shown["dacGroups"]) == (
        ["viewer"],
        ["emea"],
        ["uk-data"],
    )
    assert_error(admin.delete("/roles/viewer"), 400, "invalid_value")  # held, and in finance
    assert_error(admin.delete("/user-groups/emea"), 400, "invalid_value")
    admin.patch(f"/users/{user['id']}", json={"userGroups": []})
    assert admin.delete("/user-groups/emea").status_code == 204
    assert admin.get(f"/users/{user['id']}").json()["userGroups"] == []
    grants = events(admin, action="account.grants", target=f"user:{user['id']}")
    assert grants[0]["detail"] == {"kind": "user_group", "added": [], "removed": ["emea"]}


def test_copy_access_adds_the_other_accounts_roles_and_groups(admin):
    _catalog(admin)
    model = new_user(admin, accessLicence="pro", userType="staff")
    admin.patch(
        f"/users/{model['id']}",
        json={"roleGroups": ["finance"], "userGroups": ["emea"], "dacGroups": ["uk-data"]},
    )
    newcomer = new_user(admin, accessLicence="pro", userType="staff")
    admin.patch(f"/users/{newcomer['id']}", json={"roles": ["viewer"]})
    copied = act(admin, newcomer["id"], "copy-access", fromUserId=model["id"])
    assert copied["roles"] == ["viewer"]  # kept: copying adds
    assert copied["roleGroups"] == ["finance"]
    assert copied["userGroups"] == ["emea"] and copied["dacGroups"] == ["uk-data"]
    assert events(admin, action="account.copy_access", target=f"user:{newcomer['id']}")

    # A basic-licence account cannot take a role group holding a pro-only role.
    basic = new_user(admin, accessLicence="basic")
    refused = admin.post(
        f"/users/{basic['id']}/actions/copy-access", json={"fromUserId": model["id"]}
    )
    assert_error(refused, 400, "invalid_value")
    assert admin.get(f"/users/{basic['id']}").json()["userGroups"] == []  # all or nothing
    assert_error(
        admin.post(f"/users/{basic['id']}/actions/copy-access", json={"fromUserId": "nobody"}),
        404,
        "not_found",
    )


def test_a_licence_or_user_type_a_role_names_cannot_be_deleted(admin):
    _catalog(admin)  # approver names licence pro and user type staff; nobody holds them
    assert_error(admin.delete("/licences/pro"), 400, "invalid_value")
    assert_error(admin.delete("/user-types/staff"), 400, "invalid_value")
    assert admin.delete("/licences/basic").status_code == 204  # named by no role
    admin.post("/roles", json={"code": "approver"})  # its rules emptied
    assert admin.delete("/licences/pro").status_code == 204
    assert admin.delete("/user-types/staff").status_code == 204


def test_resource_groups_hold_validated_defaults(admin):
    made = admin.post(
        "/resource-groups",
        json={
            "code": "uk-ops",
            "name": "UK operations",
            "countryCode": "gb",
            "currency": "gbp",
            "department": "OPS",
            "staff": True,
            "paymentTerms": "30 days",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "code": "uk-ops",
        "name": "UK operations",
        "countryCode": "GB",
        "currency": "GBP",
        "department": "OPS",
        "staff": True,
        "paymentTerms": "30 days",
    }
    for bad in ({"countryCode": "XX"}, {"currency": "ABC"}, {"staff": "yes"}):
        assert_error(
            admin.post("/resource-groups", json={"code": "bad", **bad}), 400, "invalid_value"
        )
    assert_error(admin.get("/resource-groups/bad"), 404, "not_found")
