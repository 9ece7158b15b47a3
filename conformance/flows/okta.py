"""Okta: its "SCIM 2.0 SPEC Test" (Runscope) in order, then the lifecycle its SCIM client sends.

Sources:

[PREPARE] Okta, "Build your SCIM API service" > "Test your SCIM API",
    https://developer.okta.com/docs/guides/scim-provisioning-integration-prepare/main/
    (Runscope variables: randomUsername, randomUsernameCaps, InvalidUserEmail,
    UserIdThatDoesNotExist; "Create at least one user in your SCIM server before running").
[SPEC] Okta, "Okta SCIM 2.0 SPEC Test" (the Runscope import file),
    https://developer.okta.com/standards/SCIM/SCIMFiles/Okta-SCIM-20-SPEC-Test.json
    Its twelve request steps, in order: R1 Test Users endpoint, R2 Get Users/{{id}},
    R3 Test invalid User by username, R4 Test invalid User by ID, R5 Make sure random user
    doesn't exist, R6 Create Okta user with realistic values, R7 Verify that user was created,
    R8 Expect failure when recreating user with same values, R9 Username Case Sensitivity
    Check, R10 (optional) Verify Groups endpoint (under 600 ms), R11 Check status 401,
    R12 Check status 404. Its requests send ``Accept: application/scim+json`` and
    ``Content-Type: application/scim+json; charset=utf-8`` (R6/R8: ``application/json``).
[REF] Okta, "SCIM 2.0 Protocol Reference" (Okta and SCIM Version 2.0),
    https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
    (create: filter then POST; import: startIndex=1&count=100; update: GET then PUT;
    deactivate/reactivate: pathless PATCH replace of active; Push Groups: POST, rename by
    pathless replace with id, membership remove + add in one PATCH, full push with replace).
[EMPTY-PUSH] Captain-P-Goldfish/SCIM-SDK issue #757, "Removing all Group members with PATCH
    request returns 400": Okta's "Push now" of an empty group sends replace members [].

Okta never DELETEs users: it deactivates them. It does DELETE pushed groups when unlinked.
"""

from __future__ import annotations

from conformance.flows.runner import (
    ERROR_URN,
    GROUP_URN,
    LIST_URN,
    PATCH_URN,
    USER_URN,
    Step,
)

SPEC_HEADERS = {
    "Accept": "application/scim+json",
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "SCIM Integration",
}
JSON_HEADERS = {
    "Accept": "application/scim+json; charset=utf-8",
    "Content-Type": "application/json",
}
CLIENT_HEADERS = {"User-Agent": "Okta SCIM Client 1.0.0"}

SEED = "seed.{run}@example.com"
# [PREPARE] randomGivenName "Runscope300", randomFamilyName "Hfluaklab151", randomUsername
# "Runscope300Hfluaklab151@example.com"; randomEmail is another address.
GIVEN, FAMILY = "Runscope300", "Hfluaklab{run}"
USER = "Runscope300Hfluaklab{run}@example.com"
USER_CAPS = "RUNSCOPE300HFLUAKLAB{run|upper}@EXAMPLE.COM"
EMAIL = "Runscope300Hfluaklab{run}.mail@example.com"
ASSIGNED = "test.user.{run}@okta.local"
GROUP = "Test SCIMv2 {run}"
PATCHED = 200, 204
"""[REF]: "The SCIM server response to PATCH method requests can also be a HTTP 204 response"."""

OKTA_USER = {
    "schemas": [USER_URN],
    "userName": USER,
    "name": {"givenName": GIVEN, "familyName": FAMILY},
    "emails": [{"primary": True, "value": EMAIL, "type": "work"}],
    "displayName": f"{GIVEN} {FAMILY}",
    "active": True,
}

