"""OneLogin "SCIM Provisioner with SAML (SCIM v2 Core)", as OneLogin documents it.

Sources:

[IMPLEMENT] OneLogin Developers, "Step 2. Implement RESTful SCIM APIs for Your App",
    https://developers.onelogin.com/scim/implement-scim-api
    The calls OneLogin makes: Get User with userName filter, Create User, Get User by ID,
    Update User, Get Groups, Create Group, Patch Group, Delete User, Get Users. Example API
    Flow: (1) initial connection = Get User by userName with a value known not to exist,
    answered by an empty list (or 404); (2) provisioning = Get User by userName, then Create
    User if none; later steps vary. "the content type header for all responses must be of
    type application/json" (OneLogin sends JSON as application/json).
[SCHEMA] OneLogin Developers, "Step 1. Define Your SCIM User Schema",
    https://developers.onelogin.com/scim/define-user-schema
    The SCIM JSON template: userName from the ``scimusername`` parameter (usually the email),
    name.givenName/familyName/formatted, and, in the Enterprise template, ``emails`` as ONE
    object rather than a list.
[TEST] OneLogin Developers, "Step 4. Test Your SCIM Implementation",
    https://developers.onelogin.com/scim/test-your-scim
    ("When users are deleted in OneLogin": Delete, Suspend or Do Nothing).
[SAMPLE] onelogin/onelogin-scim-node (OneLogin's sample SCIM server for its provisioner),
    https://github.com/onelogin/onelogin-scim-node
    Routes: GET/POST /Users, GET/PUT/DELETE /Users/:id, GET/POST /Groups, PATCH /Groups/:id;
    Update User is a PUT of userName, name and active.
OneLogin does not publish the body of its Patch Group call; the member add and remove below
use the RFC 7644 section 3.5.2 forms ("path": "members" with a value list; a
``members[value eq "id"]`` filter to remove), which is what a SCIM v2 server must accept.
"""

from __future__ import annotations

from conformance.flows.runner import ERROR_URN, GROUP_URN, LIST_URN, PATCH_URN, USER_URN, Step

HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
EMAIL = "kelly.slater.{run}@example.com"
GROUP = "Admin Role {run}"
PATCHED = 200, 204


def _user(family_name: str, active: bool) -> dict[str, object]:
    """The SCIM v2 Core JSON template, rendered for one user ([SCHEMA], emails as an object)."""
    return {
        "schemas": [USER_URN],
        "userName": EMAIL,
        "name": {
            "givenName": "Kelly",
            "familyName": family_name,
            "formatted": f"Kelly {family_name}",
        },
        "emails": {"value": EMAIL, "type": "work", "primary": True},
        "active": active,
    }


