"""Groups (directory.groups), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import groups, memberships, tables, users
from directory.errors import InvalidValue, NotFound, VersionMismatch
from directory.records import Reference
from tests.conftest import make_tenant
from tests.directory.builders import get_group, new_group, new_user, query_groups


def group_ids(engine, tenant_id: int) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                select(tables.Group.id)
                .where(tables.Group.tenant_id == tenant_id)
                .order_by(tables.Group.id)
            ).scalars()
        )


def member_rows(engine, tenant_id: int) -> set[tuple[str, str, str]]:
    with engine.begin() as conn:
        return {
            (row.group_id, row.member_id, row.member_type)
            for row in conn.execute(
                select(tables.Membership).where(tables.Membership.tenant_id == tenant_id)
            )
        }


def test_created_group_reads_back_with_document_version_one_and_no_members(engine, tenant):
    document = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering",
        "externalId": "eng-1",
    }
    decoy = new_group(engine, tenant.id, "decoy")
    with engine.begin() as conn:
        created = groups.create_group(conn, tenant.id, document)
    fetched = get_group(engine, tenant.id, created.id)
    assert fetched.id == created.id != decoy.id
    assert fetched.document == document
    assert fetched.version == created.version == 1
    assert fetched.created == fetched.last_modified == created.created
    assert fetched.members == []


def test_create_group_with_users_and_a_nested_group(engine, tenant):
    alice = new_user(engine, tenant.id, "alice", "Alice")
    bob = new_user(engine, tenant.id, "bob")
    inner = new_group(engine, tenant.id, "Inner")
    outer = new_group(engine, tenant.id, "Outer", {alice.id: None, bob.id: None, inner.id: None})
    users_first = sorted([alice.id, bob.id])
    expected = [Reference(i, "User", {alice.id: "Alice", bob.id: "bob"}[i]) for i in users_first]
    expected.append(Reference(inner.id, "Group", "Inner"))
    assert outer.members == expected
    assert get_group(engine, tenant.id, outer.id).members == expected
    assert outer.version == 1
    assert member_rows(engine, tenant.id) == {
        (outer.id, alice.id, "User"),
        (outer.id, bob.id, "User"),
        (outer.id, inner.id, "Group"),
    }


@pytest.mark.parametrize(
    "document",
    [{}, {"displayName": ""}, {"displayName": "  "}, {"displayName": ["x"]}],
    ids=["missing", "empty", "blank", "list"],
)
def test_group_without_a_usable_display_name_raises_invalid_value(engine, tenant, document):
    with pytest.raises(InvalidValue):
        with engine.begin() as conn:
            groups.create_group(conn, tenant.id, document)
    assert group_ids(engine, tenant.id) == []


def test_create_group_with_unknown_member_raises_invalid_value_and_commits_nothing(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    with pytest.raises(InvalidValue, match="no user or group with id missing-id"):
        with engine.begin() as conn:
            groups.create_group(
                conn, tenant.id, {"displayName": "g"}, {alice.id: None, "missing-id": None}
            )
    assert group_ids(engine, tenant.id) == []
    assert member_rows(engine, tenant.id) == set()


def test_create_group_with_unknown_member_writes_nothing_even_if_the_transaction_goes_on(
    engine, tenant
):
    with engine.begin() as conn:
        with pytest.raises(InvalidValue):
            groups.create_group(conn, tenant.id, {"displayName": "g"}, {"missing-id": None})
        kept = groups.create_group(conn, tenant.id, {"displayName": "kept"})
    assert group_ids(engine, tenant.id) == [kept.id]


def test_get_unknown_group_raises_not_found(engine, tenant):
    with pytest.raises(NotFound):
        get_group(engine, tenant.id, "00000000-0000-0000-0000-000000000000")


def test_group_of_another_tenant_is_not_found(engine, tenant):
    other = make_tenant(engine)
    theirs = new_group(engine, other.id, "theirs")
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            groups.get_group(conn, tenant.id, theirs.id)
        with pytest.raises(NotFound):
            groups.replace_group(conn, tenant.id, theirs.id, {"displayName": "hijacked"}, {})
        with pytest.raises(NotFound):
            groups.delete_group(conn, tenant.id, theirs.id)
    still = get_group(engine, other.id, theirs.id)
    assert still.document == {"displayName": "theirs"}
    assert still.version == 1


# Replace


def test_replace_group_replaces_document_and_member_list(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    carol = new_user(engine, tenant.id, "carol")
    group = new_group(engine, tenant.id, "Team", {alice.id: None, bob.id: None})
    with engine.begin() as conn:
        replaced = groups.replace_group(
            conn,
            tenant.id,
            group.id,
            {"displayName": "Team 2"},
            {bob.id: "Robert", carol.id: None},
        )
    fetched = get_group(engine, tenant.id, group.id)
    assert replaced == fetched
    assert fetched.document == {"displayName": "Team 2"}
    assert fetched.version == 2
    assert fetched.last_modified > group.last_modified
    assert fetched.created == group.created
    assert fetched.members == sorted(
        [Reference(bob.id, "User", "Robert"), Reference(carol.id, "User", "carol")],
        key=lambda ref: ref.id,
    )
    assert member_rows(engine, tenant.id) == {
        (group.id, bob.id, "User"),
        (group.id, carol.id, "User"),
    }


def test_replace_group_with_no_members_empties_it(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team", {alice.id: None})
    with engine.begin() as conn:
        replaced = groups.replace_group(conn, tenant.id, group.id, {"displayName": "Team"}, {})
    assert replaced.members == []
    assert replaced.version == 2
    assert member_rows(engine, tenant.id) == set()


def test_replace_group_with_stale_expected_version_raises_and_changes_nothing(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team", {alice.id: None})
    with engine.begin() as conn:
        groups.replace_group(
            conn, tenant.id, group.id, {"displayName": "Team v2"}, {alice.id: None}
        )
    with engine.begin() as conn:
        with pytest.raises(VersionMismatch):
            groups.replace_group(
                conn, tenant.id, group.id, {"displayName": "Team v3"}, {}, expected_version=1
            )
        current = groups.get_group(conn, tenant.id, group.id)
    assert current.version == 2
    assert current.document == {"displayName": "Team v2"}
    assert current.members == [Reference(alice.id, "User", "alice")]


def test_replace_group_with_matching_expected_version_succeeds(engine, tenant):
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        replaced = groups.replace_group(
            conn, tenant.id, group.id, {"displayName": "Renamed"}, {}, expected_version=1
        )
    assert replaced.version == 2
    assert replaced.document == {"displayName": "Renamed"}


def test_replace_group_containing_itself_raises_invalid_value(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team", {alice.id: None})
    with pytest.raises(InvalidValue):
        with engine.begin() as conn:
            groups.replace_group(
                conn, tenant.id, group.id, {"displayName": "Team"}, {group.id: None}
            )
    fetched = get_group(engine, tenant.id, group.id)
    assert fetched.members == [Reference(alice.id, "User", "alice")]
    assert fetched.version == 1


def test_save_group_bumps_version_and_refreshes_indexed_columns(engine, tenant):
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        current = groups.lock_group(conn, tenant.id, group.id, expected_version=1)
        saved = groups.save_group(conn, tenant.id, current, {"displayName": "ÉQUIPE"})
        row = conn.execute(
            select(tables.Group.display_name, tables.Group.display_name_key).where(
                tables.Group.tenant_id == tenant.id, tables.Group.id == group.id
            )
        ).one()
    assert saved.version == 2
    assert tuple(row) == ("ÉQUIPE", "équipe")


def test_save_group_from_a_stale_read_raises_version_mismatch(engine, tenant):
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        stale = groups.lock_group(conn, tenant.id, group.id)
        groups.save_group(conn, tenant.id, stale, {"displayName": "first"})
        with pytest.raises(VersionMismatch):
            groups.save_group(conn, tenant.id, stale, {"displayName": "second"})
    assert get_group(engine, tenant.id, group.id).document == {"displayName": "first"}


# Delete


def test_delete_group_removes_it_and_its_member_rows(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team", {alice.id: None})
    kept = new_group(engine, tenant.id, "Kept", {alice.id: None})
    with engine.begin() as conn:
        groups.delete_group(conn, tenant.id, group.id)
    with pytest.raises(NotFound):
        get_group(engine, tenant.id, group.id)
    assert group_ids(engine, tenant.id) == [kept.id]
    assert member_rows(engine, tenant.id) == {(kept.id, alice.id, "User")}
    with engine.begin() as conn:
        assert users.get_user(conn, tenant.id, alice.id).groups == [
            Reference(kept.id, "Group", "Kept")
        ]


def test_delete_group_with_stale_expected_version_raises_and_keeps_it(engine, tenant):
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        groups.replace_group(conn, tenant.id, group.id, {"displayName": "Team 2"}, {})
    with engine.begin() as conn:
        with pytest.raises(VersionMismatch):
            groups.delete_group(conn, tenant.id, group.id, expected_version=1)
        assert groups.get_group(conn, tenant.id, group.id).version == 2
    assert group_ids(engine, tenant.id) == [group.id]


# Query


def test_query_groups_filters_pages_and_counts(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    made = [new_group(engine, tenant.id, f"g{i}", {alice.id: None}) for i in range(3)]
    new_group(engine, tenant.id, "other")
    wanted = sorted(g.id for g in made)
    where = tables.Group.display_name_key.like("g%")
    with engine.begin() as conn:
        total, first = query_groups(conn, tenant.id, where, offset=0, limit=2)
        _, rest = query_groups(conn, tenant.id, where, offset=2, limit=2)
        _, bare = query_groups(conn, tenant.id, where, offset=0, limit=1, with_members=False)
        everything, _ = query_groups(conn, tenant.id, None, offset=0, limit=0)
    assert total == 3
    assert everything == 4
    assert [g.id for g in first + rest] == wanted
    assert all(g.members == [Reference(alice.id, "User", "alice")] for g in first + rest)
    assert [g.id for g in bare] == wanted[:1]
    assert bare[0].members == []
    with engine.begin() as conn:
        assert memberships.groups_of(conn, tenant.id, [alice.id])[alice.id] == [
            Reference(g.id, "Group", g.document["displayName"]) for g in made
        ]
