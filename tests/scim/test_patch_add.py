"""PATCH ``add`` (RFC 7644 §3.5.2.1) over HTTP, every form of path, on users and groups.

Every successful PATCH is checked the same way (``patched``): 200, an ETag equal
to ``meta.version``, the version bumped by exactly one when something changed
(the whole resource unchanged otherwise), and a following GET equal to the body.
"""

from __future__ import annotations

import pytest

from tests.scim.helpers import ENTERPRISE, USER_SCHEMA, group, user
from tests.scim.patching import member_ids, new_group, new_user, patched, user_ids

# --- users: single-valued and complex attributes ------------------------------------


def test_add_on_a_single_valued_attribute_replaces_its_value(scim):
    location = new_user(scim, title="Old")
    body = patched(scim, location, {"op": "add", "path": "title", "value": "New"})
    assert body["title"] == "New"


def test_add_sets_an_attribute_that_was_absent(scim):
    location = new_user(scim)
    body = patched(scim, location, {"op": "add", "path": "nickName", "value": "Babs"})
    assert body["nickName"] == "Babs"


def test_add_of_the_value_already_there_changes_nothing_and_keeps_the_version(scim):
    location = new_user(scim, title="Same")
    body = patched(scim, location, {"op": "add", "path": "title", "value": "Same"}, changed=False)
    assert body["title"] == "Same"


def test_add_sub_attribute_sets_it_and_keeps_its_siblings(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(scim, location, {"op": "add", "path": "name.givenName", "value": "Babs"})
    assert body["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_add_sub_attribute_creates_the_complex_attribute_when_absent(scim):
    location = new_user(scim)
    body = patched(scim, location, {"op": "add", "path": "name.familyName", "value": "Jensen"})
    assert body["name"] == {"familyName": "Jensen"}


def test_add_complex_value_merges_into_the_existing_sub_attributes(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(
        scim,
        location,
        {"op": "add", "path": "name", "value": {"givenName": "Babs", "middleName": "J"}},
    )
    assert body["name"] == {"givenName": "Babs", "familyName": "Jensen", "middleName": "J"}


# --- users: multi-valued attributes -----------------------------------------------


def test_add_to_a_multi_valued_attribute_appends_the_values(scim):
    location = new_user(scim, emails=[{"value": "work@example.com", "type": "work"}])
    body = patched(
        scim,
        location,
        {
            "op": "add",
            "path": "emails",
            "value": [
                {"value": "home@example.com", "type": "home"},
                {"value": "other@example.com", "type": "other"},
            ],
        },
    )
    assert body["emails"] == [
        {"value": "work@example.com", "type": "work"},
        {"value": "home@example.com", "type": "home"},
        {"value": "other@example.com", "type": "other"},
    ]


def test_add_of_a_primary_email_makes_the_previous_primary_false(scim):
    location = new_user(
        scim, emails=[{"value": "old@example.com", "type": "work", "primary": True}]
    )
    body = patched(
        scim,
        location,
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "new@example.com", "type": "home", "primary": True}],
        },
    )
    primaries = [email["value"] for email in body["emails"] if email.get("primary")]
    assert primaries == ["new@example.com"]
    assert {email["value"] for email in body["emails"]} == {"old@example.com", "new@example.com"}


def test_add_of_an_element_already_present_changes_nothing(scim):
    email = {"value": "work@example.com", "type": "work", "primary": True}
    location = new_user(scim, emails=[email])
    body = patched(scim, location, {"op": "add", "path": "emails", "value": [email]}, changed=False)
    assert body["emails"] == [email]


def test_add_with_filter_sets_the_sub_attribute_of_the_matching_element_only(scim):
    location = new_user(
        scim,
        emails=[
            {"value": "work@example.com", "type": "work"},
            {"value": "home@example.com", "type": "home"},
        ],
    )
    body = patched(
        scim,
        location,
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "new-work@example.com"},
    )
    assert body["emails"] == [
        {"value": "new-work@example.com", "type": "work"},
        {"value": "home@example.com", "type": "home"},
    ]


def test_add_with_filter_matching_no_element_creates_it_with_that_type_entra_style(scim):
    location = new_user(scim, emails=[{"value": "home@example.com", "type": "home"}])
    body = patched(
        scim,
        location,
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "work@example.com"},
    )
    assert body["emails"] == [
        {"value": "home@example.com", "type": "home"},
        {"value": "work@example.com", "type": "work"},
    ]


# --- users: pathless add -----------------------------------------------------------


def test_pathless_add_applies_dotted_urn_qualified_and_plain_keys_and_keeps_own_id(scim):
    location = new_user(scim, name={"familyName": "Jensen"}, **{ENTERPRISE: {"department": "Ops"}})
    own_id = location.rsplit("/", 1)[1]
    body = patched(
        scim,
        location,
        {
            "op": "add",
            "value": {
                "id": own_id,
                "name.givenName": "Barbara",
                f"{ENTERPRISE}:costCenter": "CC-7",
                f"{USER_SCHEMA}:nickName": "Babs",
                "title": "Boss",
            },
        },
    )
    assert body["id"] == own_id
    assert body["name"] == {"familyName": "Jensen", "givenName": "Barbara"}
    assert body[ENTERPRISE] == {"department": "Ops", "costCenter": "CC-7"}
    assert body["nickName"] == "Babs"
    assert body["title"] == "Boss"


