"""PATCH ``remove`` (RFC 7644 §3.5.2.2) over HTTP, every form of path, on users and groups.

Every successful PATCH is checked the same way (``patched``): 200, an ETag equal
to ``meta.version``, the version bumped by exactly one when something changed
(the whole resource unchanged otherwise), and a following GET equal to the body.
"""

from __future__ import annotations

import pytest

from tests.scim.helpers import ENTERPRISE, USER_SCHEMA
from tests.scim.patching import member_ids, new_group, new_user, patched, user_ids

EMAILS = [
    {"value": "work@example.com", "type": "work", "primary": True},
    {"value": "home@example.com", "type": "home"},
    {"value": "home2@example.com", "type": "home"},
]


# --- users: simple and complex attributes ------------------------------------------


def test_remove_simple_attribute_unassigns_it_and_keeps_the_others(scim):
    location = new_user(scim, displayName="Babs", title="Boss")
    body = patched(scim, location, {"op": "remove", "path": "displayName"})
    assert "displayName" not in body
    assert body["title"] == "Boss"


def test_remove_sub_attribute_keeps_its_siblings(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(scim, location, {"op": "remove", "path": "name.givenName"})
    assert body["name"] == {"familyName": "Jensen"}


def test_remove_of_the_last_sub_attribute_unassigns_the_complex_attribute(scim):
    location = new_user(scim, name={"givenName": "Barbara"})
    body = patched(scim, location, {"op": "remove", "path": "name.givenName"})
    assert "name" not in body


def test_remove_of_a_whole_complex_attribute(scim):
    location = new_user(scim, name={"givenName": "Barbara", "familyName": "Jensen"})
    body = patched(scim, location, {"op": "remove", "path": "name"})
    assert "name" not in body


def test_remove_by_urn_qualified_core_path(scim):
    location = new_user(scim, nickName="Babs")
    body = patched(scim, location, {"op": "remove", "path": f"{USER_SCHEMA}:nickName"})
    assert "nickName" not in body


# --- users: multi-valued attributes ---------------------------------------------------


def test_remove_of_a_whole_multi_valued_attribute(scim):
    location = new_user(scim, emails=EMAILS, phoneNumbers=[{"value": "+1", "type": "work"}])
    body = patched(scim, location, {"op": "remove", "path": "emails"})
    assert "emails" not in body
    assert body["phoneNumbers"] == [{"value": "+1", "type": "work"}]


def test_remove_with_filter_removes_every_matching_element_only(scim):
    location = new_user(scim, emails=EMAILS)
    body = patched(scim, location, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert body["emails"] == [EMAILS[0]]


def test_remove_with_filter_matching_all_elements_unassigns_the_attribute(scim):
    location = new_user(scim, emails=EMAILS[1:])
    body = patched(scim, location, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert "emails" not in body


def test_remove_sub_attribute_of_the_elements_a_filter_selects(scim):
    location = new_user(
        scim,
        addresses=[
            {"type": "work", "formatted": "1 Work St", "locality": "Paris"},
            {"type": "home", "formatted": "2 Home St"},
        ],
    )
    body = patched(scim, location, {"op": "remove", "path": 'addresses[type eq "work"].formatted'})
    assert body["addresses"] == [
        {"type": "work", "locality": "Paris"},
        {"type": "home", "formatted": "2 Home St"},
    ]


def test_remove_with_a_value_removes_only_the_elements_it_names_entra_style(scim):
    location = new_user(scim, emails=EMAILS)
    body = patched(
        scim,
        location,
        {"op": "remove", "path": "emails", "value": [{"value": "home@example.com"}]},
    )
    assert body["emails"] == [EMAILS[0], EMAILS[2]]


# --- users: what is not there ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "title",
        "name.givenName",
        "phoneNumbers",
        f"{ENTERPRISE}:department",
        f"{ENTERPRISE}:manager",
    ],
)
def test_remove_of_an_absent_attribute_succeeds_and_keeps_the_version(scim, path):
    location = new_user(scim, name={"familyName": "Jensen"}, emails=EMAILS)
    patched(scim, location, {"op": "remove", "path": path}, changed=False)


def test_remove_with_filter_matching_nothing_succeeds_and_keeps_the_version(scim):
    # RFC 7644 §3.12 describes noTarget for a filter that yields no match; scimd
    # treats this remove as already done (idempotent), as IdPs retrying expect.
    location = new_user(scim, emails=EMAILS)
    patched(scim, location, {"op": "remove", "path": 'emails[type eq "other"]'}, changed=False)


# --- users: enterprise extension -----------------------------------------------------------


def test_remove_enterprise_manager_by_urn_path_keeps_the_other_extension_attributes(scim):
    (boss,) = user_ids(scim, 1)
    location = new_user(scim, **{ENTERPRISE: {"manager": {"value": boss}, "department": "Ops"}})
    body = patched(scim, location, {"op": "remove", "path": f"{ENTERPRISE}:manager"})
    assert body[ENTERPRISE] == {"department": "Ops"}
    found = scim.get("/Users", params={"filter": f'{ENTERPRISE}:manager.value eq "{boss}"'})
    assert found.json()["totalResults"] == 0


def test_remove_of_the_last_enterprise_attribute_drops_the_extension_and_its_schema(scim):
    location = new_user(scim, **{ENTERPRISE: {"department": "Ops"}})
    body = patched(scim, location, {"op": "remove", "path": f"{ENTERPRISE}:department"})
    assert ENTERPRISE not in body
    assert body["schemas"] == [USER_SCHEMA]


@pytest.mark.parametrize("op", ["Remove", "REMOVE", "rEMOVe"])
def test_remove_op_name_is_case_insensitive(scim, op):
    location = new_user(scim, title="Boss")
    body = patched(scim, location, {"op": op, "path": "title"})
    assert "title" not in body


def test_remove_then_add_in_one_patch_bumps_the_version_once(scim):
    location = new_user(scim, emails=EMAILS)
    body = patched(
        scim,
        location,
        {"op": "remove", "path": "emails"},
        {"op": "add", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]},
    )
    assert body["emails"] == [{"value": "only@example.com", "type": "work"}]


