"""Users (directory.users), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory import groups, tables, users
from directory.errors import Conflict, InvalidValue, NotFound, VersionMismatch
from directory.records import Reference
from tests.conftest import make_tenant
from tests.directory.builders import query_users


def create(engine, tenant_id: int, document: dict):
    with engine.begin() as conn:
        return users.create_user(conn, tenant_id, document)


def get(engine, tenant_id: int, user_id: str):
    with engine.begin() as conn:
        return users.get_user(conn, tenant_id, user_id)


def user_ids(engine, tenant_id: int) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                select(tables.User.id)
                .where(tables.User.tenant_id == tenant_id)
                .order_by(tables.User.id)
            ).scalars()
        )


def stored_emails(engine, tenant_id: int, user_id: str) -> list[tuple]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    tables.UserEmail.position,
                    tables.UserEmail.value,
                    tables.UserEmail.value_key,
                    tables.UserEmail.type,
                    tables.UserEmail.primary,
                )
                .where(
                    tables.UserEmail.tenant_id == tenant_id,
                    tables.UserEmail.user_id == user_id,
                )
                .order_by(tables.UserEmail.position)
            )
        ]


ALICE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "alice@example.com",
    "displayName": "Alice Liddell",
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "active": True,
    "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
}


# Create and get


def test_created_user_reads_back_with_its_document_and_version_one(engine, tenant):
    created = create(engine, tenant.id, ALICE)
    fetched = get(engine, tenant.id, created.id)
    assert fetched.id == created.id
    assert len(created.id) == 36
    assert fetched.document == ALICE
    assert fetched.version == created.version == 1
    assert fetched.created == created.created == fetched.last_modified
    assert fetched.created.utcoffset().total_seconds() == 0
    assert fetched.groups == []


def test_created_user_fills_the_indexed_columns(engine, tenant):
    created = create(engine, tenant.id, {"userName": "Bob.Smith", "externalId": "e-1"})
    with engine.begin() as conn:
        row = conn.execute(
            select(tables.User).where(
                tables.User.tenant_id == tenant.id, tables.User.id == created.id
            )
        ).one()
    assert (row.user_name, row.user_name_key) == ("Bob.Smith", "bob.smith")
    assert row.external_id == "e-1"
    assert row.display_name is None
    assert row.active is None  # absent ``active`` stays absent (filters see it so)


def test_get_unknown_user_raises_not_found(engine, tenant):
    with pytest.raises(NotFound):
        get(engine, tenant.id, "00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize(
    "document",
    [{}, {"userName": ""}, {"userName": "   "}, {"userName": None}, {"userName": 42}],
    ids=["missing", "empty", "blank", "null", "number"],
)
def test_user_without_a_usable_user_name_raises_invalid_value(engine, tenant, document):
    with pytest.raises(InvalidValue):
        create(engine, tenant.id, document)
    assert user_ids(engine, tenant.id) == []


def test_user_with_a_non_string_display_name_raises_invalid_value(engine, tenant):
    with pytest.raises(InvalidValue):
        create(engine, tenant.id, {"userName": "numbered", "displayName": 5})


def test_user_name_longer_than_its_column_raises_invalid_value_on_every_backend(engine, tenant):
    with pytest.raises(InvalidValue):
        create(engine, tenant.id, {"userName": "x" * 300})
    assert user_ids(engine, tenant.id) == []


# userName uniqueness


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Bob", "bob"),
        ("alice@EXAMPLE.com", "ALICE@example.COM"),
        ("Jos\u00e9", "JOSE\u0301"),  # composed vs decomposed accent, other case
    ],
)
def test_user_name_is_unique_per_tenant_case_insensitively(engine, tenant, first, second):
    kept = create(engine, tenant.id, {"userName": first})
    with pytest.raises(Conflict):
        create(engine, tenant.id, {"userName": second})
    assert user_ids(engine, tenant.id) == [kept.id]


def test_same_user_name_is_allowed_in_two_tenants(engine, tenant):
    other = make_tenant(engine)
    mine = create(engine, tenant.id, {"userName": "bob"})
    theirs = create(engine, other.id, {"userName": "bob"})
    assert mine.id != theirs.id
    assert get(engine, tenant.id, mine.id).document == {"userName": "bob"}
    assert get(engine, other.id, theirs.id).document == {"userName": "bob"}


def test_conflict_on_create_leaves_the_transaction_usable(engine, tenant):
    with engine.begin() as conn:
        alice = users.create_user(conn, tenant.id, {"userName": "alice"})
        with pytest.raises(Conflict):
            users.create_user(conn, tenant.id, {"userName": "ALICE"})
        carol = users.create_user(conn, tenant.id, {"userName": "carol"})
        # The failed insert wrote nothing, not even the emails side rows.
        assert users.get_user(conn, tenant.id, alice.id).document == {"userName": "alice"}
    assert user_ids(engine, tenant.id) == sorted([alice.id, carol.id])


def test_replace_with_a_taken_user_name_raises_conflict_and_keeps_the_transaction_usable(
    engine, tenant
):
    alice = create(engine, tenant.id, {"userName": "alice"})
    bob = create(engine, tenant.id, {"userName": "bob"})
    with engine.begin() as conn:
        with pytest.raises(Conflict):
            users.replace_user(conn, tenant.id, bob.id, {"userName": "Alice"})
        users.replace_user(conn, tenant.id, alice.id, {"userName": "alice", "active": False})
    assert get(engine, tenant.id, bob.id).document == {"userName": "bob"}
    assert get(engine, tenant.id, bob.id).version == 1
    assert get(engine, tenant.id, alice.id).version == 2


def test_user_may_change_the_case_of_its_own_user_name(engine, tenant):
    bob = create(engine, tenant.id, {"userName": "bob"})
    with engine.begin() as conn:
        replaced = users.replace_user(conn, tenant.id, bob.id, {"userName": "BOB"})
    assert replaced.version == 2
    assert get(engine, tenant.id, bob.id).document == {"userName": "BOB"}


# Tenant isolation


def test_user_of_another_tenant_is_not_found(engine, tenant):
    other = make_tenant(engine)
    theirs = create(engine, other.id, {"userName": "theirs"})
    with engine.begin() as conn:
        with pytest.raises(NotFound):
            users.get_user(conn, tenant.id, theirs.id)
        with pytest.raises(NotFound):
            users.replace_user(conn, tenant.id, theirs.id, {"userName": "hijacked"})
        with pytest.raises(NotFound):
            users.delete_user(conn, tenant.id, theirs.id)
    still = get(engine, other.id, theirs.id)
    assert still.document == {"userName": "theirs"}
    assert still.version == 1


def test_query_users_sees_only_the_tenants_own_users(engine, tenant):
    other = make_tenant(engine)
    mine = create(engine, tenant.id, {"userName": "mine"})
    create(engine, other.id, {"userName": "theirs"})
    with engine.begin() as conn:
        total, page = query_users(conn, tenant.id, None, offset=0, limit=10)
    assert total == 1
    assert [u.id for u in page] == [mine.id]


# Replace


def test_replace_bumps_version_and_last_modified_and_keeps_created(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    changed = {**ALICE, "displayName": "Alice L."}
    with engine.begin() as conn:
        replaced = users.replace_user(conn, tenant.id, alice.id, changed)
    fetched = get(engine, tenant.id, alice.id)
    assert replaced.version == fetched.version == 2
    assert fetched.document == changed
    assert fetched.created == alice.created
    assert fetched.last_modified == replaced.last_modified
    assert fetched.last_modified > alice.last_modified
    with engine.begin() as conn:
        display = conn.execute(
            select(tables.User.display_name, tables.User.display_name_key).where(
                tables.User.tenant_id == tenant.id, tables.User.id == alice.id
            )
        ).one()
    assert tuple(display) == ("Alice L.", "alice l.")


def test_replace_with_identical_document_keeps_version_and_last_modified(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    with engine.begin() as conn:
        replaced = users.replace_user(conn, tenant.id, alice.id, dict(ALICE))
    fetched = get(engine, tenant.id, alice.id)
    assert replaced.version == fetched.version == 1
    assert fetched.last_modified == alice.last_modified


def test_replace_with_matching_expected_version_succeeds(engine, tenant):
    alice = create(engine, tenant.id, {"userName": "alice"})
    with engine.begin() as conn:
        replaced = users.replace_user(
            conn, tenant.id, alice.id, {"userName": "alice2"}, expected_version=1
        )
    assert replaced.version == 2
    assert get(engine, tenant.id, alice.id).document == {"userName": "alice2"}


def test_replace_with_stale_expected_version_raises_and_changes_nothing(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {**ALICE, "displayName": "v2"})
    with engine.begin() as conn:
        with pytest.raises(VersionMismatch):
            users.replace_user(
                conn,
                tenant.id,
                alice.id,
                {**ALICE, "displayName": "v3", "emails": []},
                expected_version=1,
            )
        # Checked inside the same transaction: nothing was written before the raise.
        current = users.get_user(conn, tenant.id, alice.id)
    assert current.version == 2
    assert current.document == {**ALICE, "displayName": "v2"}
    assert stored_emails(engine, tenant.id, alice.id) == [
        (0, "alice@example.com", "alice@example.com", "work", True)
    ]


def test_replace_without_user_name_raises_invalid_value_and_changes_nothing(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    with pytest.raises(InvalidValue):
        with engine.begin() as conn:
            users.replace_user(conn, tenant.id, alice.id, {"displayName": "nameless"})
    fetched = get(engine, tenant.id, alice.id)
    assert fetched.document == ALICE
    assert fetched.version == 1


def test_replace_rewrites_the_emails_side_table(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    assert stored_emails(engine, tenant.id, alice.id) == [
        (0, "alice@example.com", "alice@example.com", "work", True)
    ]
    new_emails = [
        {"value": "Alice@Home.example", "type": "home"},
        {"value": "a.liddell@example.com", "type": "work", "primary": True},
        {"type": "other"},  # no value: not indexed
    ]
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {**ALICE, "emails": new_emails})
    assert stored_emails(engine, tenant.id, alice.id) == [
        (0, "Alice@Home.example", "alice@home.example", "home", None),
        (1, "a.liddell@example.com", "a.liddell@example.com", "work", True),
    ]
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {"userName": ALICE["userName"]})
    assert stored_emails(engine, tenant.id, alice.id) == []


def test_active_false_is_stored_in_the_active_column(engine, tenant):
    alice = create(engine, tenant.id, {"userName": "alice"})
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {"userName": "alice", "active": False})
        active = conn.execute(
            select(tables.User.active).where(
                tables.User.tenant_id == tenant.id, tables.User.id == alice.id
            )
        ).scalar_one()
    assert active is False


# Delete


def test_delete_user_removes_it_and_its_emails(engine, tenant):
    alice = create(engine, tenant.id, ALICE)
    bob = create(engine, tenant.id, {"userName": "bob", "emails": [{"value": "b@example.com"}]})
    with engine.begin() as conn:
        users.delete_user(conn, tenant.id, alice.id)
    with pytest.raises(NotFound):
        get(engine, tenant.id, alice.id)
    assert stored_emails(engine, tenant.id, alice.id) == []
    assert len(stored_emails(engine, tenant.id, bob.id)) == 1
    assert user_ids(engine, tenant.id) == [bob.id]


def test_deleted_user_name_can_be_reused(engine, tenant):
    alice = create(engine, tenant.id, {"userName": "alice"})
    with engine.begin() as conn:
        users.delete_user(conn, tenant.id, alice.id)
    again = create(engine, tenant.id, {"userName": "Alice"})
    assert again.id != alice.id


def test_delete_with_stale_expected_version_raises_and_keeps_the_user(engine, tenant):
    alice = create(engine, tenant.id, {"userName": "alice"})
    with engine.begin() as conn:
        users.replace_user(conn, tenant.id, alice.id, {"userName": "alice", "active": False})
    with engine.begin() as conn:
        with pytest.raises(VersionMismatch):
            users.delete_user(conn, tenant.id, alice.id, expected_version=1)
        assert users.get_user(conn, tenant.id, alice.id).version == 2
    with engine.begin() as conn:
        users.delete_user(conn, tenant.id, alice.id, expected_version=2)
    assert user_ids(engine, tenant.id) == []


def test_delete_unknown_user_raises_not_found(engine, tenant):
    with engine.begin() as conn, pytest.raises(NotFound):
        users.delete_user(conn, tenant.id, "00000000-0000-0000-0000-000000000000")


# Query


@pytest.fixture
def five_users(engine, tenant):
    """Five users of ``tenant``, two of them inactive; sorted by id."""
    created = [
        create(engine, tenant.id, {"userName": f"user{i}", "active": i % 2 == 0}) for i in range(5)
    ]
    return sorted(created, key=lambda user: user.id)


def test_query_users_pages_by_offset_and_limit_in_id_order(engine, tenant, five_users):
    with engine.begin() as conn:
        pages = [
            query_users(conn, tenant.id, None, offset=offset, limit=2) for offset in (0, 2, 4, 6)
        ]
    assert [total for total, _ in pages] == [5, 5, 5, 5]
    assert [[u.id for u in page] for _, page in pages] == [
        [five_users[0].id, five_users[1].id],
        [five_users[2].id, five_users[3].id],
        [five_users[4].id],
        [],
    ]
    first = pages[0][1][0]
    assert first.document == five_users[0].document
    assert first.version == 1


def test_query_users_with_limit_zero_counts_without_rows(engine, tenant, five_users):
    with engine.begin() as conn:
        total, page = query_users(conn, tenant.id, None, offset=0, limit=0)
    assert (total, page) == (5, [])


def test_query_users_filters_by_a_where_expression(engine, tenant, five_users):
    inactive = sorted(u.id for u in five_users if u.document["active"] is False)
    assert len(inactive) == 2
    where = tables.User.active.is_(False)
    with engine.begin() as conn:
        total, page = query_users(conn, tenant.id, where, offset=0, limit=10)
        total_1, page_1 = query_users(conn, tenant.id, where, offset=1, limit=1)
    assert total == 2
    assert [u.id for u in page] == inactive
    assert all(u.document["active"] is False for u in page)
    assert total_1 == 2
    assert [u.id for u in page_1] == inactive[1:]


def test_query_users_by_user_name_key_matches_case_insensitively(engine, tenant, five_users):
    where = tables.User.user_name_key == "USER3".lower()
    with engine.begin() as conn:
        total, page = query_users(conn, tenant.id, where, offset=0, limit=10)
    assert total == 1
    assert page[0].document["userName"] == "user3"


def test_query_users_returns_each_users_groups(engine, tenant, five_users):
    member = five_users[0]
    with engine.begin() as conn:
        group = groups.create_group(conn, tenant.id, {"displayName": "staff"}, {member.id: None})
        _, page = query_users(conn, tenant.id, None, offset=0, limit=2)
        count = conn.execute(
            select(func.count())
            .select_from(tables.Membership)
            .where(tables.Membership.tenant_id == tenant.id)
        ).scalar_one()
    assert count == 1
    assert page[0].groups == [Reference(group.id, "Group", "staff")]
    assert page[1].groups == []
