"""Tenants and their API tokens (directory.tenants), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from directory import groups, tables, tenants, users
from directory.errors import Conflict, InvalidValue, NotFound
from tests.conftest import make_tenant


def unique_name(prefix: str = "tenant") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def rows_of_tenant(conn, tenant_id: int) -> dict[str, int]:
    """How many rows each tenant-owned table holds for ``tenant_id``."""
    owned = (
        tables.ApiToken,
        tables.User,
        tables.UserEmail,
        tables.Group,
        tables.Membership,
    )
    return {
        table.__tablename__: conn.execute(
            select(func.count()).select_from(table).where(table.tenant_id == tenant_id)
        ).scalar_one()
        for table in owned
    }


# Tenants


def test_create_tenant_returns_its_id_name_and_creation_time(engine):
    name = unique_name()
    with engine.begin() as conn:
        created = tenants.create_tenant(conn, name)
    with engine.begin() as conn:
        fetched = tenants.get_tenant(conn, name)
    assert fetched == created
    assert fetched.name == name
    assert fetched.created.utcoffset().total_seconds() == 0


def test_create_tenant_strips_surrounding_whitespace_from_the_name(engine):
    name = unique_name()
    with engine.begin() as conn:
        created = tenants.create_tenant(conn, f"  {name}\t")
    assert created.name == name
    with engine.begin() as conn:
        assert tenants.get_tenant(conn, name).id == created.id


def test_get_tenant_of_unknown_name_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound):
        tenants.get_tenant(conn, unique_name("missing"))


def test_duplicate_tenant_name_raises_conflict(engine):
    name = unique_name()
    with engine.begin() as conn:
        tenants.create_tenant(conn, name)
    with engine.begin() as conn, pytest.raises(Conflict):
        tenants.create_tenant(conn, name)


def test_duplicate_tenant_name_leaves_the_transaction_usable(engine):
    name, other = unique_name(), unique_name()
    with engine.begin() as conn:
        tenants.create_tenant(conn, name)
        with pytest.raises(Conflict):
            tenants.create_tenant(conn, name)
        tenants.create_tenant(conn, other)
    with engine.begin() as conn:
        assert tenants.get_tenant(conn, other).name == other


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_tenant_name_raises_invalid_value(engine, name):
    with engine.begin() as conn, pytest.raises(InvalidValue):
        tenants.create_tenant(conn, name)


def test_ensure_tenant_creates_a_missing_tenant_then_returns_the_same_one(engine):
    name = unique_name()
    with engine.begin() as conn:
        first = tenants.ensure_tenant(conn, name)
    with engine.begin() as conn:
        second = tenants.ensure_tenant(conn, name)
    assert second == first
    assert first.name == name


def test_ensure_tenant_with_padded_name_of_an_existing_tenant_returns_it(engine):
    name = unique_name()
    with engine.begin() as conn:
        existing = tenants.create_tenant(conn, name)
    with engine.begin() as conn:
        assert tenants.ensure_tenant(conn, f" {name} ") == existing


def test_list_tenants_includes_new_tenants_in_name_order(engine):
    base = uuid.uuid4().hex[:10]
    names = [f"list-{base}-b", f"list-{base}-a", f"list-{base}-c"]
    with engine.begin() as conn:
        ids = {name: tenants.create_tenant(conn, name).id for name in names}
    with engine.begin() as conn:
        listed = [t for t in tenants.list_tenants(conn) if t.name.startswith(f"list-{base}-")]
    assert [t.name for t in listed] == sorted(names)
    assert [t.id for t in listed] == [ids[name] for name in sorted(names)]


def test_delete_tenant_removes_the_tenant_and_everything_it_owns(engine):
    doomed = make_tenant(engine, "doomed")
    with engine.begin() as conn:
        alice = users.create_user(
            conn,
            doomed.id,
            {"userName": "alice", "emails": [{"value": "alice@example.com"}]},
        )
        inner = groups.create_group(conn, doomed.id, {"displayName": "inner"}, {alice.id: None})
        groups.create_group(conn, doomed.id, {"displayName": "outer"}, {inner.id: None})
        before = rows_of_tenant(conn, doomed.id)
    assert before == {
        "api_tokens": 1,
        "users": 1,
        "user_emails": 1,
        "groups": 2,
        "memberships": 2,
    }

    with engine.begin() as conn:
        tenants.delete_tenant(conn, doomed.name)

    with engine.begin() as conn:
        assert rows_of_tenant(conn, doomed.id) == dict.fromkeys(before, 0)
        assert tenants.authenticate(conn, doomed.token) is None
        assert doomed.name not in [t.name for t in tenants.list_tenants(conn)]
        with pytest.raises(NotFound):
            tenants.get_tenant(conn, doomed.name)


def test_delete_tenant_leaves_other_tenants_untouched(engine, tenant):
    doomed = make_tenant(engine, "doomed")
    with engine.begin() as conn:
        kept = users.create_user(conn, tenant.id, {"userName": "same-name"})
        users.create_user(conn, doomed.id, {"userName": "same-name"})
    with engine.begin() as conn:
        tenants.delete_tenant(conn, doomed.name)
    with engine.begin() as conn:
        assert users.get_user(conn, tenant.id, kept.id).document == {"userName": "same-name"}
        principal = tenants.authenticate(conn, tenant.token)
    assert principal is not None
    assert principal.tenant_id == tenant.id


def test_delete_unknown_tenant_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound):
        tenants.delete_tenant(conn, unique_name("missing"))


# Tokens


def test_create_token_returns_a_secret_with_the_scimd_prefix(engine, tenant):
    with engine.begin() as conn:
        secret, info = tenants.create_token(conn, tenant.id, description="okta")
    assert secret.startswith("scimd_")
    assert len(secret) > len("scimd_") + 40  # 32 random bytes, base64url
    assert info.prefix == secret[:12]
    assert info.tenant_id == tenant.id
    assert info.tenant_name == tenant.name
    assert info.scopes == ("scim",)
    assert info.description == "okta"
    assert info.revoked is None


def test_each_token_secret_is_different(engine, tenant):
    with engine.begin() as conn:
        secrets = {tenants.create_token(conn, tenant.id)[0] for _ in range(5)}
    assert len(secrets) == 5


def test_only_the_sha256_of_a_token_is_stored(engine, tenant):
    with engine.begin() as conn:
        secret, info = tenants.create_token(conn, tenant.id, description="entra")
    with engine.begin() as conn:
        row = conn.execute(select(tables.ApiToken).where(tables.ApiToken.id == info.id)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(value) for value in row._mapping.values()]
    assert len(stored) == 8
    for value in stored:
        assert secret not in value
        assert secret[len("scimd_") :] not in value
    assert row.prefix == secret[:12]


def test_authenticate_returns_the_tenant_and_scopes_of_the_token(engine, tenant):
    other = make_tenant(engine)
    with engine.begin() as conn:
        secret, info = tenants.create_token(conn, tenant.id)
    with engine.begin() as conn:
        principal = tenants.authenticate(conn, secret)
        other_principal = tenants.authenticate(conn, other.token)
    assert principal == tenants.Principal(
        tenant_id=tenant.id, token_id=info.id, scopes=frozenset({"scim"})
    )
    assert other_principal is not None
    assert other_principal.tenant_id == other.id


def test_authenticate_unknown_token_returns_none(engine, tenant):
    with engine.begin() as conn:
        assert tenants.authenticate(conn, "scimd_" + "x" * 43) is None
        assert tenants.authenticate(conn, "") is None
        assert tenants.authenticate(conn, tenant.token + "x") is None


def test_authenticate_by_stored_hash_instead_of_secret_returns_none(engine, tenant):
    with engine.begin() as conn:
        assert tenants.authenticate(conn, tenants.hash_token(tenant.token)) is None


def test_revoked_token_no_longer_authenticates(engine, tenant):
    with engine.begin() as conn:
        secret, info = tenants.create_token(conn, tenant.id)
        kept, _ = tenants.create_token(conn, tenant.id)
    with engine.begin() as conn:
        tenants.revoke_token(conn, info.id)
    with engine.begin() as conn:
        assert tenants.authenticate(conn, secret) is None
        still = tenants.authenticate(conn, kept)
        listed = {t.id: t for t in tenants.list_tokens(conn, tenant.name)}
    assert still is not None
    assert still.tenant_id == tenant.id
    assert listed[info.id].revoked is not None
    assert listed[info.id].revoked >= listed[info.id].created


def test_revoking_a_token_twice_raises_not_found(engine, tenant):
    with engine.begin() as conn:
        _, info = tenants.create_token(conn, tenant.id)
    with engine.begin() as conn:
        tenants.revoke_token(conn, info.id)
    with engine.begin() as conn, pytest.raises(NotFound):
        tenants.revoke_token(conn, info.id)


def test_revoking_an_unknown_token_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound):
        tenants.revoke_token(conn, 2_000_000_000)


@pytest.mark.parametrize("scopes", [(), ("superuser",), ("scim", "root")])
def test_create_token_with_unknown_or_no_scopes_raises_invalid_value(engine, tenant, scopes):
    with engine.begin() as conn:
        with pytest.raises(InvalidValue):
            tenants.create_token(conn, tenant.id, scopes=scopes)
        count = conn.execute(
            select(func.count())
            .select_from(tables.ApiToken)
            .where(tables.ApiToken.tenant_id == tenant.id)
        ).scalar_one()
    assert count == 1  # only the fixture's token


def test_create_token_for_an_unknown_tenant_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound):
        tenants.create_token(conn, 2_000_000_000)


def test_list_tokens_of_a_tenant_shows_prefixes_but_never_secrets(engine, tenant):
    other = make_tenant(engine)
    with engine.begin() as conn:
        second, second_info = tenants.create_token(conn, tenant.id, description="second")
    with engine.begin() as conn:
        listed = tenants.list_tokens(conn, tenant.name)
        everything = tenants.list_tokens(conn)
    assert [t.prefix for t in listed] == [tenant.token[:12], second[:12]]
    assert listed[1] == second_info
    assert {t.tenant_name for t in listed} == {tenant.name}
    for info in everything:
        for secret in (tenant.token, second, other.token):
            assert secret not in repr(info)
            assert secret not in [str(value) for value in vars(info).values()]
    assert other.token[:12] in [t.prefix for t in everything]


def test_list_tokens_of_unknown_tenant_is_empty(engine):
    with engine.begin() as conn:
        assert tenants.list_tokens(conn, unique_name("missing")) == []
