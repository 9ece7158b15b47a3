"""The admin users grid (directory.grid): every sort and filter pages the same by index and
by cursor, missing values last, each user once while others are added; on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from directory import accounts, environment, grid, tables, users
from directory.errors import InvalidValue
from tests.conftest import make_tenant
from tests.scimd.accounts import admin_token

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SORTS = [(sort, descending) for sort in grid.SORTS for descending in (False, True)]
FLAG_OF_VIEW = {
    "locked": lambda a: a.locked,
    "blocked": lambda a: not a.login_allowed,
    "pendingApproval": lambda a: a.approval == "pending",
    "mfaEnabled": lambda a: a.mfa_enabled,
    "mfaRequired": lambda a: a.mfa_required,
}


def add_user(conn, tenant_id: int, n: int, prefix: str = "u") -> str:
    """User ``n``: one in five without an account row, one in four without a display
    name; the others' account values repeat, so that sorts meet ties."""
    document: dict = {"userName": f"{prefix}{n:03d}@example.com"}
    if n % 4:
        document["displayName"] = f"Name {n % 7}"
    user_id = users.create_user(conn, tenant_id, document).id
    if n % 5:
        accounts.set_fields(
            conn,
            tenant_id,
            user_id,
            last_login=None if n % 5 == 1 else BASE + timedelta(hours=n // 3),
            failed_tries=n % 3,
            locked=n % 6 == 0,
            login_allowed=n % 2 == 0,
            mfa_enabled=n % 7 == 0,
            mfa_required=None if n % 3 else n % 9 == 0,
            mfa_not_enforced=n % 11 == 0,
            approval="pending" if n % 8 == 3 else None,
        )
    return user_id


@pytest.fixture
def people(engine, tenant):
    with engine.begin() as conn:
        return [add_user(conn, tenant.id, n) for n in range(40)]


def read(engine, tenant_id: int, query: grid.GridQuery) -> grid.GridPage:
    with engine.connect() as conn:
        return grid.query(conn, tenant_id, query)


def every_page(engine, tenant_id: int, query: grid.GridQuery, *, by_cursor: bool) -> list[str]:
    seen: list[str] = []
    while True:
        page = read(engine, tenant_id, query)
        seen += page.user_ids
        if page.next is None:
            assert len(seen) == page.total or by_cursor
            return seen
        if by_cursor:
            cursor = grid.encode_cursor(query, page.next)
            query = dataclasses.replace(query, after=grid.decode_cursor(query, cursor))
        else:
            query = dataclasses.replace(query, offset=query.offset + query.limit)


def expected(engine, tenant_id: int, ids: list[str], sort: str, descending: bool) -> list[str]:
    """The order the grid promises, computed here: by value then id, in the sort's direction,
    users without a value last (by id, in the same direction)."""
    with engine.connect() as conn:
        stored = {u: users.get_user(conn, tenant_id, u) for u in ids}
        held = accounts.accounts_of(conn, tenant_id, ids)
        with_row = set(
            conn.execute(
                select(tables.Account.user_id).where(tables.Account.tenant_id == tenant_id)
            ).scalars()
        )
    value = {
        "userName": lambda u: stored[u].document["userName"].lower(),
        "name": lambda u: (stored[u].document.get("displayName") or "").lower() or None,
        "lastLogin": lambda u: held[u].last_login,
        "failedTries": lambda u: held[u].failed_tries if u in with_row else None,
        "created": lambda u: stored[u].created,
    }[sort]
    valued = sorted((u for u in ids if value(u) is not None), key=lambda u: (value(u), u))
    missing = sorted(u for u in ids if value(u) is None)
    if descending:
        valued.reverse()
        missing.reverse()
    return valued + missing


@pytest.mark.parametrize(("sort", "descending"), SORTS)
def test_each_sort_pages_alike_by_index_and_by_cursor_with_missing_values_last(
    engine, tenant, people, sort, descending
):
    query = grid.GridQuery(sort=sort, descending=descending, limit=7)
    whole = read(engine, tenant.id, dataclasses.replace(query, limit=grid.MAX_PAGE))
    assert whole.total == 40 and whole.next is None
    assert whole.user_ids == expected(engine, tenant.id, people, sort, descending)
    assert every_page(engine, tenant.id, query, by_cursor=False) == whole.user_ids
    assert every_page(engine, tenant.id, query, by_cursor=True) == whole.user_ids


@pytest.mark.parametrize("sort", ["lastLogin", "name"])
def test_an_index_page_may_start_among_the_users_without_a_value(engine, tenant, people, sort):
    whole = read(engine, tenant.id, grid.GridQuery(sort=sort, limit=grid.MAX_PAGE)).user_ids
    for offset in (25, 30, 36, 39, 40, 45):
        page = read(engine, tenant.id, grid.GridQuery(sort=sort, offset=offset, limit=3))
        assert page.user_ids == whole[offset : offset + 3], offset


@pytest.mark.parametrize("mfa_default", [False, True])
@pytest.mark.parametrize("flag", grid.FLAGS)
def test_each_flag_selects_what_the_account_view_shows_either_way(
    engine, tenant, people, flag, mfa_default
):
    with engine.begin() as conn:
        environment.put(conn, tenant.id, environment.Environment(mfa_required=mfa_default))
        views = accounts.accounts_of(conn, tenant.id, people)
    for wanted in (True, False):
        found = read(engine, tenant.id, grid.GridQuery(flags={flag: wanted}, limit=100))
        shown = {u for u in people if FLAG_OF_VIEW[flag](views[u]) is wanted}
        assert set(found.user_ids) == shown and found.total == len(shown), (flag, wanted)


def test_pending_approval_false_includes_users_without_an_account_row(engine, tenant, people):
    found = read(engine, tenant.id, grid.GridQuery(flags={"pendingApproval": False}, limit=100))
    assert people[0] in found.user_ids  # user 0 has no account row


@pytest.mark.parametrize(("sort", "descending"), [("userName", False), ("lastLogin", True)])
def test_small_selections_sort_their_matches_in_the_same_order(
    engine, tenant, people, monkeypatch, sort, descending
):
    query = grid.GridQuery(
        search="u0", flags={"locked": False}, sort=sort, descending=descending, limit=5
    )
    monkeypatch.setattr(grid, "SMALL_SELECTION", 0)
    walked = every_page(engine, tenant.id, query, by_cursor=True)
    monkeypatch.setattr(grid, "SMALL_SELECTION", 10**6)
    sorted_ = every_page(engine, tenant.id, query, by_cursor=True)
    assert walked == sorted_ and len(walked) == 35


def test_search_is_a_prefix_of_user_name_name_or_email(engine, tenant):
    with engine.begin() as conn:
        named = users.create_user(
            conn,
            tenant.id,
            {
                "userName": "zx-1",
                "displayName": "Ölaf Zed",
                "emails": [{"value": "olaf_z%@Example.com"}],
            },
        ).id
        users.create_user(conn, tenant.id, {"userName": "zx-2"})
    for search, ids in [
        ("ZX-", 2),
        ("ölaf", 1),
        ("OLAF_Z%", 1),  # an email's prefix, wildcards taken as text
        ("olaf_zz", 0),
        ("laf", 0),  # a prefix, not a substring
    ]:
        found = read(engine, tenant.id, grid.GridQuery(search=search))
        assert found.total == ids, search
        assert ids != 1 or found.user_ids == [named]


@pytest.mark.parametrize(("sort", "descending"), [("userName", False), ("lastLogin", True)])
def test_cursor_pages_show_each_user_once_while_users_are_added(
    engine, tenant, people, sort, descending
):
    query = grid.GridQuery(sort=sort, descending=descending, limit=6)
    seen: list[str] = []
    added = 0
    while True:
        page = read(engine, tenant.id, query)
        seen += page.user_ids
        with engine.begin() as conn:
            # Before and after the page's position in every order: names at both ends.
            for prefix in ("a", "z"):
                add_user(conn, tenant.id, 100 + added, prefix)
                added += 1
        if page.next is None:
            break
        query = dataclasses.replace(query, after=page.next)
    assert len(seen) == len(set(seen))
    assert set(people) <= set(seen)


def test_a_cursor_fits_only_its_own_query(engine, tenant, people):
    query = grid.GridQuery(sort="lastLogin", limit=5)
    cursor = grid.encode_cursor(query, read(engine, tenant.id, query).next)
    assert grid.decode_cursor(query, cursor).segment == 0
    assert isinstance(grid.decode_cursor(query, cursor).value, datetime)
    for other in (
        dataclasses.replace(query, descending=True),
        dataclasses.replace(query, flags={"locked": True}),
        dataclasses.replace(query, search="u"),
    ):
        with pytest.raises(InvalidValue, match="another"):
            grid.decode_cursor(other, cursor)
    # The page size and the offset are not part of the query: a cursor outlives them.
    grid.decode_cursor(dataclasses.replace(query, limit=50, offset=10), cursor)
    forged = [  # the right query, values the order cannot hold
        {"s": 0, "v": "yesterday", "i": "x"},
        {"s": 0, "v": True, "i": "x"},
        {"s": 1, "v": 3, "i": "x"},
        {"s": 2, "v": None, "i": "x"},
        {"s": 0, "v": {"dt": "2026-11-01T09:00:00+00:00"}, "i": 7},
    ]
    for garbage in (
        "",
        "abc",
        "eyJ4IjoxfQ",
        cursor[:-3],
        *(encoded({**payload, "q": query.fingerprint()}) for payload in forged),
    ):
        with pytest.raises(InvalidValue, match="not one this server issued"):
            grid.decode_cursor(query, garbage)


def encoded(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def test_the_admin_api_pages_by_cursor_and_keeps_start_index(app, engine, tenant, people):
    # The one HTTP test here: the API's cursor parameter is a thin layer over the grid.
    token = admin_token(engine, tenant)
    with TestClient(
        app,
        base_url="http://testserver/admin/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as admin:
        params = {"sort": "-lastLogin", "count": 15}
        first = admin.get("/users", params={**params, "cursor": ""}).json()
        assert "startIndex" not in first and len(first["users"]) == 15
        seen = [u["id"] for u in first["users"]]
        cursor = first["nextCursor"]
        while cursor:
            page = admin.get("/users", params={**params, "cursor": cursor}).json()
            seen += [u["id"] for u in page["users"]]
            cursor = page.get("nextCursor")
        by_index = admin.get("/users", params={**params, "count": 40}).json()
        assert seen == [u["id"] for u in by_index["users"]]
        assert by_index["startIndex"] == 1 and "nextCursor" not in by_index
        # An index page hands out a cursor too: paging can switch to cursors anywhere.
        second = admin.get("/users", params={**params, "startIndex": 16}).json()
        third = admin.get("/users", params={**params, "cursor": second["nextCursor"]}).json()
        assert [u["id"] for u in third["users"]] == seen[30:40]
        refused = [
            admin.get("/users", params={**params, "cursor": first["nextCursor"], "startIndex": 2}),
            admin.get("/users", params={"cursor": "nonsense"}),
            admin.get("/users", params={"sort": "userName", "cursor": first["nextCursor"]}),
        ]
        for answer in refused:
            assert answer.status_code == 400 and answer.json()["error"] == "invalid_value"


def test_an_unknown_sort_or_filter_is_refused(engine, tenant):
    with pytest.raises(InvalidValue, match="sort is one of"):
        read(engine, tenant.id, grid.GridQuery(sort="shoeSize"))
    with pytest.raises(InvalidValue, match="unknown filter"):
        read(engine, tenant.id, grid.GridQuery(flags={"happy": True}))
    with pytest.raises(InvalidValue, match="count is 0 to"):
        read(engine, tenant.id, grid.GridQuery(limit=grid.MAX_PAGE + 1))


def test_a_count_of_zero_gives_the_total_only(engine, tenant, people):
    page = read(engine, tenant.id, grid.GridQuery(limit=0, flags={"locked": True}))
    assert page.user_ids == [] and page.next is None
    assert page.total == sum(1 for n in range(40) if n % 5 and n % 6 == 0)


def test_another_tenants_users_never_show_whatever_the_sort(engine, tenant, people):
    other = make_tenant(engine)
    with engine.begin() as conn:
        add_user(conn, other.id, 1, prefix=f"o{uuid.uuid4().hex[:4]}")
    for sort, descending in SORTS:
        found = read(engine, tenant.id, grid.GridQuery(sort=sort, descending=descending))
        assert set(found.user_ids) <= set(people) and found.total == 40
