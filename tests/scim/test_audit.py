"""Every SCIM change is an audit event, readable over the admin API; values never are."""

from __future__ import annotations

from tests.scim.helpers import group, patch, unique, user
from tests.scimd.accounts import admin_token, client, events


def test_scim_changes_are_audited_with_the_token_and_no_values(app, engine, tenant, scim):
    with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
        name = unique("audited")
        created = scim.post("/Users", json=user(name)).json()
        target = f"user:{created['id']}"
        secret = "Patched-secret-123"
        assert (
            scim.patch(
                f"/Users/{created['id']}",
                json=patch({"op": "replace", "path": "password", "value": secret}),
            ).status_code
            == 200
        )
        assert scim.put(f"/Users/{created['id']}", json=user(name, title="CTO")).status_code == 200
        made = scim.post("/Groups", json=group(unique("g"), created["id"])).json()
        assert scim.delete(f"/Users/{created['id']}").status_code == 204

        trail = events(admin, target=target)
        assert [e["action"] for e in trail] == [
            "user.delete",
            "user.replace",
            "user.patch",
            "user.create",
        ]
        assert all(e["actor"].startswith("scim-token:") for e in trail)
        assert trail[-1]["detail"] == {"userName": name}
        assert trail[2]["detail"] == {"operations": [{"op": "replace", "path": "password"}]}
        assert secret not in str(trail)
        assert events(admin, target=f"group:{made['id']}")[0]["action"] == "group.create"


def test_bulk_operations_are_audited_one_by_one(app, engine, tenant, scim):
    with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": user(unique())}
                for n in range(3)
            ],
        }
        response = scim.post("/Bulk", json=body)
        assert response.status_code == 200, response.text
        ids = [op["location"].rsplit("/", 1)[1] for op in response.json()["Operations"]]
        for user_id in ids:
            [event] = events(admin, target=f"user:{user_id}")
            assert event["action"] == "user.create" and event["detail"] == {"bulk": True}


def test_a_failed_change_leaves_no_event(app, engine, tenant, scim):
    with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
        name = unique("twice")
        scim.post("/Users", json=user(name))
        before = len(events(admin, action="user.create"))
        assert scim.post("/Users", json=user(name)).status_code == 409
        assert len(events(admin, action="user.create")) == before
