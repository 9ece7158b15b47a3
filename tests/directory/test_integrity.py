"""The store's integrity check (directory.integrity), on SQLite and PostgreSQL.

A store written through the directory's functions is consistent; each corruption, made with
SQL behind the directory's back, is reported with its kind and target, in its tenant only.
Corrupted tenants are deleted when their test ends: the session's database is shared.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from directory import (
    accounts,
    credentials,
    database,
    groups,
    integrity,
    memberships,
    tables,
    tenants,
    users,
)
from directory.audit import Actor
from directory.clock import utcnow
from sso import links
from tests.conftest import Tenant, make_tenant
from tests.support.live_server import run_scimd

ADMIN = Actor("system", "test")


@pytest.fixture
def scratch(engine: Engine) -> Iterator[list[Tenant]]:
    """Tenants made on demand (``make(engine, scratch)``), deleted with all they own at the end."""
    made: list[Tenant] = []
    yield made
    with engine.begin() as conn:
        for tenant in made:
            tenants.delete_tenant(conn, tenant.name)


def make(engine: Engine, made: list[Tenant]) -> Tenant:
    made.append(make_tenant(engine, "integrity"))
    return made[-1]


def found(engine: Engine, tenant_id: int | None) -> list[integrity.Problem]:
    with integrity.snapshot(engine) as conn:
        return integrity.check(conn, tenant_id)


def kinds(engine: Engine, tenant_id: int) -> set[tuple[str, str]]:
    return {(problem.kind, problem.target) for problem in found(engine, tenant_id)}


def user(conn, tenant_id: int, name: str, *emails: str) -> str:
    document = {
        "userName": name,
        "displayName": name.title(),
        "active": True,
        "emails": [{"value": email, "type": "work"} for email in emails],
    }
    return users.create_user(conn, tenant_id, document).id


def populate(engine: Engine, tenant_id: int) -> dict[str, str]:
    """Users, groups and memberships made and changed through the directory: their ids."""
    with engine.begin() as conn:
        ann = user(conn, tenant_id, "ann@example.com", "ann@example.com", "ann@home.example")
        bob = user(conn, tenant_id, "bob@example.com", "bob@example.com")
        eve = user(conn, tenant_id, "eve@example.com")
        staff = groups.create_group(conn, tenant_id, {"displayName": "Staff"}, {ann: None}).id
        admins = groups.create_group(conn, tenant_id, {"displayName": "Admins"}, {bob: "B"}).id
        memberships.add_members(conn, tenant_id, staff, {admins: None, eve: None})
        current = users.get_user(conn, tenant_id, bob)
        changed = {**current.document, "displayName": "Robert", "active": False}
        changed["emails"] = [{"value": "rob@example.com", "primary": True}, *changed["emails"]]
        users.replace_user(conn, tenant_id, bob, changed)
        users.delete_user(conn, tenant_id, eve)
        accounts.set_fields(conn, tenant_id, ann, login_allowed=True)
        credentials.new(conn, tenant_id, ann, "session", timedelta(hours=1), None)
        links.add(conn, tenant_id, "azure_ad", f"oid-{uuid.uuid4()}", ann, ADMIN)
    return {"ann": ann, "bob": bob, "staff": staff, "admins": admins}


def test_a_store_written_through_the_directory_is_consistent(engine, scratch):
    tenant = make(engine, scratch)
    populate(engine, tenant.id)
    with integrity.snapshot(engine) as conn:
        report = integrity.examine(conn, tenant.id)
    assert report.problems == []
    # eve was deleted, and her memberships with her: ann and admins in staff, bob in admins.
    assert (report.users, report.groups, report.memberships) == (2, 2, 3)
    assert report.to_json() == {
        "consistent": True,
        "users": 2,
        "groups": 2,
        "memberships": 3,
        "problems": [],
    }


def test_pages_are_read_by_keyset_past_the_batch_size(engine, scratch, monkeypatch):
    tenant = make(engine, scratch)
    with engine.begin() as conn:
        ids = sorted(
            user(conn, tenant.id, f"u{i}@example.com", f"u{i}@x.example") for i in range(7)
        )
    monkeypatch.setattr(integrity, "BATCH", 3)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET display_name = 'x' WHERE id = :id"), {"id": ids[6]})
    with integrity.snapshot(engine) as conn:
        report = integrity.examine(conn, tenant.id)
    assert report.users == 7
    assert [(p.kind, p.target) for p in report.problems] == [("column", f"user:{ids[6]}")]


def test_an_indexed_column_that_disagrees_with_its_document_is_reported(engine, scratch):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    with engine.begin() as conn:
        conn.execute(
            update(tables.User)
            .where(tables.User.tenant_id == tenant.id, tables.User.id == ids["ann"])
            .values(display_name_key="someone else", active=False)
        )
        conn.execute(
            update(tables.Group)
            .where(tables.Group.tenant_id == tenant.id, tables.Group.id == ids["staff"])
            .values(external_id="ext-1")
        )
    problems = found(engine, tenant.id)
    assert sorted((p.kind, p.target, p.detail) for p in problems) == sorted(
        [
            ("column", f"group:{ids['staff']}", "external_id is 'ext-1', the document gives None"),
            ("column", f"user:{ids['ann']}", "active is False, the document gives True"),
            (
                "column",
                f"user:{ids['ann']}",
                "display_name_key is 'someone else', the document gives 'ann@example.com'",
            ),
        ]
    )
    assert {p.tenant_id for p in problems} == {tenant.id}


def test_an_email_row_missing_changed_or_extra_is_reported(engine, scratch):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    email = tables.UserEmail
    with engine.begin() as conn:
        of = (email.tenant_id == tenant.id) & (email.user_id == ids["ann"])
        conn.execute(delete(email).where(of, email.position == 1))
        conn.execute(update(email).where(of, email.position == 0).values(value_key="ANN@"))
        conn.execute(
            insert(email).values(
                tenant_id=tenant.id, user_id=ids["bob"], position=7, value="x@y", value_key="x@y"
            )
        )
    problems = {p.target: p for p in found(engine, tenant.id)}
    assert {(p.kind, target) for target, p in problems.items()} == {
        ("emails", f"user:{ids['ann']}"),
        ("emails", f"user:{ids['bob']}"),
    }
    assert "missing at positions [1]" in problems[f"user:{ids['ann']}"].detail
    assert "at position 0 hold ('ann@example.com', 'ANN@'" in problems[f"user:{ids['ann']}"].detail
    assert "not in the document at positions [7]" in problems[f"user:{ids['bob']}"].detail


def test_memberships_of_members_that_do_not_exist_are_reported(engine, scratch):
    tenant, other = make(engine, scratch), make(engine, scratch)
    ids = populate(engine, tenant.id)
    with engine.begin() as conn:
        stranger = user(conn, other.id, "stranger@example.com")
    rows = [
        ("ghost", "User"),  # no such user
        (stranger, "User"),  # a user of another tenant
        (ids["ann"], "Group"),  # a user recorded as a group
        (ids["staff"], "Robot"),
        (ids["admins"], "Group"),  # the group itself
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(tables.Membership),
            [
                {
                    "tenant_id": tenant.id,
                    "group_id": ids["admins"],
                    "member_id": m,
                    "member_type": t,
                }
                for m, t in rows
            ],
        )
    target = f"membership:{ids['admins']}/"
    assert kinds(engine, tenant.id) == {
        ("dangling", target + "ghost"),
        ("dangling", target + stranger),
        ("dangling", target + ids["ann"]),
        ("membership", target + ids["staff"]),
        ("membership", target + ids["admins"]),
    }
    assert found(engine, other.id) == []


def _with(**changes):
    return lambda document: {**document, **changes}


@pytest.mark.parametrize(
    ("table", "corrupt", "detail"),
    [
        ("users", lambda document: "a string", "not a JSON object"),
        ("users", lambda document: [document], "not a JSON object"),
        ("users", lambda document: {"displayName": "No Name"}, "userName is required"),
        ("users", _with(userName=42), "userName must be a string, got int"),
        ("users", _with(password="secret"), "keeps password"),
        ("groups", lambda document: {}, "displayName is required"),
        ("groups", _with(members=[]), "keeps members"),
        ("groups", _with(meta={}, id="x"), "keeps id, meta"),
    ],
    ids=["string", "array", "no userName", "userName not text", "password", "no displayName",
         "members", "meta"],
)  # fmt: skip
def test_a_broken_document_is_reported(engine, scratch, table, corrupt, detail):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    model = tables.User if table == "users" else tables.Group
    id = ids["ann"] if table == "users" else ids["staff"]
    row = (model.tenant_id == tenant.id) & (model.id == id)
    with engine.begin() as conn:
        document = conn.execute(select(model.document).where(row)).scalar_one()
        conn.execute(update(model).where(row).values(document=corrupt(document)))
    (problem,) = found(engine, tenant.id)
    assert (problem.kind, problem.target) == ("document", f"{table[:-1]}:{id}")
    assert detail in problem.detail


def test_a_document_that_is_not_json_and_a_version_below_one_are_reported(engine, scratch):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    with engine.begin() as conn:
        conn.execute(text("UPDATE groups SET version = 0 WHERE id = :id"), {"id": ids["staff"]})
        if engine.dialect.name == "sqlite":  # PostgreSQL's JSONB refuses text that is not JSON
            conn.execute(
                text("UPDATE users SET document = '{oops' WHERE id = :id"), {"id": ids["ann"]}
            )
    expected = {("version", f"group:{ids['staff']}")}
    if engine.dialect.name == "sqlite":
        expected.add(("document", f"user:{ids['ann']}"))
    assert kinds(engine, tenant.id) == expected


def test_rows_of_users_that_do_not_exist_are_reported_where_foreign_keys_are_off(
    engine, database_url, scratch
):
    """SQLite enforces foreign keys only on connections that ask (scimd's do); another
    client's do not. PostgreSQL always does, so there the rows cannot even be written."""
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    ghost = str(uuid.uuid4())
    rows = {
        tables.Account: {"tenant_id": tenant.id, "user_id": ghost},
        tables.UserEmail: {
            "tenant_id": tenant.id,
            "user_id": ghost,
            "position": 0,
            "value": "g@x",
            "value_key": "g@x",
        },
        tables.Grant: {"tenant_id": tenant.id, "user_id": ghost, "kind": "role", "code": "r"},
        tables.Membership: {
            "tenant_id": tenant.id,
            "group_id": "no-group",
            "member_id": ids["ann"],
            "member_type": "User",
        },
    }
    if engine.dialect.name == "postgresql":
        for table, row in rows.items():
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(insert(table).values(row))
        return
    other_client = create_engine(database_url)  # pysqlite's default: foreign keys off
    try:
        with other_client.begin() as conn:
            for table, row in rows.items():
                conn.execute(insert(table).values(row))
        assert kinds(engine, tenant.id) == {
            ("dangling", f"accounts:{ghost}"),
            ("dangling", f"user_emails:{ghost}"),
            ("dangling", f"grants:{ghost}"),
            ("dangling", f"membership:no-group/{ids['ann']}"),
        }
    finally:
        with other_client.begin() as conn:  # tenant deletion would leave them behind
            for table in rows:
                conn.execute(delete(table).where(table.tenant_id == tenant.id))
        other_client.dispose()


def test_a_duplicate_user_name_is_refused_by_the_schema_on_every_backend(engine, scratch):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    with engine.begin() as conn:
        row = dict(
            conn.execute(select(tables.User.__table__).where(tables.User.id == ids["ann"]))
            .one()
            ._mapping
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(tables.User).values({**row, "id": str(uuid.uuid4())}))


def test_duplicates_are_reported_where_the_unique_indexes_are_missing(tmp_path):
    """The application's uniqueness, checked apart from the schema's: a store whose unique
    indexes were lost (a restore without them) keeps working and breaks the promises."""
    engine = database.create_store_engine(f"sqlite:///{tmp_path / 'lost-indexes.db'}")
    database.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_users_tenant_id_user_name_key"))
        conn.execute(text("DROP INDEX ix_sso_links_tenant_id_provider_user_id"))
        tenant = tenants.create_tenant(conn, "lost").id
        # The insert only skips conflicts: with the index gone, the second one is stored.
        ann = user(conn, tenant, "ann@example.com")
        user(conn, tenant, "ANN@example.com")
        links.add(conn, tenant, "okta", "oid-1", ann, ADMIN)
        conn.execute(
            insert(tables.SsoLink).values(
                tenant_id=tenant,
                provider="okta",
                object_id="oid-2",
                user_id=ann,
                created=utcnow(),
                created_by="sql",
            )
        )
    with integrity.snapshot(engine) as conn:
        problems = integrity.check(conn)
    engine.dispose()
    assert [(p.kind, p.target, p.detail) for p in problems] == [
        (
            "duplicate",
            "userName:ann@example.com",
            "2 users have this userName (case-insensitively)",
        ),
        ("duplicate", f"sso_link:okta/{ann}", "2 object ids are linked to this account"),
    ]


def test_a_problem_in_one_tenant_is_not_reported_for_another(engine, scratch):
    broken, sound = make(engine, scratch), make(engine, scratch)
    ids = populate(engine, broken.id)
    populate(engine, sound.id)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET user_name = 'x' WHERE id = :id"), {"id": ids["ann"]})
        conn.execute(
            insert(tables.Membership).values(
                tenant_id=broken.id, group_id=ids["staff"], member_id="ghost", member_type="User"
            )
        )
    assert found(engine, sound.id) == []
    mine = kinds(engine, broken.id)
    assert mine == {
        ("column", f"user:{ids['ann']}"),
        ("dangling", f"membership:{ids['staff']}/ghost"),
    }
    everyone = found(engine, None)  # other tests' tenants share the database
    assert {(p.kind, p.target) for p in everyone if p.tenant_id == broken.id} == mine
    assert not [p for p in everyone if p.tenant_id == sound.id]


def test_scimd_db_check_exits_0_when_consistent_and_1_with_one_line_per_problem(
    engine, database_url, scratch
):
    tenant = make(engine, scratch)
    ids = populate(engine, tenant.id)
    args = ("db", "check", "--tenant", tenant.name, "--database-url", database_url)

    result = run_scimd(*args)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "store is consistent: 2 users, 2 groups, 3 memberships checked\n"

    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = NULL WHERE id = :id"), {"id": ids["ann"]})
        conn.execute(text("DELETE FROM user_emails WHERE user_id = :id"), {"id": ids["bob"]})
    result = run_scimd(*args)
    assert result.returncode == 1
    # In the order the check reads them: by id.
    prefix = f"tenant {tenant.id}:"
    assert result.stdout.splitlines() == sorted(
        [
            f"{prefix} column user:{ids['ann']}: active is None, the document gives True",
            f"{prefix} emails user:{ids['bob']}: user_emails rows missing at positions [0, 1]",
        ],
        key=lambda line: line.split("user:")[1],
    )
    assert result.stderr == "scimd: 2 problems found (2 users, 2 groups, 3 memberships checked)\n"

    result = run_scimd(*args, "--json")
    assert result.returncode == 1
    shown = json.loads(result.stdout)
    assert (shown["consistent"], shown["users"], len(shown["problems"])) == (False, 2, 2)
    assert {
        "tenant_id": tenant.id,
        "kind": "column",
        "target": f"user:{ids['ann']}",
        "detail": "active is None, the document gives True",
    } in shown["problems"]

    result = run_scimd("db", "check", "--tenant", "no-such-tenant", "--database-url", database_url)
    assert (result.returncode, result.stderr) == (1, "scimd: no tenant named 'no-such-tenant'\n")
