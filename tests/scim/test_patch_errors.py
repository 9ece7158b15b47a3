"""PATCH requests that must fail (RFC 7644 §3.5.2, §3.12), and fail atomically.

Every rejected PATCH is checked the same way (``rejected``): the status and
``scimType``, a SCIM Error body, and the resource unchanged afterwards: a GET
before and after are equal, ``meta.version`` and ``lastModified`` included.
All operations of one PATCH apply together or not at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.scim.helpers import ENTERPRISE, assert_scim_error, group, patch, user
from tests.scim.patching import user_ids


def rejected(
    scim, location: str, scim_type: str | None, *operations: dict[str, Any], status: int = 400
) -> dict[str, Any]:
    """PATCH ``location``: the SCIM error expected, and the resource exactly as before."""
    before = scim.get(location)
    assert before.status_code == 200, before.text
    response = scim.patch(location, json=patch(*operations))
    assert_scim_error(response, status, scim_type)
    after = scim.get(location)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def bob(scim) -> str:
    """A user with simple, complex, multi-valued and enterprise attributes; its location."""
    (boss,) = user_ids(scim, 1)
    created = scim.post(
        "/Users",
        json=user(
            displayName="Bob",
            title="Engineer",
            active=True,
            name={"givenName": "Bob", "familyName": "Smith"},
            emails=[{"value": "bob@example.com", "type": "work", "primary": True}],
            phoneNumbers=[{"value": "+1 555 0100", "type": "work"}],
            **{ENTERPRISE: {"department": "Ops", "manager": {"value": boss}}},
        ),
    )
    assert created.status_code == 201, created.text
    return f"/Users/{created.json()['id']}"


@pytest.fixture
def team(scim) -> str:
    """A group with two members and an externalId; its location."""
    created = scim.post(
        "/Groups", json={**group("Team", *user_ids(scim, 2)), "externalId": "team-1"}
    )
    assert created.status_code == 201, created.text
    return f"/Groups/{created.json()['id']}"


# --- invalid paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "path"),
    [
        ("replace", 'emails[type eq "work"'),
        ("replace", "emails[type eq].value"),
        ("add", "name..givenName"),
        ("replace", "title]"),
        ("remove", 'emails[type eq "work"'),
        ("remove", 'phoneNumbers[type "work"]'),
    ],
)
def test_invalid_path_syntax_is_400_invalid_path(scim, bob, op, path):
    operation: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        operation["value"] = "x"
    rejected(scim, bob, "invalidPath", operation)


def test_invalid_member_filter_syntax_on_a_group_is_400_invalid_path(scim, team):
    rejected(scim, team, "invalidPath", {"op": "remove", "path": 'members[value eq "x"'})


def test_member_filter_on_another_sub_attribute_than_value_is_400_invalid_path(scim, team):
    rejected(scim, team, "invalidPath", {"op": "remove", "path": 'members[display eq "x"]'})


# --- no target ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "path"),
    [
        ("replace", 'emails[type co "xyz"].value'),
        ("replace", 'emails[type ne "work"].value'),
        ("replace", 'emails[type eq "home" or type eq "other"].display'),
        ("add", 'phoneNumbers[value sw "+44"].type'),
    ],
)
def test_filtered_path_that_matches_nothing_and_describes_no_element_is_400_no_target(
    scim, bob, op, path
):
    value = "other@example.com" if path.endswith(".value") else "x"
    rejected(scim, bob, "noTarget", {"op": op, "path": path, "value": value})


def test_replace_with_eq_filter_matching_nothing_creates_the_element_instead_of_no_target(
    scim, bob
):
    # RFC 7644 §3.5.2.3 requires 400 noTarget here. scimd deliberately departs
    # from it (ScimPolicy.UnmatchedPathFilter.create, IDP_NOTES: Entra expects
    # the element to be created): filters made of `eq` terms joined by `and`
    # describe the element, which is created. Filters that do not are refused
    # (test above).
    response = scim.patch(
        bob,
        json=patch(
            {
                "op": "replace",
                "path": 'emails[type eq "home" and value eq "bob@home.example.com"].display',
                "value": "Home",
            }
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [
        {"value": "bob@example.com", "type": "work", "primary": True},
        {"value": "bob@home.example.com", "type": "home", "display": "Home"},
    ]
    assert response.json()["meta"]["version"] == 'W/"2"'
    assert scim.get(bob).json() == response.json()


def test_remove_without_path_is_400_no_target(scim, bob):
    rejected(scim, bob, "noTarget", {"op": "remove"})


# --- mutability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "new-id"},
        {"op": "add", "path": "id", "value": "new-id"},
        {"op": "remove", "path": "id"},
        {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
        {"op": "replace", "path": "meta.version", "value": 'W/"99"'},
        {"op": "remove", "path": "meta"},
        {"op": "add", "path": "groups", "value": [{"value": "some-group"}]},
        {"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "The Boss"},
        {
            "op": "replace",
            "path": "urn:scimd:schemas:extension:account:2.0:User:failedTries",
            "value": 0,
        },
    ],
    ids=lambda operation: f"{operation['op']}-{operation['path'].rsplit(':', 1)[-1]}",
)
def test_changing_a_read_only_attribute_of_a_user_is_400_mutability(scim, bob, operation):
    rejected(scim, bob, "mutability", operation)


def test_changing_the_id_of_a_group_is_400_mutability(scim, team):
    rejected(scim, team, "mutability", {"op": "replace", "path": "id", "value": "new-id"})


def test_changing_the_immutable_value_of_a_member_is_400_mutability(scim, team):
    member = scim.get(team).json()["members"][0]["value"]
    (other,) = user_ids(scim, 1)
    rejected(
        scim,
        team,
        "mutability",
        {"op": "replace", "path": f'members[value eq "{member}"].value', "value": other},
    )


def test_removing_the_required_user_name_is_400_mutability(scim, bob):
    rejected(scim, bob, "mutability", {"op": "remove", "path": "userName"})


def test_removing_the_required_group_display_name_is_400_mutability(scim, team):
    rejected(scim, team, "mutability", {"op": "remove", "path": "displayName"})


# --- invalid values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("active", {"x": 1}),
        ("active", "maybe"),
        ("active", [True]),
        ("title", {"x": 1}),
        ("name", "Bob Smith"),
        ("name.givenName", 5),
        ("emails", ["not-an-object@example.com"]),
        ('emails[type eq "work"].primary', "maybe"),
        ('emails[type eq "work"].value', "not-an-email"),
        (f"{ENTERPRISE}:department", ["Ops"]),
        ("userName", ""),
    ],
)
def test_a_value_of_the_wrong_type_is_400_invalid_value(scim, bob, path, value):
    rejected(scim, bob, "invalidValue", {"op": "replace", "path": path, "value": value})


def test_pathless_value_that_is_not_an_object_is_400_invalid_value(scim, bob):
    rejected(scim, bob, "invalidValue", {"op": "replace", "value": "Bob"})


@pytest.mark.parametrize("op", ["add", "replace"])
def test_add_or_replace_without_a_value_is_400_invalid_value(scim, bob, op):
    rejected(scim, bob, "invalidValue", {"op": op, "path": "title"})


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "displayName", "value": {"x": 1}},
        {"op": "add", "path": "members", "value": [{"display": "no id"}]},
        {"op": "add", "path": "members", "value": [{"value": 5}]},
    ],
)
def test_a_value_of_the_wrong_type_on_a_group_is_400_invalid_value(scim, team, operation):
    rejected(scim, team, "invalidValue", operation)


def test_two_primary_values_in_one_multi_valued_attribute_is_400_invalid_value(scim, bob):
    rejected(
        scim,
        bob,
        "invalidValue",
        {
            "op": "replace",
            "path": "emails",
            "value": [
                {"value": "one@example.com", "primary": True},
                {"value": "two@example.com", "primary": True},
            ],
        },
    )


def test_changing_user_name_to_a_taken_one_is_409_uniqueness_whatever_its_case(scim, bob):
    taken = scim.post("/Users", json=user()).json()["userName"]
    rejected(
        scim,
        bob,
        "uniqueness",
        {"op": "replace", "path": "title", "value": "Manager"},
        {"op": "replace", "path": "userName", "value": taken.upper()},
        status=409,
    )


# --- unknown operations -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["copy", "move", "test", "delete", "", None, 1])
def test_an_unknown_op_is_400_and_changes_nothing(scim, bob, op):
    rejected(scim, bob, None, {"op": op, "path": "title", "value": "Changed"})


def test_a_missing_op_is_400_and_changes_nothing(scim, bob):
    rejected(scim, bob, None, {"path": "title", "value": "Changed"})


def test_an_unknown_op_on_a_group_is_400_and_changes_nothing(scim, team):
    rejected(scim, team, None, {"op": "merge", "path": "displayName", "value": "Changed"})


# --- atomicity: a valid operation followed by an invalid one changes nothing ---------------


VALID_USER_CHANGES = [
    {"op": "replace", "path": "title", "value": "Manager"},
    {"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "home"}]},
    {"op": "remove", "path": "phoneNumbers"},
    {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
    {"op": "remove", "path": f"{ENTERPRISE}:manager"},
    {"op": "replace", "value": {"name.givenName": "Robert", "active": "False"}},
]


def test_the_valid_operations_of_the_atomicity_tests_succeed_on_their_own(scim, bob):
    response = scim.patch(bob, json=patch(*VALID_USER_CHANGES))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Manager"
    assert len(body["emails"]) == 2
    assert "phoneNumbers" not in body
    assert body[ENTERPRISE] == {"department": "Sales"}
    assert body["name"]["givenName"] == "Robert"
    assert body["active"] is False
    assert body["meta"]["version"] == 'W/"2"'


@pytest.mark.parametrize(
    ("scim_type", "invalid"),
    [
        ("invalidPath", {"op": "replace", "path": 'emails[type eq "work"', "value": "x"}),
        ("noTarget", {"op": "replace", "path": 'emails[type co "zz"].value', "value": "x"}),
        ("mutability", {"op": "replace", "path": "id", "value": "new-id"}),
        ("mutability", {"op": "remove", "path": "userName"}),
        ("invalidValue", {"op": "replace", "path": "active", "value": {"x": 1}}),
        (None, {"op": "merge", "path": "title", "value": "x"}),
    ],
    ids=["invalidPath", "noTarget", "readOnly", "required", "invalidValue", "unknownOp"],
)
def test_valid_operations_followed_by_an_invalid_one_change_nothing(scim, bob, scim_type, invalid):
    rejected(scim, bob, scim_type, *VALID_USER_CHANGES, invalid)


def test_an_invalid_operation_before_valid_ones_changes_nothing(scim, bob):
    rejected(
        scim,
        bob,
        "invalidValue",
        {"op": "replace", "path": "title", "value": {"x": 1}},
        *VALID_USER_CHANGES,
    )


def _valid_group_changes(scim, team: str) -> list[dict[str, Any]]:
    current = [member["value"] for member in scim.get(team).json()["members"]]
    (newcomer,) = user_ids(scim, 1)
    return [
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "remove", "path": "externalId"},
        {"op": "remove", "path": f'members[value eq "{current[0]}"]'},
        {"op": "add", "path": "members", "value": [{"value": newcomer}]},
    ]


def test_the_valid_group_operations_of_the_atomicity_tests_succeed_on_their_own(scim, team):
    before = sorted(member["value"] for member in scim.get(team).json()["members"])
    operations = _valid_group_changes(scim, team)
    response = scim.patch(team, json=patch(*operations))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Renamed"
    assert "externalId" not in body
    after = sorted(member["value"] for member in body["members"])
    assert after == sorted([before[1], operations[3]["value"][0]["value"]])
    assert body["meta"]["version"] == 'W/"2"'


@pytest.mark.parametrize(
    ("scim_type", "invalid"),
    [
        ("invalidValue", {"op": "replace", "path": "displayName", "value": {"x": 1}}),
        ("mutability", {"op": "remove", "path": "displayName"}),
        ("invalidPath", {"op": "remove", "path": 'members[value eq "x"'}),
        ("invalidValue", {"op": "add", "path": "members", "value": [{"value": "ghost"}]}),
    ],
    ids=["invalidValue", "required", "invalidPath", "unknownMember"],
)
def test_group_member_and_attribute_changes_followed_by_an_invalid_one_change_nothing(
    scim, team, scim_type, invalid
):
    rejected(scim, team, scim_type, *_valid_group_changes(scim, team), invalid)
