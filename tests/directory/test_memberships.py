"""Memberships (directory.memberships), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import groups, memberships, tables, users
from directory.errors import InvalidValue
from directory.records import Reference
from tests.conftest import make_tenant
from tests.directory.builders import get_group, new_group, new_user, query_groups


def member_ids(conn, tenant_id: int, group_id: str) -> set[str]:
    return set(
        conn.execute(
            select(tables.Membership.member_id).where(
                tables.Membership.tenant_id == tenant_id,
                tables.Membership.group_id == group_id,
            )
        ).scalars()
    )


def by_id(references: list[Reference]) -> dict[str, Reference]:
    return {ref.id: ref for ref in references}


# Reading


def test_members_of_lists_users_then_groups_for_each_group(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    inner = new_group(engine, tenant.id, "Inner", {bob.id: None})
    outer = new_group(engine, tenant.id, "Outer", {inner.id: None, alice.id: None})
    empty = new_group(engine, tenant.id, "Empty")
    with engine.begin() as conn:
        found = memberships.members_of(conn, tenant.id, [inner.id, outer.id, empty.id])
        assert memberships.members_of(conn, tenant.id, []) == {}
    assert found == {
        inner.id: [Reference(bob.id, "User", "bob")],
        outer.id: [Reference(alice.id, "User", "alice"), Reference(inner.id, "Group", "Inner")],
    }


def test_groups_of_lists_direct_groups_by_display_name(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    zulu = new_group(engine, tenant.id, "zulu", {alice.id: None})
    alpha = new_group(engine, tenant.id, "Alpha", {alice.id: None, bob.id: None})
    parent = new_group(engine, tenant.id, "Parent", {alpha.id: None})
    with engine.begin() as conn:
        found = memberships.groups_of(conn, tenant.id, [alice.id, bob.id, alpha.id, zulu.id])
        assert memberships.groups_of(conn, tenant.id, []) == {}
        alice_read = users.get_user(conn, tenant.id, alice.id)
    assert found == {
        alice.id: [Reference(alpha.id, "Group", "Alpha"), Reference(zulu.id, "Group", "zulu")],
        bob.id: [Reference(alpha.id, "Group", "Alpha")],
        alpha.id: [Reference(parent.id, "Group", "Parent")],
    }
    # Only direct memberships: alice is not listed in Parent through Alpha.
    assert alice_read.groups == found[alice.id]


def test_member_display_label_given_wins_else_display_name_else_user_name(engine, tenant):
    labelled = new_user(engine, tenant.id, "labelled", "Has Display Name")
    named = new_user(engine, tenant.id, "named", "Named Person")
    bare = new_user(engine, tenant.id, "bare.user")
    sub = new_group(engine, tenant.id, "Sub Group")
    labelled_sub = new_group(engine, tenant.id, "Other Sub")
    group = new_group(
        engine,
        tenant.id,
        "Labels",
        {
            labelled.id: "Given Label",
            named.id: None,
            bare.id: None,
            sub.id: None,
            labelled_sub.id: "Group Label",
        },
    )
    shown = {ref.id: ref.display for ref in group.members}
    assert shown == {
        labelled.id: "Given Label",
        named.id: "Named Person",
        bare.id: "bare.user",
        sub.id: "Sub Group",
        labelled_sub.id: "Group Label",
    }


def test_member_label_follows_a_renamed_user_unless_given(engine, tenant):
    alice = new_user(engine, tenant.id, "alice", "Alice")
    bob = new_user(engine, tenant.id, "bob", "Bob")
    group = new_group(engine, tenant.id, "Team", {alice.id: None, bob.id: "Bobby"})
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {"userName": "alice", "displayName": "Al"})
        users.replace_user(conn, tenant.id, bob.id, {"userName": "bob", "displayName": "Rob"})
    shown = {ref.id: ref.display for ref in get_group(engine, tenant.id, group.id).members}
    assert shown == {alice.id: "Al", bob.id: "Bobby"}


# add_members / remove_members


def test_add_members_is_idempotent_and_returns_how_many_were_added(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    carol = new_user(engine, tenant.id, "carol")
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        first = memberships.add_members(conn, tenant.id, group.id, {alice.id: None, bob.id: None})
        again = memberships.add_members(conn, tenant.id, group.id, {alice.id: None, bob.id: None})
        more = memberships.add_members(
            conn, tenant.id, group.id, {bob.id: "relabel", carol.id: None}
        )
        nothing = memberships.add_members(conn, tenant.id, group.id, {})
    assert (first, again, more, nothing) == (2, 0, 1, 0)
    members = get_group(engine, tenant.id, group.id).members
    assert by_id(members) == {
        alice.id: Reference(alice.id, "User", "alice"),
        bob.id: Reference(bob.id, "User", "bob"),  # an existing member keeps its label
        carol.id: Reference(carol.id, "User", "carol"),
    }


def test_remove_members_ignores_ids_that_are_not_members(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    outsider = new_user(engine, tenant.id, "outsider")
    group = new_group(engine, tenant.id, "Team", {alice.id: None, bob.id: None})
    with engine.begin() as conn:
        removed = memberships.remove_members(
            conn, tenant.id, group.id, [alice.id, outsider.id, "no-such-id", alice.id]
        )
        none_removed = memberships.remove_members(conn, tenant.id, group.id, [outsider.id])
        empty = memberships.remove_members(conn, tenant.id, group.id, [])
        remaining = member_ids(conn, tenant.id, group.id)
    assert (removed, none_removed, empty) == (1, 0, 0)
    assert remaining == {bob.id}


def test_add_members_with_an_unknown_id_raises_invalid_value_and_writes_nothing(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        with pytest.raises(InvalidValue, match="unknown-1, unknown-2"):
            memberships.add_members(
                conn,
                tenant.id,
                group.id,
                {alice.id: None, "unknown-2": None, "unknown-1": None},
            )
        # Checked inside the same transaction: no row was written before the raise.
        assert member_ids(conn, tenant.id, group.id) == set()


def test_group_cannot_be_a_member_of_itself(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        with pytest.raises(InvalidValue, match="itself"):
            memberships.add_members(conn, tenant.id, group.id, {group.id: None, alice.id: None})
        assert member_ids(conn, tenant.id, group.id) == set()


def test_member_from_another_tenant_is_rejected(engine, tenant):
    other = make_tenant(engine)
    their_user = new_user(engine, other.id, "theirs")
    their_group = new_group(engine, other.id, "Theirs")
    mine = new_user(engine, tenant.id, "mine")
    group = new_group(engine, tenant.id, "Team")
    for foreign in (their_user.id, their_group.id):
        with engine.begin() as conn:
            with pytest.raises(InvalidValue):
                memberships.add_members(conn, tenant.id, group.id, {foreign: None, mine.id: None})
            assert member_ids(conn, tenant.id, group.id) == set()
        with pytest.raises(InvalidValue):
            new_group(engine, tenant.id, "Mixed", {foreign: None})
        with pytest.raises(InvalidValue):
            with engine.begin() as conn:
                groups.replace_group(
                    conn, tenant.id, group.id, {"displayName": "T"}, {foreign: None}
                )
    with engine.begin() as conn:
        total, _ = query_groups(conn, tenant.id, None, offset=0, limit=0)
        assert memberships.groups_of(conn, other.id, [their_user.id, their_group.id]) == {}
    assert total == 1  # only "Team": no "Mixed" group was committed


def test_resolve_members_maps_ids_to_member_types(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    group = new_group(engine, tenant.id, "Team")
    with engine.begin() as conn:
        assert memberships.resolve_members(conn, tenant.id, [alice.id, group.id]) == {
            alice.id: "User",
            group.id: "Group",
        }
        assert memberships.resolve_members(conn, tenant.id, []) == {}


# Deleting members


def test_deleting_a_user_removes_its_memberships_and_bumps_each_group(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    bob = new_user(engine, tenant.id, "bob")
    first = new_group(engine, tenant.id, "First", {alice.id: None, bob.id: None})
    second = new_group(engine, tenant.id, "Second", {alice.id: None})
    untouched = new_group(engine, tenant.id, "Untouched", {bob.id: None})
    with engine.begin() as conn:
        users.delete_user(conn, tenant.id, alice.id)
    after = {g.id: get_group(engine, tenant.id, g.id) for g in (first, second, untouched)}
    assert after[first.id].members == [Reference(bob.id, "User", "bob")]
    assert after[second.id].members == []
    assert [after[g.id].version for g in (first, second, untouched)] == [2, 2, 1]
    assert after[first.id].last_modified > first.last_modified
    assert after[second.id].last_modified > second.last_modified
    assert after[untouched.id].last_modified == untouched.last_modified
    with engine.begin() as conn:
        assert memberships.groups_of(conn, tenant.id, [alice.id]) == {}
        orphan_rows = conn.execute(
            select(tables.Membership).where(
                tables.Membership.tenant_id == tenant.id,
                tables.Membership.member_id == alice.id,
            )
        ).all()
    assert orphan_rows == []


def test_deleting_a_group_removes_it_from_parent_groups_and_bumps_them(engine, tenant):
    alice = new_user(engine, tenant.id, "alice")
    child = new_group(engine, tenant.id, "Child", {alice.id: None})
    parent = new_group(engine, tenant.id, "Parent", {child.id: None, alice.id: None})
    grandparent = new_group(engine, tenant.id, "Grandparent", {parent.id: None})
    with engine.begin() as conn:
        groups.delete_group(conn, tenant.id, child.id)
    parent_after = get_group(engine, tenant.id, parent.id)
    grandparent_after = get_group(engine, tenant.id, grandparent.id)
    assert parent_after.members == [Reference(alice.id, "User", "alice")]
    assert parent_after.version == 2
    assert parent_after.last_modified > parent.last_modified
    assert grandparent_after.version == 1
    assert grandparent_after.members == [Reference(parent.id, "Group", "Parent")]
    with engine.begin() as conn:
        assert users.get_user(conn, tenant.id, alice.id).groups == [
            Reference(parent.id, "Group", "Parent")
        ]


def test_deleting_a_user_of_another_tenant_leaves_this_tenants_groups_alone(engine, tenant):
    other = make_tenant(engine)
    mine = new_user(engine, tenant.id, "mine")
    theirs = new_user(engine, other.id, "theirs")
    my_group = new_group(engine, tenant.id, "Mine", {mine.id: None})
    their_group = new_group(engine, other.id, "Theirs", {theirs.id: None})
    with engine.begin() as conn:
        users.delete_user(conn, other.id, theirs.id)
    assert get_group(engine, tenant.id, my_group.id).version == 1
    assert get_group(engine, tenant.id, my_group.id).members == [Reference(mine.id, "User", "mine")]
    assert get_group(engine, other.id, their_group.id).members == []
