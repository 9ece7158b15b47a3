"""Helpers shared by the PATCH test modules (test_patch_*.py).

Every successful PATCH is checked the same way (``patched``): 200, an ETag equal
to ``meta.version``, the version bumped by exactly one when something changed
(the whole resource unchanged otherwise), and a following GET equal to the body.
"""

from __future__ import annotations

from typing import Any

from tests.scim.helpers import group, patch, user


def version(body: dict[str, Any]) -> int:
    return int(body["meta"]["version"].removeprefix('W/"').removesuffix('"'))


def patched(scim, location: str, *operations: dict[str, Any], changed: bool = True) -> dict:
    """PATCH ``location``: 200, the version rule, and a GET showing the same body."""
    before = scim.get(location).json()
    response = scim.patch(location, json=patch(*operations))
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["etag"] == body["meta"]["version"]
    if changed:
        assert version(body) == version(before) + 1
        assert body["meta"]["created"] == before["meta"]["created"]
    else:
        assert body == before
    assert scim.get(location).json() == body
    return body


def new_user(scim, **attributes: Any) -> str:
    created = scim.post("/Users", json=user(**attributes))
    assert created.status_code == 201, created.text
    return f"/Users/{created.json()['id']}"


def new_group(scim, name: str, *member_ids: str, **attributes: Any) -> str:
    created = scim.post("/Groups", json={**group(name, *member_ids), **attributes})
    assert created.status_code == 201, created.text
    return f"/Groups/{created.json()['id']}"


def user_ids(scim, count: int) -> list[str]:
    return [scim.post("/Users", json=user()).json()["id"] for _ in range(count)]


def member_ids(body: dict[str, Any]) -> list[str]:
    return sorted(member["value"] for member in body.get("members", []))
