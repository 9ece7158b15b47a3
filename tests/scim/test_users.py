"""/Users over HTTP: CRUD, status codes, headers and the IdP leniency of IDP_NOTES."""

from __future__ import annotations

from tests.scim.helpers import (
    ENTERPRISE,
    LIST,
    USER_SCHEMA,
    assert_scim_error,
    patch,
    unique,
    user,
)


def test_post_user_answers_201_with_location_etag_and_meta(scim):
    response = scim.post("/Users", json=user("bjensen@example.com", displayName="Babs"))
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"http://testserver/scim/v2/Users/{body['id']}"
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["content-type"].startswith("application/scim+json")
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"] == response.headers["location"]
    assert body["meta"]["version"] == 'W/"1"'
    assert body["meta"]["created"] == body["meta"]["lastModified"]
    assert body["userName"] == "bjensen@example.com"
    assert body["schemas"] == [USER_SCHEMA]


def test_get_user_returns_what_was_created_with_enterprise_extension(scim):
    sent = user(
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[{"value": "b@example.com", "type": "work", "primary": True}],
        **{ENTERPRISE: {"department": "Sales", "employeeNumber": "42"}},
    )
    created = scim.post("/Users", json=sent).json()
    fetched = scim.get(f"/Users/{created['id']}")
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["name"] == {"givenName": "Barbara", "familyName": "Jensen"}
    assert body["emails"] == [{"value": "b@example.com", "type": "work", "primary": True}]
    assert body[ENTERPRISE] == {"department": "Sales", "employeeNumber": "42"}
    assert ENTERPRISE in body["schemas"]


def test_duplicate_user_name_is_409_uniqueness_whatever_its_case(scim):
    name = unique()
    assert scim.post("/Users", json=user(name)).status_code == 201
    assert_scim_error(scim.post("/Users", json=user(name.upper())), 409, "uniqueness")


def test_password_is_accepted_but_never_returned_nor_stored_in_clear(scim, engine):
    from sqlalchemy import select

    from directory import tables

    created = scim.post("/Users", json=user(password="S3cret-pass!"))
    assert created.status_code == 201
    assert "password" not in created.json()
    assert "password" not in scim.get(f"/Users/{created.json()['id']}").json()
    with engine.connect() as conn:
        document = conn.execute(
            select(tables.User.document).where(tables.User.id == created.json()["id"])
        ).scalar_one()
    assert "S3cret-pass!" not in str(document)


def test_client_sent_read_only_attributes_are_ignored_on_create(scim):
    sent = user(id="my-own-id", meta={"resourceType": "User", "version": 'W/"99"'})
    sent["groups"] = [{"value": "not-a-group"}]
    response = scim.post("/Users", json=sent)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] != "my-own-id"
    assert body["meta"]["version"] == 'W/"1"'
    assert "groups" not in body


def test_unknown_schema_urns_and_attributes_do_not_fail_the_request(scim):
    sent = user(foo="bar")
    sent["schemas"] = [USER_SCHEMA, "urn:scim:schemas:core:1.0"]
    response = scim.post("/Users", json=sent)
    assert response.status_code == 201, response.text
    assert response.json()["schemas"] == [USER_SCHEMA]
    assert "foo" not in response.json()


def test_emails_sent_as_one_object_onelogin_style_become_a_list(scim):
    response = scim.post("/Users", json=user(emails={"value": "one@example.com", "type": "work"}))
    assert response.status_code == 201, response.text
    assert response.json()["emails"] == [{"value": "one@example.com", "type": "work"}]


def test_active_as_string_false_is_a_boolean(scim):
    response = scim.post("/Users", json=user(active="False"))
    assert response.status_code == 201, response.text
    assert response.json()["active"] is False