STEPS: list[Step] = [
    # [PREPARE] "Create at least one user in your SCIM server before running the Okta SCIM API
    # test suite": R1 and R2 read the first user the server lists.
    Step(
        "Prerequisite: a user exists",
        "POST",
        "/Users",
        headers=SPEC_HEADERS,
        body={
            "schemas": [USER_URN],
            "userName": SEED,
            "name": {"givenName": "Seed", "familyName": "User"},
            "emails": [{"primary": True, "value": SEED, "type": "work"}],
            "active": True,
        },
        status=201,
        capture={"seed_id": "/id"},
    ),
    # --- [SPEC] ------------------------------------------------------------------------------
    Step(
        "R1 Required Test: Test Users endpoint",
        "GET",
        "/Users?count=1&startIndex=1",
        headers=SPEC_HEADERS,
        contains={"/schemas": LIST_URN},
        types={"/itemsPerPage": "integer", "/startIndex": "integer", "/totalResults": "integer"},
        present=(
            "/Resources/0/id",
            "/Resources/0/name/familyName",
            "/Resources/0/name/givenName",
            "/Resources/0/userName",
            "/Resources/0/active",
            "/Resources/0/emails/0/value",
        ),
        capture={"isv_user_id": "/Resources/0/id"},
    ),
    Step(
        "R2 Required Test: Get Users/{{id}}",
        "GET",
        "/Users/{isv_user_id}",
        headers=SPEC_HEADERS,
        equals={"/id": "{isv_user_id}"},
        present=("/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"),
    ),
    Step(
        "R3 Required Test: Test invalid User by username",
        "GET",
        '/Users?filter=userName eq "abcdefgh{run}@example.com"',
        headers=SPEC_HEADERS,
        equals={"/totalResults": 0},
        contains={"/schemas": LIST_URN},
    ),
    Step(
        "R4 Required Test: Test invalid User by ID",
        "GET",
        "/Users/010101001010101011001010101011",
        headers=SPEC_HEADERS,
        status=404,
        present=("/detail",),
        contains={"/schemas": ERROR_URN},
    ),
    Step(
        "R5 Required Test: Make sure random user doesn't exist",
        "GET",
        f'/Users?filter=userName eq "{USER}"',
        headers=SPEC_HEADERS,
        equals={"/totalResults": 0},
        contains={"/schemas": LIST_URN},
    ),
    Step(
        "R6 Required Test: Create Okta user with realistic values",
        "POST",
        "/Users",
        headers=JSON_HEADERS,
        body=OKTA_USER,
        status=201,
        equals={
            "/active": True,
            "/name/familyName": FAMILY,
            "/name/givenName": GIVEN,
            "/userName": USER,
        },
        present=("/id",),
        contains={"/schemas": USER_URN},
        capture={"user_id": "/id"},
    ),
    Step(
        "R7 Required Test: Verify that user was created",
        "GET",
        "/Users/{user_id}",
        headers=SPEC_HEADERS,
        equals={"/userName": USER, "/name/familyName": FAMILY, "/name/givenName": GIVEN},
    ),
    # [SPEC] R8 reuses randomUsername as the email value; the conflict is on userName.
    Step(
        "R8 Required Test: Expect failure when recreating user with same values",
        "POST",
        "/Users",
        headers=JSON_HEADERS,
        body={**OKTA_USER, "emails": [{"primary": True, "value": USER, "type": "work"}]},
        status=409,
    ),
    # [SPEC] asserts only the 200; userName is caseExact=false (RFC 7643 section 4.1.1), which
    # is what this check is named for, so the upper-cased name must find the user.
    Step(
        "R9 Required Test: Username Case Sensitivity Check",
        "GET",
        f'/Users?filter=userName eq "{USER_CAPS}"',
        headers=SPEC_HEADERS,
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}"},
    ),
    Step(
        "R10 Optional Test: Verify Groups endpoint",
        "GET",
        "/Groups",
        headers=SPEC_HEADERS,
        max_ms=600,
    ),
    Step(
        "R11 Required Test: Check status 401",
        "GET",
        f'/Users?filter=userName eq "{USER}"',
        headers=SPEC_HEADERS,
        authorization="non-token",
        status=401,
        equals={"/status": "401"},
        present=("/detail",),
        contains={"/schemas": ERROR_URN},
    ),
    Step(
        "R12 Required Test: Check status 404",
        "GET",
        "/Users/00919288221112222",
        headers=SPEC_HEADERS,
        status=404,
        equals={"/status": "404"},
        present=("/detail",),
        contains={"/schemas": ERROR_URN},
    ),
    # --- [REF] users -------------------------------------------------------------------------
    Step(
        "Import users (startIndex=1&count=100)",
        "GET",
        "/Users?startIndex=1&count=100",
        headers=CLIENT_HEADERS,
        types={"/itemsPerPage": "integer", "/startIndex": "integer", "/totalResults": "integer"},
        present=("/Resources/0/id",),
    ),
    Step(
        "Assign: determine if the user already exists",
        "GET",
        "/Users?filter=userName%20eq%20%22test.user.{run}%40okta.local%22&startIndex=1&count=100",
        headers=CLIENT_HEADERS,
        equals={"/totalResults": 0},
        count={"/Resources": 0},
    ),
    # [REF] Create the User: Okta sends groups [] and a password along with the profile.
    Step(
        "Assign: create the user",
        "POST",
        "/Users",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [USER_URN],
            "userName": ASSIGNED,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": ASSIGNED, "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7{run}",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
        status=201,
        equals={"/userName": ASSIGNED, "/externalId": "00ujl29u0le5T6Aj10h7{run}"},
        absent=("/password",),
        capture={"assigned_id": "/id"},
    ),
    Step(
        "Update: retrieve the user",
        "GET",
        "/Users/{assigned_id}",
        headers=CLIENT_HEADERS,
        equals={"/id": "{assigned_id}", "/active": True},
    ),
    # [REF] Update the User (PUT): the whole object back, with id, meta and groups.
    Step(
        "Update: PUT the changed user",
        "PUT",
        "/Users/{assigned_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [USER_URN],
            "id": "{assigned_id}",
            "userName": ASSIGNED,
            "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
            "emails": [{"primary": True, "value": ASSIGNED, "type": "work", "display": ASSIGNED}],
            "active": True,
            "groups": [],
            "meta": {"resourceType": "User"},
        },
        equals={
            "/id": "{assigned_id}",
            "/name/givenName": "Another",
            "/name/middleName": "Excited",
        },
    ),
    Step(
        "Deactivate the user",
        "PATCH",
        "/Users/{assigned_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        status=PATCHED,
    ),
    Step(
        "Deactivated user is still there",
        "GET",
        "/Users/{assigned_id}",
        headers=CLIENT_HEADERS,
        equals={"/active": False, "/name/givenName": "Another"},
    ),
    Step(
        "Reactivate the user",
        "PATCH",
        "/Users/{assigned_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "value": {"active": True}}],
        },
        status=PATCHED,
    ),
    # --- [REF] Push Groups -------------------------------------------------------------------
    Step(
        "Import groups (startIndex=1&count=100)",
        "GET",
        "/Groups?startIndex=1&count=100",
        headers=CLIENT_HEADERS,
        types={"/itemsPerPage": "integer", "/startIndex": "integer", "/totalResults": "integer"},
        max_ms=600,
    ),
    Step(
        "Push group: create",
        "POST",
        "/Groups",
        headers=CLIENT_HEADERS,
        body={"schemas": [GROUP_URN], "displayName": GROUP, "members": []},
        status=201,
        equals={"/displayName": GROUP},
        count={"/members": 0},
        capture={"group_id": "/id"},
    ),
    Step(
        "Push group: retrieve",
        "GET",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        equals={"/id": "{group_id}", "/displayName": GROUP},
    ),
    # [REF] "Update a specific Group name": pathless replace carrying the (read-only) id.
    Step(
        "Push group: rename",
        "PATCH",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {"op": "replace", "value": {"id": "{group_id}", "displayName": GROUP + "0"}}
            ],
        },
        status=PATCHED,
    ),
    # [REF] "Update specific Group membership": the seed user is first added like any member.
    Step(
        "Push group: add members",
        "PATCH",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {"value": "{seed_id}", "display": SEED},
                        {"value": "{user_id}", "display": USER},
                    ],
                }
            ],
        },
        status=PATCHED,
    ),
    # [REF] the documented membership PATCH: remove one member by filter, add another.
    Step(
        "Push group: remove one member and add another",
        "PATCH",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {"op": "remove", "path": 'members[value eq "{seed_id}"]'},
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": "{assigned_id}", "display": ASSIGNED}],
                },
            ],
        },
        status=PATCHED,
    ),
    Step(
        "Push group: check name and members",
        "GET",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        equals={"/displayName": GROUP + "0"},
        contains={"/members": {"value": "{assigned_id}"}},
        excludes={"/members": {"value": "{seed_id}"}},
        count={"/members": 2},
    ),
    # [REF] "a full push of the membership ... using the replace operation".
    Step(
        "Push group: full membership push (replace)",
        "PATCH",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "replace",
                    "path": "members",
                    "value": [
                        {"value": "{assigned_id}", "display": ASSIGNED},
                        {"value": "{seed_id}", "display": SEED},
                    ],
                }
            ],
        },
        status=PATCHED,
    ),
    Step(
        "Push group: members after full push",
        "GET",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        contains={"/members": {"value": "{seed_id}"}},
        excludes={"/members": {"value": "{user_id}"}},
        count={"/members": 2},
    ),
    # [EMPTY-PUSH]
    Step(
        "Push group: push an empty group (replace members [])",
        "PATCH",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "path": "members", "value": []}],
        },
        status=PATCHED,
    ),
    Step(
        "Push group: emptied",
        "GET",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        count={"/members": 0},
    ),
    # [REF] "Delete a specific Group" (Unlink pushed group > Delete the group in the target app).
    Step(
        "Unlink pushed group: delete",
        "DELETE",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        status=204,
    ),
    Step(
        "Deleted group is gone",
        "GET",
        "/Groups/{group_id}",
        headers=CLIENT_HEADERS,
        status=404,
        contains={"/schemas": ERROR_URN},
    ),
    # [REF] "Okta doesn't perform DELETE operations on User objects": unassigning deactivates.
    Step(
        "Unassign: deactivate the user",
        "PATCH",
        "/Users/{user_id}",
        headers=CLIENT_HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        status=PATCHED,
    ),
    Step(
        "Unassigned user is inactive, not gone",
        "GET",
        f'/Users?filter=userName eq "{USER}"',
        headers=CLIENT_HEADERS,
        equals={"/totalResults": 1, "/Resources/0/active": False},
    ),
]
