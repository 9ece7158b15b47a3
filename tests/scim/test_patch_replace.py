"""PATCH ``replace`` (RFC 7644 §3.5.2.3) over HTTP, every form of path, on users and groups.

Every successful PATCH is checked the same way (``patched``): 200, an ETag equal
to ``meta.version``, the version bumped by exactly one when something changed
(the whole resource unchanged otherwise), and a following GET equal to the body.
"""

from __future__ import annotations

import pytest

from tests.scim.helpers import ENTERPRISE, USER_SCHEMA
from tests.scim.patching import member_ids, new_group, new_user, patched, user_ids

# --- users: single-valued and complex attributes ------------------------------------


def test_replace_single_valued_attribute(scim):
    location = new_user(scim, displayName="Old")
    body = patched(scim, location, {"op": "replace", "path": "displayName", "value": "New"})
    assert body["displayName"] == "New"


def test_replace_user_name_is_seen_by_filters(scim):
    location = new_user(scim)
    body = patched(
        scim, location, {"op": "replace", "path": "userName", "value": "renamed@example.com"}
    )
    assert body["userName"] == "renamed@example.com"
    found = scim.get("/Users", params={"filter": 'userName eq "RENAMED@example.com"'}).json()
    assert [resource["id"] for resource in found["Resources"]] == [body["id"]]


def test_replace_sets_an_attribute_that_was_absent(scim):
    location = new_user(scim)
    body = patched(scim, location, {"op": "replace", "path": "preferredLanguage", "value": "fr"})
    assert body["preferredLanguage"] == "fr"


