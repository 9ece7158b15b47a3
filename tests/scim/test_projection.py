"""attributes / excludedAttributes (RFC 7644 §3.9) on every response, and `returned`."""

from __future__ import annotations

from tests.scim.helpers import ENTERPRISE, assert_scim_error, group, patch, user


def _shown(body):
    return {key for key in body if key != "schemas"}


def test_attributes_on_post_put_patch_responses(scim):
    created = scim.post("/Users?attributes=userName", json=user(displayName="D", title="T"))
    assert created.status_code == 201
    assert _shown(created.json()) == {"id", "userName"}
    uid = created.json()["id"]
    replaced = scim.put(
        f"/Users/{uid}?attributes=title", json=user(created.json()["userName"], title="T2")
    )
    assert _shown(replaced.json()) == {"id", "title"}
    patched = scim.patch(
        f"/Users/{uid}?excludedAttributes=title,meta",
        json=patch({"op": "replace", "path": "displayName", "value": "E"}),
    )
    assert "title" not in patched.json() and "meta" not in patched.json()
    assert patched.json()["displayName"] == "E"


def test_sub_attribute_and_extension_projection(scim):
    created = scim.post(
        "/Users",
        json=user(name={"givenName": "A", "familyName": "B"}, **{ENTERPRISE: {"department": "X"}}),
    ).json()
    body = scim.get(
        f"/Users/{created['id']}", params={"attributes": f"name.givenName,{ENTERPRISE}:department"}
    ).json()
    assert body["name"] == {"givenName": "A"}
    assert body[ENTERPRISE] == {"department": "X"}
    assert "userName" not in body


def test_id_is_always_returned_even_when_excluded(scim):
    created = scim.post("/Users", json=user()).json()
    body = scim.get(f"/Users/{created['id']}", params={"excludedAttributes": "id,userName"}).json()
    assert body["id"] == created["id"]
    assert "userName" not in body


def test_projection_on_lists_and_searches(scim):
    scim.post("/Users", json=user(title="T"))
    listed = scim.get("/Users", params={"attributes": "title"}).json()
    assert all(_shown(r) == {"id", "title"} for r in listed["Resources"])
    searched = scim.post(
        "/Users/.search", json={"excludedAttributes": ["title", "meta", "userName"]}
    ).json()
    assert all(_shown(r) == {"id"} for r in searched["Resources"])


def test_group_members_only_when_asked(scim):
    uid = scim.post("/Users", json=user()).json()["id"]
    created = scim.post("/Groups?attributes=displayName", json=group("G", uid)).json()
    assert _shown(created) == {"id", "displayName"}
    body = scim.get(f"/Groups/{created['id']}", params={"attributes": "members"}).json()
    assert [m["value"] for m in body["members"]] == [uid]


def test_attributes_and_excluded_attributes_together_is_400(scim):
    response = scim.get("/Users", params={"attributes": "userName", "excludedAttributes": "title"})
    assert_scim_error(response, 400)


def test_password_is_never_returned_even_when_asked(scim):
    created = scim.post("/Users", json=user(password="Secret-1234")).json()
    body = scim.get(f"/Users/{created['id']}", params={"attributes": "password,userName"}).json()
    assert "password" not in body
