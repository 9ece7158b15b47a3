"""Microsoft Entra ID (Azure AD) provisioning service, as Microsoft documents it.

Sources (request bodies and paths are taken from their examples; values made unique per run):

[TUTORIAL] "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
    https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
    (sections "SCIM protocol requests and responses" -> User Operations / Group Operations /
    Schema discovery; "Handling provisioning and deprovisioning of users", Examples 1-6;
    "Integrate your SCIM endpoint" -> Test Connection).
[KNOWN] "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
    user provisioning service",
    https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
    (the default requests versus those sent with the ``aadOptscim062020`` tenant-URL flag).
[VALIDATOR] "Tutorial: Validate a SCIM endpoint" (Microsoft Entra SCIM Validator),
    https://learn.microsoft.com/en-us/entra/identity/app-provisioning/scim-validator-tutorial
    (the validator replays the [TUTORIAL] user and group sequences with generated values).

Entra sends ``Content-Type: application/scim+json``, emits PATCH ``op`` as ``Add``/``Replace``/
``Remove`` by default (lower case with the flag), checks for an existing user with a filter before
every create, soft-deletes with ``active`` before it hard-deletes, and reads groups with
``excludedAttributes=members``.
"""

from __future__ import annotations

from conformance.flows.runner import (
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    LIST_URN,
    PATCH_URN,
    USER_URN,
    Step,
)

USER = "Test_User_{run}@testuser.com"
MAIL = "Test_User_mail_{run}@testuser.com"
EXTERNAL_ID = "0a21f0f2-{run}"
MANAGER = "Test_Manager_{run}@testuser.com"
GROUP = "Test_Group_{run}"
PATCHED = 200, 204
"""[TUTORIAL] asks for 204 on group PATCH; Entra accepts 200 with the resource as well."""