def test_pathless_add_ignores_a_read_only_id_key_and_applies_the_rest(scim):
    location = new_user(scim)
    own_id = location.rsplit("/", 1)[1]
    body = patched(
        scim,
        location,
        {"op": "add", "value": {"id": "client-chosen-id", "displayName": "Barbara"}},
    )
    assert body["id"] == own_id
    assert body["displayName"] == "Barbara"


def test_pathless_add_of_an_extension_object_merges_into_the_extension(scim):
    location = new_user(scim, **{ENTERPRISE: {"department": "Ops"}})
    body = patched(scim, location, {"op": "add", "value": {ENTERPRISE: {"division": "EMEA"}}})
    assert body[ENTERPRISE] == {"department": "Ops", "division": "EMEA"}


# --- users: URN-qualified paths ----------------------------------------------------


def test_add_enterprise_attribute_by_urn_path_creates_the_extension(scim):
    location = new_user(scim)
    body = patched(
        scim, location, {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"}
    )
    assert body[ENTERPRISE] == {"department": "Sales"}
    assert body["schemas"] == [USER_SCHEMA, ENTERPRISE]


def test_add_enterprise_attribute_by_urn_path_keeps_the_other_extension_attributes(scim):
    location = new_user(scim, **{ENTERPRISE: {"department": "Ops", "employeeNumber": "7"}})
    body = patched(
        scim, location, {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"}
    )
    assert body[ENTERPRISE] == {"department": "Sales", "employeeNumber": "7"}


def test_add_core_attribute_by_urn_qualified_path(scim):
    location = new_user(scim)
    body = patched(
        scim, location, {"op": "add", "path": f"{USER_SCHEMA}:displayName", "value": "Babs"}
    )
    assert body["displayName"] == "Babs"


def test_add_core_sub_attribute_by_urn_qualified_path(scim):
    location = new_user(scim, name={"familyName": "Jensen"})
    body = patched(
        scim, location, {"op": "add", "path": f"{USER_SCHEMA}:name.givenName", "value": "Barbara"}
    )
    assert body["name"] == {"familyName": "Jensen", "givenName": "Barbara"}


def test_add_enterprise_manager_as_object_gets_its_ref(scim):
    boss = scim.post("/Users", json=user()).json()["id"]
    location = new_user(scim)
    body = patched(
        scim, location, {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": boss}}
    )
    assert body[ENTERPRISE]["manager"] == {
        "value": boss,
        "$ref": f"http://testserver/scim/v2/Users/{boss}",
    }


# --- op names, several operations ---------------------------------------------------


@pytest.mark.parametrize("op", ["Add", "ADD", "aDd"])
def test_add_op_name_is_case_insensitive(scim, op):
    location = new_user(scim, title="Old")
    body = patched(scim, location, {"op": op, "path": "title", "value": "New"})
    assert body["title"] == "New"


def test_several_operations_apply_in_order_and_bump_the_version_once(scim):
    location = new_user(scim)
    body = patched(
        scim,
        location,
        {"op": "add", "path": "title", "value": "First"},
        {"op": "add", "path": "title", "value": "Second"},
        {"op": "add", "path": "emails", "value": [{"value": "a@example.com", "type": "work"}]},
        {"op": "add", "path": 'emails[type eq "work"].display', "value": "Work"},
    )
    assert body["title"] == "Second"
    assert body["emails"] == [{"value": "a@example.com", "type": "work", "display": "Work"}]


# --- groups -------------------------------------------------------------------------


def test_add_on_group_display_name_replaces_it(scim):
    location = new_group(scim, "Old")
    body = patched(scim, location, {"op": "add", "path": "displayName", "value": "New"})
    assert body["displayName"] == "New"


def test_add_on_group_external_id_by_urn_qualified_path(scim):
    location = new_group(scim, "Team")
    body = patched(
        scim,
        location,
        {
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:core:2.0:Group:externalId",
            "value": "ext-1",
        },
    )
    assert body["externalId"] == "ext-1"


def test_add_members_appends_to_the_existing_members(scim):
    alice, bob = user_ids(scim, 2)
    location = new_group(scim, "Team", alice)
    body = patched(scim, location, {"op": "ADD", "path": "members", "value": [{"value": bob}]})
    assert member_ids(body) == sorted([alice, bob])


def test_add_members_by_urn_qualified_path(scim):
    alice, bob = user_ids(scim, 2)
    location = new_group(scim, "Team", alice)
    body = patched(
        scim,
        location,
        {
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members",
            "value": [{"value": bob}],
        },
    )
    assert member_ids(body) == sorted([alice, bob])


def test_pathless_add_of_members_appends_and_sets_the_other_attributes(scim):
    alice, bob = user_ids(scim, 2)
    location = new_group(scim, "Team", alice)
    body = patched(
        scim,
        location,
        {"op": "add", "value": {"members": [{"value": bob}], "externalId": "ext-2"}},
    )
    assert member_ids(body) == sorted([alice, bob])
    assert body["externalId"] == "ext-2"


def test_add_of_a_nested_group_as_member(scim):
    inner = scim.post("/Groups", json=group("Inner")).json()["id"]
    location = new_group(scim, "Outer")
    body = patched(scim, location, {"op": "add", "path": "members", "value": [{"value": inner}]})
    assert body["members"] == [
        {
            "value": inner,
            "$ref": f"http://testserver/scim/v2/Groups/{inner}",
            "type": "Group",
            "display": "Inner",
        }
    ]