# --- groups -----------------------------------------------------------------------------------


def test_remove_members_by_filter_with_or_of_several_values(scim):
    alice, bob, carol, dave = user_ids(scim, 4)
    location = new_group(scim, "Team", alice, bob, carol, dave)
    body = patched(
        scim,
        location,
        {
            "op": "remove",
            "path": f'members[value eq "{alice}" or value eq "{bob}" or value eq "{carol}"]',
        },
    )
    assert member_ids(body) == [dave]


def test_remove_members_by_or_filter_naming_non_members_removes_the_members_it_names(scim):
    alice, bob, outsider = user_ids(scim, 3)
    location = new_group(scim, "Team", alice, bob)
    body = patched(
        scim,
        location,
        {"op": "Remove", "path": f'members[value eq "{alice}" or value eq "{outsider}"]'},
    )
    assert member_ids(body) == [bob]


def test_remove_members_by_filter_matching_no_member_keeps_the_version(scim):
    alice, outsider = user_ids(scim, 2)
    location = new_group(scim, "Team", alice)
    body = patched(
        scim, location, {"op": "remove", "path": f'members[value eq "{outsider}"]'}, changed=False
    )
    assert member_ids(body) == [alice]


def test_remove_all_members_of_an_empty_group_keeps_the_version(scim):
    location = new_group(scim, "Empty")
    patched(scim, location, {"op": "remove", "path": "members"}, changed=False)


def test_remove_group_external_id(scim):
    location = new_group(scim, "Team", externalId="ext-1")
    body = patched(scim, location, {"op": "remove", "path": "externalId"})
    assert "externalId" not in body
    assert body["displayName"] == "Team"


def test_remove_members_and_external_id_in_one_patch_bumps_the_version_once(scim):
    alice, bob = user_ids(scim, 2)
    location = new_group(scim, "Team", alice, bob, externalId="ext-1")
    body = patched(
        scim,
        location,
        {"op": "remove", "path": f'members[value eq "{bob}"]'},
        {"op": "remove", "path": "externalId"},
    )
    assert member_ids(body) == [alice]
    assert "externalId" not in body
