"""/Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits, per-operation results."""

from __future__ import annotations

from sqlalchemy import func, select

from directory import tables
from tests.scim.helpers import assert_scim_error, group, unique, user

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk(*operations, **extra):
    return {"schemas": [BULK], "Operations": list(operations), **extra}


def post(bulk_id, path, data):
    return {"method": "POST", "bulkId": bulk_id, "path": path, "data": data}


def _count(engine, table, tenant):
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(table).where(table.tenant_id == tenant.id)
        ).scalar_one()


def test_bulk_creates_and_reports_each_operation(scim):
    response = scim.post(
        "/Bulk", json=bulk(post("a", "/Users", user()), post("b", "/Users", user()))
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]
    results = body["Operations"]
    assert [(r["bulkId"], r["status"], r["method"]) for r in results] == [
        ("a", "201", "POST"),
        ("b", "201", "POST"),
    ]
    for result in results:
        assert result["version"] == 'W/"1"'
        assert (
            scim.get(result["location"].removeprefix("http://testserver/scim/v2")).status_code
            == 200
        )


def test_forward_reference_user_created_and_added_to_a_group_in_one_request(scim):
    response = scim.post(
        "/Bulk",
        json=bulk(
            post("team", "/Groups", {**group("Team"), "members": [{"value": "bulkId:alice"}]}),
            post("alice", "/Users", user()),
        ),
    )
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201"]
    team_id = results[0]["location"].rsplit("/", 1)[1]
    alice_id = results[1]["location"].rsplit("/", 1)[1]
    members = scim.get(f"/Groups/{team_id}").json()["members"]
    assert [m["value"] for m in members] == [alice_id]


def test_references_in_paths_and_patch_values(scim):
    response = scim.post(
        "/Bulk",
        json=bulk(
            post("u", "/Users", user()),
            post("g", "/Groups", group("G")),
            {
                "method": "PATCH",
                "path": "/Groups/bulkId:g",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": "bulkId:u"}]}
                    ],
                },
            },
        ),
    )
    results = response.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "200"]
    group_id = results[1]["location"].rsplit("/", 1)[1]
    assert results[2]["location"].endswith(f"/Groups/{group_id}")
    assert len(scim.get(f"/Groups/{group_id}").json()["members"]) == 1


def test_failed_operation_leaves_no_trace_and_others_go_on(scim, engine, tenant):
    taken = unique()
    scim.post("/Users", json=user(taken))
    response = scim.post(
        "/Bulk",
        json=bulk(post("dup", "/Users", user(taken)), post("ok", "/Users", user())),
    )
    dup, ok = response.json()["Operations"]
    assert dup["status"] == "409"
    assert dup["response"]["scimType"] == "uniqueness"
    assert dup["response"]["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert ok["status"] == "201"
    assert _count(engine, tables.User, tenant) == 2


def test_fail_on_errors_stops_after_that_many_failures(scim, engine, tenant):
    taken = unique()
    scim.post("/Users", json=user(taken))
    response = scim.post(
        "/Bulk",
        json=bulk(
            post("a", "/Users", user(taken)),
            post("b", "/Users", user()),
            post("c", "/Users", user(taken)),
            post("d", "/Users", user()),
            failOnErrors=2,
        ),
    )
    assert [r["status"] for r in response.json()["Operations"]] == ["409", "201", "409"]
    assert _count(engine, tables.User, tenant) == 2


def test_reference_to_a_failed_or_unknown_bulk_id_fails_that_operation(scim):
    taken = unique()
    scim.post("/Users", json=user(taken))
    response = scim.post(
        "/Bulk",
        json=bulk(
            post("bad", "/Users", user(taken)),
            post("g1", "/Groups", {**group("G1"), "members": [{"value": "bulkId:bad"}]}),
            post("g2", "/Groups", {**group("G2"), "members": [{"value": "bulkId:nobody"}]}),
        ),
    )
    statuses = [r["status"] for r in response.json()["Operations"]]
    assert statuses == ["409", "409", "409"]


def test_circular_references_fail_instead_of_hanging(scim):
    response = scim.post(
        "/Bulk",
        json=bulk(
            post("g1", "/Groups", {**group("G1"), "members": [{"value": "bulkId:g2"}]}),
            post("g2", "/Groups", {**group("G2"), "members": [{"value": "bulkId:g1"}]}),
        ),
    )
    assert [r["status"] for r in response.json()["Operations"]] == ["409", "409"]


def test_put_patch_delete_with_versions(scim):
    created = scim.post("/Users", json=user(title="one")).json()
    path = f"/Users/{created['id']}"
    response = scim.post(
        "/Bulk",
        json=bulk(
            {
                "method": "PUT",
                "path": path,
                "version": 'W/"1"',
                "data": user(created["userName"], title="two"),
            },
            {
                "method": "PATCH",
                "path": path,
                "version": 'W/"1"',
                "data": {"Operations": [{"op": "replace", "path": "title", "value": "three"}]},
            },
            {"method": "DELETE", "path": path, "version": 'W/"2"'},
        ),
    )
    assert [r["status"] for r in response.json()["Operations"]] == ["200", "412", "204"]
    assert_scim_error(scim.get(path), 404)


def test_too_many_operations_is_413(scim):
    operations = [post(f"u{i}", "/Users", user()) for i in range(1001)]
    assert_scim_error(scim.post("/Bulk", json=bulk(*operations)), 413)


def test_payload_over_max_payload_size_is_413(scim):
    huge = user(displayName="x" * (4 * 1024 * 1024 + 1))
    assert_scim_error(scim.post("/Bulk", json=bulk(post("a", "/Users", huge))), 413)


def test_malformed_bulk_requests_are_400(scim):
    assert_scim_error(scim.post("/Bulk", json={"Operations": "nope"}), 400)
    assert_scim_error(scim.post("/Bulk", json=bulk({"method": "GET", "path": "/Users"})), 400)
    assert_scim_error(
        scim.post("/Bulk", json=bulk({"method": "POST", "path": "/Users", "data": {}})), 400
    )
    duplicate = bulk(post("x", "/Users", user()), post("x", "/Users", user()))
    assert_scim_error(scim.post("/Bulk", json=duplicate), 400)


def test_unknown_endpoint_in_an_operation_fails_only_that_operation(scim):
    response = scim.post(
        "/Bulk", json=bulk(post("p", "/Pets", {"name": "Rex"}), post("u", "/Users", user()))
    )
    assert [r["status"] for r in response.json()["Operations"]] == ["400", "201"]


def test_bulk_is_advertised(scim):
    config = scim.get("/ServiceProviderConfig").json()["bulk"]
    assert config == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 4194304}