STEPS: list[Step] = [
    # --- Connection and schema discovery -------------------------------------------------
    # [TUTORIAL] Integrate > Test Connection: "queries the SCIM endpoint for a user that doesn't
    # exist, using a random GUID ... The expected correct response is HTTP 200 OK with an empty
    # SCIM ListResponse message." Entra encodes the filter with '+' for spaces.
    Step(
        "Test Connection: filter a user that does not exist",
        "GET",
        "/Users?filter=userName+eq+%22{run}-0000-4000-8000-000000000000%22",
        equals={"/totalResults": 0},
        contains={"/schemas": LIST_URN},
        count={"/Resources": 0},
    ),
    # [TUTORIAL] Schema discovery > Discover schema: GET /Schemas, a ListResponse.
    Step(
        "Discover schema",
        "GET",
        "/Schemas",
        contains={"/schemas": LIST_URN, "/Resources": {"id": USER_URN}},
    ),
    # --- User lifecycle ----------------------------------------------------------------------
    # [TUTORIAL] Get User by query - Zero results; Example 2: "If the response to a query ...
    # doesn't return any users, then Microsoft Entra ID requests that the service provision a user".
    Step(
        "Get User by query - zero results",
        "GET",
        f"/Users?filter=userName%20eq%20%22{USER}%22",
        equals={"/totalResults": 0},
        count={"/Resources": 0},
    ),
    # [TUTORIAL] Create User: body as documented (meta, empty roles, enterprise schema URN).
    Step(
        "Create User",
        "POST",
        "/Users",
        body={
            "schemas": [USER_URN, ENTERPRISE_URN],
            "externalId": EXTERNAL_ID,
            "userName": USER,
            "active": True,
            "emails": [{"primary": True, "type": "work", "value": MAIL}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [],
        },
        status=201,
        equals={"/userName": USER, "/externalId": EXTERNAL_ID, "/active": True},
        contains={"/emails": {"value": MAIL, "type": "work", "primary": True}},
        capture={"user_id": "/id"},
    ),
    # [TUTORIAL] Get User.
    Step(
        "Get User",
        "GET",
        "/Users/{user_id}",
        equals={"/id": "{user_id}", "/userName": USER, "/name/familyName": "familyName"},
    ),
    # [TUTORIAL] Get User by query.
    Step(
        "Get User by query (userName)",
        "GET",
        f"/Users?filter=userName%20eq%20%22{USER}%22",
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}"},
    ),
    # [TUTORIAL] Example 1: the matching attribute may be externalId, sent unquoted:
    # "GET https://.../scim/Users?filter=externalId eq jyoung".
    Step(
        "Query by externalId (unquoted, as in Example 1)",
        "GET",
        f"/Users?filter=externalId%20eq%20{EXTERNAL_ID}",
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}"},
    ),
    # [TUTORIAL] /Users: "if user uniqueness is evaluated for both userName and
    # emails[type eq "work"], a GET to /Users with a filter must allow for both".
    Step(
        "Query by work email",
        "GET",
        f"/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22{MAIL}%22",
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}"},
    ),
    # A second user, to become the first one's manager ([TUTORIAL] Examples 4 and 5).
    Step(
        "Create User (the manager)",
        "POST",
        "/Users",
        body={
            "schemas": [USER_URN, ENTERPRISE_URN],
            "externalId": "mgr-{run}",
            "userName": MANAGER,
            "active": True,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": MANAGER, "primary": True}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "Young", "givenName": "Joy"},
        },
        status=201,
        capture={"manager_id": "/id"},
    ),
    # [TUTORIAL] Update User [Multi-valued properties].
    Step(
        "Update User [Multi-valued properties]",
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "updatedEmail_{run}@microsoft.com",
                },
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            ],
        },
        equals={"/name/familyName": "updatedFamilyName"},
        contains={"/emails": {"type": "work", "value": "updatedEmail_{run}@microsoft.com"}},
        count={"/emails": 1},
    ),
    # [TUTORIAL] Update User [Single-valued properties].
    Step(
        "Update User [Single-valued properties]",
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "Replace", "path": "userName", "value": "renamed_" + USER}],
        },
        equals={"/userName": "renamed_" + USER},
    ),
    # [KNOWN] "Requests to replace multiple attributes", without the flag: one Replace per path,
    # including externalId and a URN-qualified enterprise attribute.
    Step(
        "Replace multiple attributes (default)",
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Pvlo"},
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "TestBcwqnm_{run}@test.microsoft.com",
                },
                {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
                {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
                {"op": "Replace", "path": "externalId", "value": "Eqpj-{run}"},
                {"op": "Replace", "path": f"{ENTERPRISE_URN}:employeeNumber", "value": "Eqpj"},
            ],
        },
        equals={
            "/displayName": "Pvlo",
            "/name/givenName": "Gtfd",
            "/name/familyName": "Pkqf",
            "/externalId": "Eqpj-{run}",
            f"/{ENTERPRISE_URN}/employeeNumber": "Eqpj",
        },
        contains={"/emails": {"type": "work", "value": "TestBcwqnm_{run}@test.microsoft.com"}},
    ),
    # [KNOWN] the same with aadOptscim062020: a pathless replace whose value holds dotted and
    # URN-qualified keys. The flag is part of the tenant URL, so it is sent as a query parameter.
    Step(
        "Replace multiple attributes (aadOptscim062020: pathless, dotted keys)",
        "PATCH",
        "/Users/{user_id}?aadOptscim062020",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "TestMhvaes_{run}@test.microsoft.com",
                },
                {
                    "op": "replace",
                    "value": {
                        "displayName": "Bjfe",
                        "name.givenName": "Kkom",
                        "name.familyName": "Unua",
                        f"{ENTERPRISE_URN}:employeeNumber": "Aklq",
                    },
                },
            ],
        },
        equals={
            "/displayName": "Bjfe",
            "/name/givenName": "Kkom",
            "/name/familyName": "Unua",
            f"/{ENTERPRISE_URN}/employeeNumber": "Aklq",
        },
        contains={"/emails": {"type": "work", "value": "TestMhvaes_{run}@test.microsoft.com"}},
    ),
    # [KNOWN] "Requests made to add a single-value string attribute", without the flag.
    Step(
        "Add a single-value string attribute",
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "Add", "path": "nickName", "value": "Babs"}],
        },
        equals={"/nickName": "Babs"},
    ),
    # [TUTORIAL] Example 5: "request ... to update a user" (the manager reference).
    Step(
        "Add manager (Example 5)",
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "Add",
                    "path": "manager",
                    "value": [
                        {"$ref": "http://.../scim/Users/{manager_id}", "value": "{manager_id}"}
                    ],
                }
            ],
        },
        equals={f"/{ENTERPRISE_URN}/manager/value": "{manager_id}"},
    ),
    # [TUTORIAL] Example 4: "determine whether the manager attribute of a user object currently
    # has a certain value": a filter on ID and manager, asking for the id only.
    Step(
        "Query the manager reference (Example 4)",
        "GET",
        "/Users?filter=id%20eq%20%22{user_id}%22%20and%20manager%20eq%20%22{manager_id}%22"
        "&attributes=id",
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}"},
    ),
    # [KNOWN] "Requests made to disable users", without the flag: the boolean as a string.
    Step(
        'Disable User (default: value "False")',
        "PATCH",
        "/Users/{user_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
        equals={"/active": False},
    ),
    # [TUTORIAL] "The user object should be returned in a request whether or not the user is
    # active. The only time the user shouldn't be returned is when it's hard deleted."
    Step(
        "Get disabled User",
        "GET",
        "/Users/{user_id}",
        equals={"/id": "{user_id}", "/active": False},
    ),
    Step(
        "Query disabled User",
        "GET",
        f"/Users?filter=userName+eq+%22renamed_{USER}%22",
        equals={"/totalResults": 1, "/Resources/0/active": False},
    ),
    # [KNOWN] with the flag: a real boolean and a lower-case op ([TUTORIAL]: "restoring the
    # user active=true").
    Step(
        "Restore User (aadOptscim062020: value true)",
        "PATCH",
        "/Users/{user_id}?aadOptscim062020",
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "path": "active", "value": True}],
        },
        equals={"/active": True},
    ),
    # RFC 7644 section 3.3: a POST whose userName is taken is 409 with scimType "uniqueness";
    # Entra treats the 409 as "already exists" and matches instead of failing the cycle.
    Step(
        "Create User with a taken userName",
        "POST",
        "/Users",
        body={
            "schemas": [USER_URN],
            "externalId": "dup-{run}",
            "userName": MANAGER,
            "active": True,
        },
        status=409,
        equals={"/status": "409", "/scimType": "uniqueness"},
        contains={"/schemas": ERROR_URN},
    ),
    # --- Group lifecycle (group objects come after their members' users) ---------------------
    # [TUTORIAL] Get Group by displayName, before the create.
    Step(
        "Get Group by displayName - zero results",
        "GET",
        f"/Groups?excludedAttributes=members&filter=displayName%20eq%20%22{GROUP}%22",
        equals={"/totalResults": 0},
        count={"/Resources": 0},
    ),
    # [TUTORIAL] Create Group: note the extra Microsoft schema URN and the client-sent meta.
    Step(
        "Create Group",
        "POST",
        "/Groups",
        body={
            "schemas": [
                GROUP_URN,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0-{run}",
            "displayName": GROUP,
            "meta": {"resourceType": "Group"},
        },
        status=201,
        equals={"/displayName": GROUP, "/externalId": "8aa1a0c0-{run}"},
        count={"/members": 0},
        capture={"group_id": "/id"},
    ),
    # [TUTORIAL] Get Group.
    Step(
        "Get Group (excludedAttributes=members)",
        "GET",
        "/Groups/{group_id}?excludedAttributes=members",
        equals={"/id": "{group_id}", "/displayName": GROUP},
        absent=("/members",),
    ),
    # [TUTORIAL] Get Group by displayName.
    Step(
        "Get Group by displayName",
        "GET",
        f"/Groups?excludedAttributes=members&filter=displayName%20eq%20%22{GROUP}%22",
        equals={"/totalResults": 1, "/Resources/0/id": "{group_id}"},
        absent=("/Resources/0/members",),
    ),
    # [TUTORIAL] Update Group [Non-member attributes].
    Step(
        "Update Group [Non-member attributes]",
        "PATCH",
        "/Groups/{group_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": GROUP + "updatedDisplayName"}
            ],
        },
        status=PATCHED,
    ),
    # [TUTORIAL] Update Group [Add Members]; gallery checklist: "Support updating multiple group
    # memberships with a single PATCH", so both users go in one operation.
    Step(
        "Update Group [Add Members]",
        "PATCH",
        "/Groups/{group_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {
                    "op": "Add",
                    "path": "members",
                    "value": [
                        {"$ref": None, "value": "{user_id}"},
                        {"$ref": None, "value": "{manager_id}"},
                    ],
                }
            ],
        },
        status=PATCHED,
    ),
    Step(
        "Get Group after rename and member add",
        "GET",
        "/Groups/{group_id}",
        equals={"/displayName": GROUP + "updatedDisplayName"},
        contains={"/members": {"value": "{user_id}"}},
        count={"/members": 2},
    ),
    # [TUTORIAL] Update Group [Remove Members] and [KNOWN] "Requests made to remove a group
    # member", without the flag: Remove with a value array removes only those members.
    Step(
        "Update Group [Remove Members] (default: value array)",
        "PATCH",
        "/Groups/{group_id}",
        body={
            "schemas": [PATCH_URN],
            "Operations": [
                {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "{user_id}"}]}
            ],
        },
        status=PATCHED,
    ),
    Step(
        "Get Group after member remove",
        "GET",
        "/Groups/{group_id}",
        contains={"/members": {"value": "{manager_id}"}},
        excludes={"/members": {"value": "{user_id}"}},
        count={"/members": 1},
    ),
    # [KNOWN] the same with aadOptscim062020: a filtered path and no value.
    Step(
        "Remove member (aadOptscim062020: members[value eq ...])",
        "PATCH",
        "/Groups/{group_id}?aadOptscim062020",
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "remove", "path": 'members[value eq "{manager_id}"]'}],
        },
        status=PATCHED,
    ),
    Step("Get emptied Group", "GET", "/Groups/{group_id}", count={"/members": 0}),
    # [TUTORIAL] Delete Group, then the group is gone.
    Step("Delete Group", "DELETE", "/Groups/{group_id}", status=204),
    Step(
        "Get deleted Group",
        "GET",
        "/Groups/{group_id}?excludedAttributes=members",
        status=404,
        contains={"/schemas": ERROR_URN},
    ),
    # [TUTORIAL] Delete User (Example 6), then Get User: "User not found ... only status".
    Step("Delete User", "DELETE", "/Users/{user_id}", status=204),
    Step(
        "Get deleted User",
        "GET",
        "/Users/{user_id}",
        status=404,
        equals={"/status": "404"},
        contains={"/schemas": ERROR_URN},
    ),
    Step("Delete User (the manager)", "DELETE", "/Users/{manager_id}", status=204),
    Step(
        "Query deleted User",
        "GET",
        f"/Users?filter=userName%20eq%20%22{MANAGER}%22",
        equals={"/totalResults": 0},
        count={"/Resources": 0},
    ),
]