def test_application_json_content_type_is_accepted(scim):
    response = scim.post(
        "/Users",
        content=f'{{"userName": "{unique()}"}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_non_json_body_is_400_invalid_syntax(scim):
    response = scim.post(
        "/Users", content=b"{not json", headers={"content-type": "application/scim+json"}
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_missing_user_name_is_400(scim):
    response = scim.post("/Users", json={"schemas": [USER_SCHEMA], "displayName": "x"})
    assert_scim_error(response, 400)


def test_put_replaces_the_user_and_bumps_version(scim):
    created = scim.post("/Users", json=user(displayName="Old", title="Boss")).json()
    replaced = scim.put(
        f"/Users/{created['id']}", json=user(created["userName"], displayName="New")
    )
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["displayName"] == "New"
    assert "title" not in body
    assert body["meta"]["version"] == 'W/"2"'
    assert replaced.headers["etag"] == 'W/"2"'
    assert body["meta"]["created"] == created["meta"]["created"]


def test_put_to_a_taken_user_name_is_409(scim):
    taken = scim.post("/Users", json=user()).json()
    other = scim.post("/Users", json=user()).json()
    response = scim.put(f"/Users/{other['id']}", json=user(taken["userName"]))
    assert_scim_error(response, 409, "uniqueness")
    assert scim.get(f"/Users/{other['id']}").json()["userName"] == other["userName"]


def test_delete_answers_204_then_get_404(scim):
    created = scim.post("/Users", json=user()).json()
    deleted = scim.delete(f"/Users/{created['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)
    assert_scim_error(scim.delete(f"/Users/{created['id']}"), 404)


def test_deactivated_users_are_still_returned_by_get_and_filter(scim):
    created = scim.post("/Users", json=user(active=False)).json()
    assert scim.get(f"/Users/{created['id']}").json()["active"] is False
    listed = scim.get("/Users", params={"filter": f'userName eq "{created["userName"]}"'})
    assert listed.json()["totalResults"] == 1


def test_list_is_a_list_response_with_paging(scim):
    names = sorted(unique("page") for _ in range(5))
    for name in names:
        scim.post("/Users", json=user(name))
    first = scim.get("/Users", params={"startIndex": 1, "count": 2}).json()
    assert first["schemas"] == [LIST]
    assert first["totalResults"] == 5
    assert first["startIndex"] == 1
    assert first["itemsPerPage"] == 2
    rest = scim.get("/Users", params={"startIndex": 3, "count": 10}).json()
    assert rest["itemsPerPage"] == 3
    seen = {r["userName"] for r in first["Resources"] + rest["Resources"]}
    assert seen == set(names)


def test_count_zero_gives_only_the_total(scim):
    scim.post("/Users", json=user())
    body = scim.get("/Users", params={"count": 0}).json()
    assert body["totalResults"] == 1
    assert body["itemsPerPage"] == 0
    assert body["Resources"] == []


def test_non_integer_count_is_400_invalid_value(scim):
    assert_scim_error(scim.get("/Users", params={"count": "ten"}), 400, "invalidValue")


def test_unknown_query_parameters_are_ignored(scim):
    response = scim.get("/Users", params={"aadOptscim062020": "1", "count": 1})
    assert response.status_code == 200


def test_attributes_and_excluded_attributes_project_the_response(scim):
    created = scim.post("/Users", json=user(displayName="Shown", title="Hidden")).json()
    only = scim.get(f"/Users/{created['id']}", params={"attributes": "userName"}).json()
    assert only["userName"] == created["userName"]
    assert only["id"] == created["id"]  # returned: always
    assert "displayName" not in only and "title" not in only
    without = scim.get(f"/Users/{created['id']}", params={"excludedAttributes": "title"}).json()
    assert without["displayName"] == "Shown" and "title" not in without


def test_patch_replace_active_with_string_value_entra_style(scim):
    created = scim.post("/Users", json=user()).json()
    response = scim.patch(
        f"/Users/{created['id']}",
        json=patch({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert response.json()["meta"]["version"] == 'W/"2"'


def test_patch_pathless_with_dotted_and_urn_keys(scim):
    created = scim.post("/Users", json=user()).json()
    response = scim.patch(
        f"/Users/{created['id']}",
        json=patch(
            {
                "op": "replace",
                "value": {
                    "name.givenName": "Ann",
                    f"{ENTERPRISE}:department": "R&D",
                    "displayName": "Ann X",
                },
            }
        ),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"]["givenName"] == "Ann"
    assert body[ENTERPRISE]["department"] == "R&D"
    assert body["displayName"] == "Ann X"


def test_patch_filtered_path_creates_the_missing_entry(scim):
    created = scim.post("/Users", json=user()).json()
    response = scim.patch(
        f"/Users/{created['id']}",
        json=patch({"op": "add", "path": 'emails[type eq "work"].value', "value": "w@example.com"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"type": "work", "value": "w@example.com"}]
    found = scim.get("/Users", params={"filter": 'emails.value eq "w@example.com"'}).json()
    assert [r["id"] for r in found["Resources"]] == [created["id"]]


def test_patch_remove_attribute(scim):
    created = scim.post("/Users", json=user(title="Boss")).json()
    response = scim.patch(f"/Users/{created['id']}", json=patch({"op": "remove", "path": "title"}))
    assert response.status_code == 200
    assert "title" not in response.json()


def test_patch_that_changes_nothing_keeps_the_version(scim):
    created = scim.post("/Users", json=user(title="Same")).json()
    response = scim.patch(
        f"/Users/{created['id']}", json=patch({"op": "replace", "path": "title", "value": "Same"})
    )
    assert response.status_code == 200
    assert response.json()["meta"]["version"] == created["meta"]["version"]


def test_empty_operations_is_a_no_op(scim):
    created = scim.post("/Users", json=user()).json()
    response = scim.patch(f"/Users/{created['id']}", json=patch())
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["version"] == 'W/"1"'


def test_patch_with_an_unknown_op_is_400(scim):
    created = scim.post("/Users", json=user()).json()
    response = scim.patch(
        f"/Users/{created['id']}", json=patch({"op": "merge", "path": "title", "value": "x"})
    )
    assert_scim_error(response, 400)


def test_patch_failing_operation_leaves_the_user_unchanged(scim):
    created = scim.post("/Users", json=user(title="Keep")).json()
    response = scim.patch(
        f"/Users/{created['id']}",
        json=patch(
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "userName", "value": None},
        ),
    )
    assert response.status_code == 400, response.text
    after = scim.get(f"/Users/{created['id']}").json()
    assert after["title"] == "Keep"
    assert after["meta"]["version"] == 'W/"1"'


def test_patch_on_unknown_user_is_404(scim):
    response = scim.patch("/Users/does-not-exist", json=patch({"op": "remove", "path": "title"}))
    assert_scim_error(response, 404)


def test_enterprise_manager_by_bare_id_gets_its_ref(scim):
    boss = scim.post("/Users", json=user(displayName="The Boss")).json()
    sent = user(**{ENTERPRISE: {"manager": boss["id"], "department": "Ops"}})
    created = scim.post("/Users", json=sent)
    assert created.status_code == 201, created.text
    manager = created.json()[ENTERPRISE]["manager"]
    assert manager == {
        "value": boss["id"],
        "$ref": f"http://testserver/scim/v2/Users/{boss['id']}",
    }


def test_enterprise_manager_display_name_is_read_only_and_ignored(scim):
    boss = scim.post("/Users", json=user()).json()
    sent = user(**{ENTERPRISE: {"manager": {"value": boss["id"], "displayName": "Boss B"}}})
    created = scim.post("/Users", json=sent).json()
    assert created[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert "displayName" not in created[ENTERPRISE]["manager"]


def test_patch_manager_with_bare_id_then_remove_it(scim):
    boss = scim.post("/Users", json=user(displayName="Boss")).json()
    worker = scim.post("/Users", json=user()).json()
    added = scim.patch(
        f"/Users/{worker['id']}",
        json=patch({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]}),
    )
    assert added.status_code == 200, added.text
    assert added.json()[ENTERPRISE]["manager"]["value"] == boss["id"]
    found = scim.get(
        "/Users", params={"filter": f'{ENTERPRISE}:manager.value eq "{boss["id"]}"'}
    ).json()
    assert [r["id"] for r in found["Resources"]] == [worker["id"]]
    removed = scim.patch(f"/Users/{worker['id']}", json=patch({"op": "remove", "path": "manager"}))
    assert removed.status_code == 200, removed.text
    assert "manager" not in removed.json().get(ENTERPRISE, {})


def test_pathless_patch_with_manager_urn_key(scim):
    boss = scim.post("/Users", json=user()).json()
    worker = scim.post("/Users", json=user()).json()
    response = scim.patch(
        f"/Users/{worker['id']}",
        json=patch({"op": "replace", "value": {f"{ENTERPRISE}:manager": boss["id"]}}),
    )
    assert response.status_code == 200, response.text
    assert response.json()[ENTERPRISE]["manager"]["value"] == boss["id"]