def test_replace_sub_attribute_keeps_its_siblings(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(scim, location, {"op": "replace", "path": "name.familyName", "value": "Smith"})
    assert body["name"] == {"givenName": "Barbara", "familyName": "Smith"}


def test_replace_complex_attribute_leaves_unspecified_sub_attributes_unchanged(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(
        scim,
        location,
        {"op": "replace", "path": "name", "value": {"familyName": "Smith", "formatted": "B S"}},
    )
    assert body["name"] == {"givenName": "Barbara", "familyName": "Smith", "formatted": "B S"}


def test_pathless_replace_of_a_complex_attribute_merges_its_sub_attributes(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(scim, location, {"op": "replace", "value": {"name": {"middleName": "J"}}})
    assert body["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}


def test_pathless_replace_with_own_id_and_extension_object(scim):
    location = new_user(scim, **{ENTERPRISE: {"department": "Ops", "division": "EMEA"}})
    own_id = location.rsplit("/", 1)[1]
    body = patched(
        scim,
        location,
        {
            "op": "replace",
            "value": {"id": own_id, "title": "Boss", ENTERPRISE: {"department": "Sales"}},
        },
    )
    assert body["id"] == own_id
    assert body["title"] == "Boss"
    assert body[ENTERPRISE] == {"department": "Sales", "division": "EMEA"}


# --- users: multi-valued attributes -------------------------------------------------


def test_replace_of_a_whole_multi_valued_attribute_sets_exactly_the_new_list(scim):
    location = new_user(
        scim,
        emails=[
            {"value": "work@example.com", "type": "work", "primary": True},
            {"value": "home@example.com", "type": "home"},
        ],
    )
    body = patched(
        scim,
        location,
        {
            "op": "replace",
            "path": "emails",
            "value": [{"value": "new@example.com", "type": "other"}],
        },
    )
    assert body["emails"] == [{"value": "new@example.com", "type": "other"}]


def test_replace_of_a_multi_valued_attribute_with_an_equal_list_keeps_the_version(scim):
    emails = [{"value": "work@example.com", "type": "work", "primary": True}]
    location = new_user(scim, emails=emails)
    patched(scim, location, {"op": "replace", "path": "emails", "value": emails}, changed=False)


def test_replace_of_a_multi_valued_attribute_with_an_empty_list_unassigns_it(scim):
    location = new_user(scim, phoneNumbers=[{"value": "+1 555 0100", "type": "work"}])
    body = patched(scim, location, {"op": "replace", "path": "phoneNumbers", "value": []})
    assert "phoneNumbers" not in body


def test_replace_mobile_phone_number_by_filter_changes_only_that_element(scim):
    location = new_user(
        scim,
        phoneNumbers=[
            {"value": "+1 555 0100", "type": "work"},
            {"value": "+1 555 0199", "type": "mobile"},
        ],
    )
    body = patched(
        scim,
        location,
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0142"},
    )
    assert body["phoneNumbers"] == [
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0142", "type": "mobile"},
    ]


def test_replace_work_address_formatted_by_filter_keeps_the_other_sub_attributes(scim):
    location = new_user(
        scim,
        addresses=[
            {"type": "work", "formatted": "1 Old St", "locality": "Paris"},
            {"type": "home", "formatted": "2 Home St"},
        ],
    )
    body = patched(
        scim,
        location,
        {"op": "replace", "path": 'addresses[type eq "work"].formatted', "value": "3 New St"},
    )
    assert body["addresses"] == [
        {"type": "work", "formatted": "3 New St", "locality": "Paris"},
        {"type": "home", "formatted": "2 Home St"},
    ]


def test_replace_with_a_filter_matching_several_elements_changes_each_of_them(scim):
    location = new_user(
        scim,
        emails=[
            {"value": "a@example.com", "type": "work"},
            {"value": "b@example.com", "type": "work"},
            {"value": "h@example.com", "type": "home"},
        ],
    )
    body = patched(
        scim,
        location,
        {"op": "replace", "path": 'emails[type eq "work"].display', "value": "Work"},
    )
    assert body["emails"] == [
        {"value": "a@example.com", "type": "work", "display": "Work"},
        {"value": "b@example.com", "type": "work", "display": "Work"},
        {"value": "h@example.com", "type": "home"},
    ]


def test_replace_whole_elements_selected_by_a_filter_matching_several(scim):
    location = new_user(
        scim,
        phoneNumbers=[
            {"value": "+1", "type": "work"},
            {"value": "+2", "type": "work"},
            {"value": "+3", "type": "home"},
        ],
    )
    body = patched(
        scim,
        location,
        {
            "op": "replace",
            "path": 'phoneNumbers[type eq "work"]',
            "value": {"value": "+9", "type": "work"},
        },
    )
    assert body["phoneNumbers"] == [
        {"value": "+9", "type": "work"},
        {"value": "+9", "type": "work"},
        {"value": "+3", "type": "home"},
    ]


def test_replace_with_filter_to_the_value_already_there_keeps_the_version(scim):
    location = new_user(scim, emails=[{"value": "work@example.com", "type": "work"}])
    patched(
        scim,
        location,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "work@example.com"},
        changed=False,
    )


def test_replace_with_eq_filter_matching_no_element_creates_it_entra_style(scim):
    location = new_user(scim, phoneNumbers=[{"value": "+1 555 0100", "type": "work"}])
    body = patched(
        scim,
        location,
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0199"},
    )
    assert body["phoneNumbers"] == [
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0199", "type": "mobile"},
    ]


def test_replace_primary_by_filter_makes_the_previous_primary_false(scim):
    location = new_user(
        scim,
        emails=[
            {"value": "work@example.com", "type": "work", "primary": True},
            {"value": "home@example.com", "type": "home"},
        ],
    )
    body = patched(
        scim,
        location,
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
    )
    primaries = [email["value"] for email in body["emails"] if email.get("primary")]
    assert primaries == ["home@example.com"]


# --- booleans as strings (Entra) ------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "sent", "expected"),
    [(True, "False", False), (False, "True", True), (False, "true", True), (True, "false", False)],
)
def test_pathless_replace_of_active_with_a_boolean_string(scim, initial, sent, expected):
    location = new_user(scim, active=initial)
    body = patched(scim, location, {"op": "replace", "value": {"active": sent}})
    assert body["active"] is expected


@pytest.mark.parametrize("sent", ["True", "true"])
def test_replace_of_a_filtered_boolean_sub_attribute_with_a_string(scim, sent):
    location = new_user(scim, emails=[{"value": "work@example.com", "type": "work"}])
    body = patched(
        scim, location, {"op": "replace", "path": 'emails[type eq "work"].primary', "value": sent}
    )
    assert body["emails"] == [{"value": "work@example.com", "type": "work", "primary": True}]


def test_replace_active_with_the_string_of_its_current_value_keeps_the_version(scim):
    location = new_user(scim, active=True)
    patched(scim, location, {"op": "replace", "path": "active", "value": "True"}, changed=False)


# --- users: URN-qualified paths -------------------------------------------------------


def test_replace_enterprise_attribute_by_urn_path(scim):
    location = new_user(scim, **{ENTERPRISE: {"department": "Ops", "costCenter": "CC-1"}})
    body = patched(
        scim, location, {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}
    )
    assert body[ENTERPRISE] == {"department": "Sales", "costCenter": "CC-1"}


def test_replace_core_attribute_by_urn_qualified_path(scim):
    location = new_user(scim, displayName="Old")
    body = patched(
        scim, location, {"op": "REPLACE", "path": f"{USER_SCHEMA}:displayName", "value": "New"}
    )
    assert body["displayName"] == "New"


def test_pathless_replace_with_dotted_key_inside_the_core_urn(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(
        scim, location, {"op": "replace", "value": {f"{USER_SCHEMA}:name.givenName": "Babs"}}
    )
    assert body["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_enterprise_manager_with_another_user(scim):
    old_boss, new_boss = user_ids(scim, 2)
    location = new_user(scim, **{ENTERPRISE: {"manager": {"value": old_boss}}})
    body = patched(
        scim,
        location,
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": new_boss}},
    )
    assert body[ENTERPRISE]["manager"] == {
        "value": new_boss,
        "$ref": f"http://testserver/scim/v2/Users/{new_boss}",
    }


@pytest.mark.parametrize("op", ["Replace", "REPLACE", "rEpLaCe"])
def test_replace_op_name_is_case_insensitive(scim, op):
    location = new_user(scim, title="Old")
    body = patched(scim, location, {"op": op, "path": "title", "value": "New"})
    assert body["title"] == "New"


# --- groups -----------------------------------------------------------------------------


def test_replace_group_display_name(scim):
    location = new_group(scim, "Old")
    body = patched(scim, location, {"op": "replace", "path": "displayName", "value": "New"})
    assert body["displayName"] == "New"


def test_replace_group_display_name_with_the_same_value_keeps_the_version(scim):
    location = new_group(scim, "Same")
    patched(
        scim, location, {"op": "replace", "path": "displayName", "value": "Same"}, changed=False
    )


def test_pathless_replace_of_a_group_with_its_own_id_okta_style(scim):
    location = new_group(scim, "Old")
    own_id = location.rsplit("/", 1)[1]
    body = patched(scim, location, {"op": "replace", "value": {"id": own_id, "displayName": "New"}})
    assert body["id"] == own_id
    assert body["displayName"] == "New"


def test_pathless_replace_of_a_group_ignores_a_read_only_id_key(scim):
    location = new_group(scim, "Old")
    own_id = location.rsplit("/", 1)[1]
    body = patched(
        scim, location, {"op": "replace", "value": {"id": "client-chosen", "displayName": "New"}}
    )
    assert body["id"] == own_id
    assert body["displayName"] == "New"


def test_replace_members_and_display_name_in_one_patch_bumps_the_version_once(scim):
    alice, bob, carol = user_ids(scim, 3)
    location = new_group(scim, "Team", alice)
    body = patched(
        scim,
        location,
        {"op": "Replace", "path": "members", "value": [{"value": bob}, {"value": carol}]},
        {"op": "replace", "path": "displayName", "value": "Team 2"},
    )
    assert member_ids(body) == sorted([bob, carol])
    assert body["displayName"] == "Team 2"


def test_replace_members_with_the_same_members_keeps_the_version(scim):
    alice, bob = user_ids(scim, 2)
    location = new_group(scim, "Team", alice, bob)
    patched(
        scim,
        location,
        {"op": "replace", "path": "members", "value": [{"value": alice}, {"value": bob}]},
        changed=False,
    )
