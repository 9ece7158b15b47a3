"""/Groups over HTTP: members as rows, and the member operations each IdP sends."""

from __future__ import annotations

from sqlalchemy import func, select

from directory import tables
from tests.scim.helpers import GROUP_SCHEMA, assert_scim_error, group, patch, user


def _users(scim, count):
    return [scim.post("/Users", json=user()).json()["id"] for _ in range(count)]


def _member_ids(body):
    return sorted(member["value"] for member in body.get("members", []))


def test_create_group_with_members_returns_them_with_refs(scim):
    alice, bob = _users(scim, 2)
    response = scim.post("/Groups", json=group("Sales", alice, bob))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["schemas"] == [GROUP_SCHEMA]
    assert _member_ids(body) == sorted([alice, bob])
    member = next(m for m in body["members"] if m["value"] == alice)
    assert member["$ref"] == f"http://testserver/scim/v2/Users/{alice}"
    assert member["type"] == "User"


def test_user_lists_the_groups_it_is_in(scim):
    (alice,) = _users(scim, 1)
    sales = scim.post("/Groups", json=group("Sales", alice)).json()
    groups = scim.get(f"/Users/{alice}").json()["groups"]
    assert groups == [
        {
            "value": sales["id"],
            "$ref": f"http://testserver/scim/v2/Groups/{sales['id']}",
            "display": "Sales",
            "type": "direct",
        }
    ]


def test_nested_group_member_has_type_group(scim):
    inner = scim.post("/Groups", json=group("Inner")).json()
    outer = scim.post("/Groups", json=group("Outer", inner["id"])).json()
    assert outer["members"][0]["type"] == "Group"
    assert outer["members"][0]["display"] == "Inner"


def test_unknown_member_is_400_and_creates_nothing(scim, engine, tenant):
    response = scim.post("/Groups", json=group("Ghosts", "no-such-user"))
    assert_scim_error(response, 400, "invalidValue")
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(tables.Group)
            .where(tables.Group.tenant_id == tenant.id)
        ).scalar_one()
    assert count == 0


def test_patch_add_several_members_in_one_op_with_null_refs(scim):
    alice, bob, carol = _users(scim, 3)
    created = scim.post("/Groups", json=group("Team", alice)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch(
            {
                "op": "Add",
                "path": "members",
                "value": [{"value": bob, "$ref": None}, {"value": carol, "display": "Carol"}],
            }
        ),
    )
    assert response.status_code == 200, response.text
    assert _member_ids(response.json()) == sorted([alice, bob, carol])
    carol_entry = next(m for m in response.json()["members"] if m["value"] == carol)
    assert carol_entry["display"] == "Carol"
    assert response.json()["meta"]["version"] == 'W/"2"'


def test_adding_an_existing_member_changes_nothing(scim):
    (alice,) = _users(scim, 1)
    created = scim.post("/Groups", json=group("Team", alice)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "add", "path": "members", "value": [{"value": alice}]}),
    )
    assert _member_ids(response.json()) == [alice]
    assert response.json()["meta"]["version"] == 'W/"1"'


def test_entra_remove_with_value_list_removes_only_those(scim):
    alice, bob, carol = _users(scim, 3)
    created = scim.post("/Groups", json=group("Team", alice, bob, carol)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "Remove", "path": "members", "value": [{"value": bob}]}),
    )
    assert response.status_code == 200, response.text
    assert _member_ids(response.json()) == sorted([alice, carol])


def test_remove_by_value_filter_okta_style(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "remove", "path": f'members[value eq "{alice}"]'}),
    )
    assert response.status_code == 200, response.text
    assert _member_ids(response.json()) == [bob]


def test_remove_members_without_value_empties_the_group(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    response = scim.patch(
        f"/Groups/{created['id']}", json=patch({"op": "remove", "path": "members"})
    )
    assert response.status_code == 200
    assert "members" not in response.json()


def test_replace_members_with_empty_list_empties_the_group(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    response = scim.patch(
        f"/Groups/{created['id']}", json=patch({"op": "replace", "path": "members", "value": []})
    )
    assert response.status_code == 200
    assert "members" not in response.json()


def test_replace_members_sets_exactly_the_new_list(scim):
    alice, bob, carol = _users(scim, 3)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "replace", "path": "members", "value": [{"value": carol}]}),
    )
    assert _member_ids(response.json()) == [carol]