STEPS: list[Step] = [
    # [IMPLEMENT] (1) Initial connection: "a userName filter value that it knows is non-existent";
    # "respond with an empty array of users or alternately a 404 Not Found status".
    Step(
        "Initial connection: Get User by userName (non-existent)",
        "GET",
        '/Users?filter=userName eq "onelogin-connection-check-{run}@example.com"',
        headers=HEADERS,
        status=(200, 404),
    ),
    # [IMPLEMENT] (2) Provisioning request: Get User by userName, then Create User.
    Step(
        "Get User with userName filter (before create)",
        "GET",
        f'/Users?filter=userName eq "{EMAIL}"',
        headers=HEADERS,
        equals={"/totalResults": 0},
        contains={"/schemas": LIST_URN},
        count={"/Resources": 0},
    ),
    Step(
        "Create User (emails as one object)",
        "POST",
        "/Users",
        headers=HEADERS,
        body=_user("Slater", active=True),
        status=201,
        equals={
            "/userName": EMAIL,
            "/name/givenName": "Kelly",
            "/name/familyName": "Slater",
            "/active": True,
        },
        contains={"/emails": {"value": EMAIL, "type": "work"}},
        capture={"user_id": "/id"},
    ),
    Step(
        "Get User by ID",
        "GET",
        "/Users/{user_id}",
        headers=HEADERS,
        equals={"/id": "{user_id}", "/userName": EMAIL},
    ),
    # RFC 7644 section 3.3: the same userName again is 409 "uniqueness" (OneLogin then links).
    Step(
        "Create User again (taken userName)",
        "POST",
        "/Users",
        headers=HEADERS,
        body=_user("Slater", active=True),
        status=409,
        equals={"/status": "409", "/scimType": "uniqueness"},
        contains={"/schemas": ERROR_URN},
    ),
    # [IMPLEMENT] Update User; [SAMPLE] it is a PUT of the whole template.
    Step(
        "Update User (PUT)",
        "PUT",
        "/Users/{user_id}",
        headers=HEADERS,
        body=_user("Slater-Jones", active=True),
        equals={"/id": "{user_id}", "/name/familyName": "Slater-Jones", "/active": True},
        contains={"/emails": {"value": EMAIL}},
    ),
    # [TEST] "When users are deleted in OneLogin... Suspend": the same PUT with active false.
    Step(
        "Suspend User (PUT active false)",
        "PUT",
        "/Users/{user_id}",
        headers=HEADERS,
        body=_user("Slater-Jones", active=False),
        equals={"/active": False},
    ),
    Step(
        "Get suspended User by userName",
        "GET",
        f'/Users?filter=userName eq "{EMAIL}"',
        headers=HEADERS,
        equals={"/totalResults": 1, "/Resources/0/id": "{user_id}", "/Resources/0/active": False},
    ),
    Step(
        "Unsuspend User (PUT active true)",
        "PUT",
        "/Users/{user_id}",
        headers=HEADERS,
        body=_user("Slater-Jones", active=True),
        equals={"/active": True},
    ),
    # [IMPLEMENT] Get Groups: what OneLogin lists when an admin refreshes entitlements.
    Step(
        "Get Groups",
        "GET",
        "/Groups",
        headers=HEADERS,
        contains={"/schemas": LIST_URN},
        types={"/totalResults": "integer"},
    ),
    # [IMPLEMENT] Create Group.
    Step(
        "Create Group",
        "POST",
        "/Groups",
        headers=HEADERS,
        body={"schemas": [GROUP_URN], "displayName": GROUP, "members": []},
        status=201,
        equals={"/displayName": GROUP},
        capture={"group_id": "/id"},
    ),
    # [IMPLEMENT] Patch Group: a rule assigns the user to the group.
    Step(
        "Patch Group: add member",
        "PATCH",
        "/Groups/{group_id}",
        headers=HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "{user_id}"}]}],
        },
        status=PATCHED,
    ),
    Step(
        "Group holds the member",
        "GET",
        "/Groups/{group_id}",
        headers=HEADERS,
        contains={"/members": {"value": "{user_id}"}},
        count={"/members": 1},
    ),
    Step(
        "Patch Group: remove member",
        "PATCH",
        "/Groups/{group_id}",
        headers=HEADERS,
        body={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "remove", "path": 'members[value eq "{user_id}"]'}],
        },
        status=PATCHED,
    ),
    Step(
        "Group is empty",
        "GET",
        "/Groups/{group_id}",
        headers=HEADERS,
        count={"/members": 0},
    ),
    # [IMPLEMENT] Delete User ([TEST] "When users are deleted in OneLogin... Delete").
    Step("Delete User", "DELETE", "/Users/{user_id}", headers=HEADERS, status=204),
    Step(
        "Get deleted User by ID",
        "GET",
        "/Users/{user_id}",
        headers=HEADERS,
        status=404,
        contains={"/schemas": ERROR_URN},
    ),
    # [IMPLEMENT] Get Users.
    Step(
        "Get Users",
        "GET",
        "/Users",
        headers=HEADERS,
        contains={"/schemas": LIST_URN},
        excludes={"/Resources": {"id": "{user_id}"}},
        types={"/totalResults": "integer", "/startIndex": "integer", "/itemsPerPage": "integer"},
    ),
    # Not a OneLogin call: removes this run's group so repeated runs leave nothing behind.
    Step("Clean up: delete the group", "DELETE", "/Groups/{group_id}", status=204),
]
