"""sortBy/sortOrder (RFC 7644 §3.4.2.3), index pages and cursor pages (RFC 9865)."""

from __future__ import annotations

import pytest

from tests.scim.helpers import assert_scim_error, group, user

NAMES = ["delta", "Alpha", "charlie", "bravo", "echo", "foxtrot", "golf"]


@pytest.fixture
def named(scim):
    """Seven users with distinct names; two lack a title, so they sort last."""
    made = {}
    for i, name in enumerate(NAMES):
        extra = {"title": f"t{i % 3}"} if i < 5 else {}
        made[name] = scim.post("/Users", json=user(f"{name}@example.com", **extra)).json()
    return made


def _names(body):
    return [r["userName"].split("@")[0] for r in body["Resources"]]


def test_sort_by_user_name_ascending_and_descending_ignores_case(scim, named):
    up = scim.get("/Users", params={"sortBy": "userName"}).json()
    assert _names(up) == sorted(NAMES, key=str.lower)
    down = scim.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"}).json()
    assert _names(down) == sorted(NAMES, key=str.lower, reverse=True)


def test_missing_values_sort_last_in_both_directions(scim, named):
    for order in ("ascending", "descending"):
        body = scim.get("/Users", params={"sortBy": "title", "sortOrder": order}).json()
        titles = [r.get("title") for r in body["Resources"]]
        assert titles[-2:] == [None, None]
        present = titles[:-2]
        assert present == sorted(present, reverse=order == "descending")


def test_sort_by_meta_created_follows_creation_order(scim, named):
    body = scim.get("/Users", params={"sortBy": "meta.created"}).json()
    assert _names(body) == NAMES


def test_sort_with_index_pages_is_stable(scim, named):
    pages = [
        _names(
            scim.get(
                "/Users", params={"sortBy": "userName", "startIndex": start, "count": 3}
            ).json()
        )
        for start in (1, 4, 7)
    ]
    assert sum(pages, []) == sorted(NAMES, key=str.lower)


def test_invalid_sort_order_and_unsortable_attribute_are_400(scim):
    assert_scim_error(scim.get("/Users", params={"sortOrder": "sideways"}), 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"sortBy": "phoneNumbers"}), 400, "invalidValue")
    assert_scim_error(scim.get("/Users", params={"sortBy": "]["}), 400, "invalidValue")


def _walk(scim, params, key="nextCursor"):
    """Follow cursors from the first page to the end; the pages' user names."""
    pages, cursor = [], ""
    while cursor is not None:
        body = scim.get("/Users", params={**params, "cursor": cursor}).json()
        assert "startIndex" not in body
        assert body["totalResults"] == len(NAMES)
        pages.append(_names(body))
        cursor = body.get(key)
    return pages, body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, None),
        ({"sortBy": "userName"}, sorted(NAMES, key=str.lower)),
        ({"sortBy": "userName", "sortOrder": "descending"}, sorted(NAMES, key=str.lower)[::-1]),
        ({"sortBy": "title"}, None),
    ],
    ids=["by-id", "by-userName", "by-userName-desc", "by-title-with-missing"],
)
def test_cursor_pages_visit_every_user_once_in_order(scim, named, params, expected):
    pages, _ = _walk(scim, {**params, "count": 3})
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = sum(pages, [])
    assert sorted(seen) == sorted(NAMES)
    if expected is not None:
        assert seen == expected
    # The same order as one index page of everything:
    everything = _names(scim.get("/Users", params={**params, "count": 100}).json())
    assert seen == everything


def test_previous_cursor_walks_back_to_the_first_page(scim, named):
    params = {"sortBy": "userName", "count": 3}
    pages, last = _walk(scim, params)
    assert "nextCursor" not in last
    back, cursor = [], last["previousCursor"]
    while cursor:
        body = scim.get("/Users", params={**params, "cursor": cursor}).json()
        back.append(_names(body))
        cursor = body.get("previousCursor")
        assert body.get("nextCursor")
    assert back == pages[-2::-1]


def test_first_cursor_page_has_no_previous_cursor(scim, named):
    body = scim.get("/Users", params={"cursor": "", "count": 3}).json()
    assert "previousCursor" not in body
    assert body["nextCursor"]


def test_cursor_pages_over_a_filter(scim, named):
    params = {"filter": "title pr", "sortBy": "userName", "count": 2}
    pages, _ = _walk_filtered(scim, params)
    assert sum(pages, []) == sorted(NAMES[:5], key=str.lower)


def _walk_filtered(scim, params):
    pages, cursor = [], ""
    while cursor is not None:
        body = scim.get("/Users", params={**params, "cursor": cursor}).json()
        assert body["totalResults"] == 5
        pages.append(_names(body))
        cursor = body.get("nextCursor")
    return pages, body


def test_a_cursor_from_another_query_or_forged_is_invalid_cursor(scim, named):
    first = scim.get("/Users", params={"sortBy": "userName", "cursor": "", "count": 2}).json()
    other_query = scim.get(
        "/Users", params={"sortBy": "title", "cursor": first["nextCursor"], "count": 2}
    )
    assert_scim_error(other_query, 400, "invalidCursor")
    assert_scim_error(scim.get("/Users", params={"cursor": "not-a-cursor"}), 400, "invalidCursor")


def test_cursor_and_start_index_together_are_400(scim):
    response = scim.get("/Users", params={"cursor": "", "startIndex": 2})
    assert_scim_error(response, 400, "invalidValue")


def test_cursor_pages_through_a_groups_members_by_filter(scim):
    ids = [scim.post("/Users", json=user()).json()["id"] for _ in range(5)]
    team = scim.post("/Groups", json=group("Team", *ids[:4])).json()
    scim.post("/Groups", json=group("Other", ids[4]))
    seen, cursor = [], ""
    while cursor is not None:
        body = scim.get(
            "/Users",
            params={"filter": f'groups.value eq "{team["id"]}"', "count": 3, "cursor": cursor},
        ).json()
        seen += [r["id"] for r in body["Resources"]]
        cursor = body.get("nextCursor")
    assert sorted(seen) == sorted(ids[:4])


def test_search_body_takes_sort_and_cursor(scim, named):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "sortBy": "userName",
        "sortOrder": "descending",
        "count": 2,
        "cursor": "",
    }
    first = scim.post("/Users/.search", json=body).json()
    assert _names(first) == sorted(NAMES, key=str.lower, reverse=True)[:2]
    second = scim.post("/Users/.search", json={**body, "cursor": first["nextCursor"]}).json()
    assert _names(second) == sorted(NAMES, key=str.lower, reverse=True)[2:4]


def test_root_search_refuses_cursor_and_sort(scim):
    assert_scim_error(scim.post("/.search", json={"cursor": ""}), 400, "invalidValue")
    assert_scim_error(scim.post("/.search", json={"sortBy": "id"}), 400, "invalidValue")