def test_pathless_replace_of_display_name_and_members(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Old", alice)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "replace", "value": {"displayName": "New", "members": [{"value": bob}]}}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "New"
    assert _member_ids(response.json()) == [bob]


def test_member_patch_with_unknown_id_is_400_and_atomic(scim):
    (alice,) = _users(scim, 1)
    created = scim.post("/Groups", json=group("Team", alice)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "remove", "path": "members", "value": [{"value": alice}]},
            {"op": "add", "path": "members", "value": [{"value": "ghost"}]},
        ),
    )
    assert_scim_error(response, 400, "invalidValue")
    after = scim.get(f"/Groups/{created['id']}").json()
    assert after["displayName"] == "Team"
    assert _member_ids(after) == [alice]


def test_excluded_members_on_get_list_and_patch(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice)).json()
    got = scim.get(f"/Groups/{created['id']}", params={"excludedAttributes": "members"})
    assert "members" not in got.json() and got.json()["displayName"] == "Team"
    listed = scim.get("/Groups", params={"excludedAttributes": "members"}).json()
    assert all("members" not in r for r in listed["Resources"])
    patched = scim.patch(
        f"/Groups/{created['id']}?excludedAttributes=members",
        json=patch({"op": "add", "path": "members", "value": [{"value": bob}]}),
    )
    assert patched.status_code == 200
    assert "members" not in patched.json()
    assert _member_ids(scim.get(f"/Groups/{created['id']}").json()) == sorted([alice, bob])


def test_deleting_a_user_removes_it_from_its_groups(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    assert scim.delete(f"/Users/{alice}").status_code == 204
    after = scim.get(f"/Groups/{created['id']}").json()
    assert _member_ids(after) == [bob]
    assert after["meta"]["version"] == 'W/"2"'


def test_put_group_replaces_members(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice)).json()
    response = scim.put(f"/Groups/{created['id']}", json=group("Team 2", bob))
    assert response.status_code == 200
    assert response.json()["displayName"] == "Team 2"
    assert _member_ids(response.json()) == [bob]


def test_unknown_microsoft_group_schema_urn_is_accepted(scim):
    body = group("Entra group")
    body["schemas"].append(
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
    )
    response = scim.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["schemas"] == [GROUP_SCHEMA]


def test_delete_group_then_404(scim):
    created = scim.post("/Groups", json=group("Gone")).json()
    assert scim.delete(f"/Groups/{created['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{created['id']}"), 404)


def test_member_add_writes_one_row_without_rewriting_the_group_document(scim, engine, tenant):
    ids = _users(scim, 3)
    created = scim.post("/Groups", json=group("Big", *ids[:2])).json()
    with engine.connect() as conn:
        before = conn.execute(
            select(tables.Group.document).where(tables.Group.id == created["id"])
        ).scalar_one()
    scim.patch(
        f"/Groups/{created['id']}",
        json=patch({"op": "add", "path": "members", "value": [{"value": ids[2]}]}),
    )
    with engine.connect() as conn:
        after = conn.execute(
            select(tables.Group.document).where(tables.Group.id == created["id"])
        ).scalar_one()
        rows = conn.execute(
            select(func.count())
            .select_from(tables.Membership)
            .where(tables.Membership.tenant_id == tenant.id)
        ).scalar_one()
    assert "members" not in after
    assert after == before
    assert rows == 3


def test_replace_a_members_display_label_by_filter(scim):
    alice, bob = _users(scim, 2)
    created = scim.post("/Groups", json=group("Team", alice, bob)).json()
    response = scim.patch(
        f"/Groups/{created['id']}",
        json=patch(
            {"op": "replace", "path": f'members[value eq "{alice}"].display', "value": "Al"}
        ),
    )
    assert response.status_code == 200, response.text
    shown = {m["value"]: m.get("display") for m in response.json()["members"]}
    assert shown[alice] == "Al"
    assert shown[bob] != "Al"
    assert response.json()["meta"]["version"] == 'W/"2"'
