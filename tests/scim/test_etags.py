"""Versions as weak ETags and the conditional headers (RFC 7644 §3.14)."""

from __future__ import annotations

from tests.scim.helpers import assert_scim_error, group, patch, user


def test_get_with_current_etag_in_if_none_match_is_304(scim):
    created = scim.post("/Users", json=user())
    etag = created.headers["etag"]
    response = scim.get(f"/Users/{created.json()['id']}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag
    changed = scim.get(f"/Users/{created.json()['id']}", headers={"If-None-Match": 'W/"0"'})
    assert changed.status_code == 200


def test_if_match_with_stale_version_is_412_and_changes_nothing(scim):
    created = scim.post("/Users", json=user(title="v1")).json()
    uid = created["id"]
    scim.patch(f"/Users/{uid}", json=patch({"op": "replace", "path": "title", "value": "v2"}))
    stale = {"If-Match": 'W/"1"'}
    assert_scim_error(
        scim.patch(
            f"/Users/{uid}",
            json=patch({"op": "replace", "path": "title", "value": "v3"}),
            headers=stale,
        ),
        412,
    )
    assert_scim_error(scim.put(f"/Users/{uid}", json=user(created["userName"]), headers=stale), 412)
    assert_scim_error(scim.delete(f"/Users/{uid}", headers=stale), 412)
    assert scim.get(f"/Users/{uid}").json()["title"] == "v2"


def test_if_match_with_current_version_or_star_succeeds(scim):
    created = scim.post("/Users", json=user())
    uid = created.json()["id"]
    ok = scim.patch(
        f"/Users/{uid}",
        json=patch({"op": "replace", "path": "title", "value": "x"}),
        headers={"If-Match": created.headers["etag"]},
    )
    assert ok.status_code == 200
    assert scim.delete(f"/Users/{uid}", headers={"If-Match": "*"}).status_code == 204


def test_group_member_change_moves_the_group_etag(scim):
    uid = scim.post("/Users", json=user()).json()["id"]
    created = scim.post("/Groups", json=group("Team"))
    gid = created.json()["id"]
    scim.patch(
        f"/Groups/{gid}", json=patch({"op": "add", "path": "members", "value": [{"value": uid}]})
    )
    response = scim.get(f"/Groups/{gid}", headers={"If-None-Match": created.headers["etag"]})
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"2"'
    assert_scim_error(
        scim.patch(
            f"/Groups/{gid}",
            json=patch({"op": "remove", "path": "members"}),
            headers={"If-Match": created.headers["etag"]},
        ),
        412,
    )


def test_stale_if_match_fails_even_when_the_patch_changes_nothing(scim):
    created = scim.post("/Users", json=user(title="same")).json()
    uid = created["id"]
    scim.patch(f"/Users/{uid}", json=patch({"op": "replace", "path": "title", "value": "new"}))
    response = scim.patch(
        f"/Users/{uid}",
        json=patch({"op": "replace", "path": "title", "value": "new"}),
        headers={"If-Match": 'W/"1"'},
    )
    assert_scim_error(response, 412)
