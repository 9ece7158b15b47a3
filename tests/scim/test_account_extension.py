"""The account extension over SCIM: shown on request, written through the account rules."""

from __future__ import annotations

import pytest

from tests.scim.helpers import assert_scim_error, patch, unique, user
from tests.scimd.accounts import admin_token, client, events, login, random_address

ACCOUNT = "urn:scimd:schemas:extension:account:2.0:User"


@pytest.fixture
def admin(app, engine, tenant):
    with client(app, "/admin/v1", admin_token(engine, tenant)) as api:
        yield api


def _account(scim, user_id: str) -> dict:
    response = scim.get(f"/Users/{user_id}", params={"attributes": ACCOUNT})
    assert response.status_code == 200, response.text
    return response.json().get(ACCOUNT, {})


def test_the_extension_is_returned_on_request_and_read_only_facts_are_ignored(scim):
    sent = user(**{ACCOUNT: {"mfaRequired": True, "failedTries": 9, "lastLogin": None}})
    created = scim.post("/Users", json=sent)
    assert created.status_code == 201, created.text
    assert ACCOUNT not in created.json()  # returned: request
    assert ACCOUNT not in scim.get(f"/Users/{created.json()['id']}").json()
    account = _account(scim, created.json()["id"])
    assert account["mfaRequired"] is True and account["failedTries"] == 0
    assert account["accessLocked"] is True  # no login access granted yet
    listed = scim.get(
        "/Users",
        params={
            "filter": f'id eq "{created.json()["id"]}"',
            "attributes": f"{ACCOUNT}:mfaRequired",
        },
    ).json()
    assert listed["Resources"][0][ACCOUNT] == {"mfaRequired": True}


def test_scim_grants_and_locks_login_access_through_the_same_rules(scim, admin, app):
    name = unique("ext")
    made = scim.post("/Users", json=user(name, **{ACCOUNT: {"accessLocked": False}})).json()
    admin.post(f"/users/{made['id']}/actions/set-password", json={"password": "Scim-driven-pass-1"})
    with client(app, "/auth", address=random_address()) as auth:
        assert login(auth, name, "Scim-driven-pass-1").json()["status"] == "signed_in"
        lock = {"op": "replace", "path": f"{ACCOUNT}:accessLocked", "value": True}
        assert scim.patch(f"/Users/{made['id']}", json=patch(lock)).status_code == 200
        assert login(auth, name, "Scim-driven-pass-1").status_code == 403
    assert _account(scim, made["id"])["accessLocked"] is True
    actors = {e["actor"].split(":")[0] for e in events(admin, target=f"user:{made['id']}")}
    assert "scim-token" in actors
    actions = [e["action"] for e in events(admin, target=f"user:{made['id']}")]
    assert "account.lock" in actions and "account.allow_login" in actions


def test_roles_over_scim_obey_the_licence_rules(scim, admin):
    admin.post("/licences", json={"code": "pro"})
    admin.post("/roles", json={"code": "approver", "licences": ["pro"]})
    made = scim.post("/Users", json=user()).json()
    grant = {"op": "add", "path": f"{ACCOUNT}:userRoles", "value": [{"value": "approver"}]}
    assert_scim_error(scim.patch(f"/Users/{made['id']}", json=patch(grant)), 400, "invalidValue")
    licence = {"op": "replace", "path": f"{ACCOUNT}:accessLicence", "value": "pro"}
    response = scim.patch(f"/Users/{made['id']}", json=patch(licence, grant))
    assert response.status_code == 200, response.text
    assert _account(scim, made["id"])["userRoles"] == [{"value": "approver"}]
    assert admin.get(f"/users/{made['id']}").json()["roles"] == ["approver"]
    unknown = {"op": "add", "path": f"{ACCOUNT}:userRoles", "value": [{"value": "nope"}]}
    assert_scim_error(scim.patch(f"/Users/{made['id']}", json=patch(unknown)), 400, "invalidValue")
