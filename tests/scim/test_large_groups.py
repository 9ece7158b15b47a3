"""Large groups are never loaded whole: member changes and lookups touch only the rows they need."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, insert

from directory import tables
from directory.clock import utcnow
from tests.scim.helpers import group, patch, user


def _group_with_members(engine, tenant, size):
    """A group of ``size`` users, written straight to the store (fast to set up)."""
    now = utcnow()
    group_id = str(uuid.uuid4())
    users = [
        {
            "tenant_id": tenant.id,
            "id": str(uuid.uuid4()),
            "user_name": f"m{i}-{group_id[:8]}",
            "user_name_key": f"m{i}-{group_id[:8]}",
            "created": now,
            "last_modified": now,
            "version": 1,
            "document": {"userName": f"m{i}-{group_id[:8]}"},
        }
        for i in range(size)
    ]
    with engine.begin() as conn:
        conn.execute(insert(tables.User), users)
        conn.execute(
            insert(tables.Group).values(
                tenant_id=tenant.id,
                id=group_id,
                display_name=f"G{size}",
                display_name_key=f"g{size}",
                created=now,
                last_modified=now,
                version=1,
                document={"displayName": f"G{size}"},
            )
        )
        conn.execute(
            insert(tables.Membership),
            [
                {
                    "tenant_id": tenant.id,
                    "group_id": group_id,
                    "member_id": u["id"],
                    "member_type": "User",
                }
                for u in users
            ],
        )
    return group_id


class Statements:
    """The SQL statements an engine runs while the block is open."""

    def __init__(self, engine):
        self.engine = engine
        self.seen: list[tuple[str, object]] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def rows_read_from_memberships(self):
        return [s for s, _ in self.seen if "FROM memberships" in s and "SELECT" in s]


def _add_one_member(scim, engine, group_id):
    newcomer = scim.post("/Users", json=user()).json()["id"]
    with Statements(engine) as statements:
        response = scim.patch(
            f"/Groups/{group_id}?excludedAttributes=members",
            json=patch({"op": "add", "path": "members", "value": [{"value": newcomer}]}),
        )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    return statements


def test_adding_a_member_costs_the_same_statements_for_10_or_2000_members(scim, engine, tenant):
    small = _add_one_member(scim, engine, _group_with_members(engine, tenant, 10))
    large = _add_one_member(scim, engine, _group_with_members(engine, tenant, 2000))
    assert len(large.seen) == len(small.seen)
    # Every read of memberships is limited to the members the PATCH names.
    for statement in large.rows_read_from_memberships():
        assert "member_id IN" in statement or "member_id =" in statement, statement


def test_list_groups_without_members_reads_no_membership(scim, engine, tenant):
    _group_with_members(engine, tenant, 50)
    with Statements(engine) as statements:
        body = scim.get("/Groups", params={"excludedAttributes": "members"}).json()
    assert body["totalResults"] == 1
    assert "members" not in body["Resources"][0]
    assert statements.rows_read_from_memberships() == []


@pytest.mark.parametrize("count", [7, 50])
def test_paging_a_large_group_by_its_members_filter(scim, engine, tenant, count):
    group_id = _group_with_members(engine, tenant, 120)
    seen, cursor = [], ""
    while cursor is not None:
        body = scim.get(
            "/Users",
            params={"filter": f'groups.value eq "{group_id}"', "count": count, "cursor": cursor},
        ).json()
        assert body["totalResults"] == 120
        seen += [r["id"] for r in body["Resources"]]
        cursor = body.get("nextCursor")
    assert len(seen) == len(set(seen)) == 120


def test_one_membership_is_tested_without_reading_the_group(scim, engine, tenant):
    group_id = _group_with_members(engine, tenant, 300)
    outsider = scim.post("/Users", json=user()).json()["id"]
    member = scim.get(
        "/Users", params={"filter": f'groups.value eq "{group_id}"', "count": 1}
    ).json()["Resources"][0]["id"]
    for user_id, expected in ((member, 1), (outsider, 0)):
        text = f'id eq "{group_id}" and members.value eq "{user_id}"'
        body = scim.get("/Groups", params={"filter": text, "excludedAttributes": "members"}).json()
        assert body["totalResults"] == expected


def test_group_with_members_created_through_scim_lists_them(scim):
    ids = [scim.post("/Users", json=user()).json()["id"] for _ in range(3)]
    created = scim.post("/Groups", json=group("Small", *ids)).json()
    assert sorted(m["value"] for m in created["members"]) == sorted(ids)
