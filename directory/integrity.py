"""The store's integrity check: does every derived row still agree with what it derives from?

A user or group is stored as its document plus columns and side tables derived from it
(``directory.tables``), and every write keeps them in step inside one unit of work. A
crash that a backend mishandled, a hand-made SQL fix, a partial restore, or any client that
opens a SQLite file with foreign keys off (its default) can leave them apart; filters,
sign-in and uniqueness then go silently wrong. This module recomputes each derivation with
the directory's own functions (never a copy of their logic, so the check cannot drift from
the writes) and reports every disagreement. It repairs nothing.

Users and groups are read in keyset pages by primary key, so memory stays bounded on a
tenant of a million users; the checks across rows (dangling references, duplicates) are
anti-joins and GROUP BYs the database runs, whose results are only the problems.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, Text, cast, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute

from directory import database, groups, tables, users
from directory.errors import InvalidValue
from directory.memberships import MEMBER_TYPES

BATCH = 1000  # users or groups read per query

# Never kept in a document: derived from columns and memberships, or never returned.
_NOT_IN_USERS = frozenset({"id", "meta", "groups", "password"})
_NOT_IN_GROUPS = frozenset({"id", "meta", "members"})

# Rows that belong to a user: their (tenant_id, user_id) must name one of the tenant's users.
# Foreign keys say so too, but SQLite enforces them only on connections that ask.
_OWNED_BY_USERS: tuple[Any, ...] = (
    tables.UserEmail, tables.Account, tables.Credential, tables.Grant, tables.Resource,
    tables.SsoLink, tables.PasswordHistory,
)  # fmt: skip

# What the application promises unique within a tenant: (target prefix, what is repeated, key).
# The schema holds each of them too on both backends; a restore or a rebuilt index may not.
_UNIQUE: tuple[tuple[str, str, tuple[InstrumentedAttribute[Any], ...]], ...] = (
    ("userName", "users have this userName (case-insensitively)", (tables.User.user_name_key,)),
    ("membership", "rows hold this membership", (tables.Membership.group_id,
                                                 tables.Membership.member_id)),
    ("sso_link", "accounts are linked to this object id",
     (tables.SsoLink.provider, tables.SsoLink.object_id)),
    ("sso_link", "object ids are linked to this account",
     (tables.SsoLink.provider, tables.SsoLink.user_id)),
    ("resource", "resources belong to this account", (tables.Resource.user_id,)),
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One disagreement: ``kind`` says which rule, ``target`` which row (``user:ID``...)."""

    tenant_id: int
    kind: str  # document | version | column | emails | dangling | membership | duplicate
    target: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: {self.kind} {self.target}: {self.detail}"


@dataclass
class Report:
    """What a check read, and what it found."""

    users: int = 0
    groups: int = 0
    memberships: int = 0
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"consistent": not self.problems, **asdict(self)}


def check(conn: Connection, tenant_id: int | None = None) -> list[Problem]:
    """Every problem of one tenant's data, or of every tenant's; empty when consistent."""
    return examine(conn, tenant_id).problems


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that reads one consistent state of the store and blocks no writer.

    Without it a write landing between two pages (a user read, then its emails) would look
    like a disagreement on a live server. On SQLite a deferred BEGIN holds a WAL snapshot
    (the store's engine would begin IMMEDIATE and stop every writer for the whole check);
    on PostgreSQL a read-only REPEATABLE READ transaction does. (While it lasts, SQLite
    cannot checkpoint past it: the WAL file grows by what is written meanwhile.)
    """
    if engine.dialect.name == "sqlite":
        with database.readonly(engine).connect() as conn:
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
        return
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.execution_options(**options).connect() as conn:
        yield conn


def examine(conn: Connection, tenant_id: int | None = None) -> Report:
    """``check``, with the counts of what was read (for ``scimd db check``)."""
    report = Report()
    if tenant_id is None:
        every = select(tables.Tenant.id).order_by(tables.Tenant.id)
        tenant_ids = list(conn.execute(every).scalars())
    else:
        tenant_ids = [tenant_id]
    for tenant in tenant_ids:
        for page in _pages(conn, tables.User, tenant):
            report.users += len(page)
            report.problems += _check_users(conn, tenant, page)
        for page in _pages(conn, tables.Group, tenant):
            report.groups += len(page)
            for row in page:
                _, found = _check_document(
                    tenant, f"group:{row.id}", row, groups._indexed_columns, _NOT_IN_GROUPS
                )
                report.problems += found
    counted = select(func.count()).select_from(tables.Membership)
    report.memberships = conn.execute(_scoped(counted, tables.Membership, tenant_id)).scalar_one()
    report.problems += _dangling(conn, tenant_id)
    report.problems += _duplicates(conn, tenant_id)
    return report


def _scoped(query: Any, table: Any, tenant_id: int | None) -> Any:
    return query if tenant_id is None else query.where(table.tenant_id == tenant_id)


def _pages(conn: Connection, table: Any, tenant_id: int) -> Iterator[list[Row[Any]]]:
    """A tenant's rows, BATCH at a time, in primary-key order: each page an index range scan."""
    # The document as text: a row that is not valid JSON must be a problem, not an exception
    # raised while the driver decodes it.
    columns = [column for column in table.__table__.c if column.name != "document"]
    query = (
        select(*columns, cast(table.document, Text).label("document"))
        .where(table.tenant_id == tenant_id)
        .order_by(table.id)
        .limit(BATCH)
    )
    after: str | None = None
    while True:
        rows: list[Row[Any]] = list(
            conn.execute(query if after is None else query.where(table.id > after))
        )
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def _check_document(
    tenant_id: int,
    target: str,
    row: Row[Any],
    derive: Callable[[dict[str, Any]], dict[str, Any]],
    not_stored: frozenset[str],
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A user's or group's version, document and indexed columns; the document if usable.

    ``derive`` is the function the writes take the columns from (``users._indexed_columns``,
    ``groups._indexed_columns``): this check knows no rule of its own.
    """
    problems = []
    if row.version is None or row.version < 1:
        problems.append(Problem(tenant_id, "version", target, f"version {row.version} < 1"))
    try:
        document = json.loads(row.document) if isinstance(row.document, str) else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        problems.append(Problem(tenant_id, "document", target, "not a JSON object"))
        return None, problems
    kept = sorted(not_stored & document.keys())
    if kept:
        detail = f"keeps {', '.join(kept)}, which are derived or never stored"
        problems.append(Problem(tenant_id, "document", target, detail))
    try:
        derived = derive(document)
    except InvalidValue as exc:
        problems.append(Problem(tenant_id, "document", target, exc.detail))
        return None, problems
    for name, value in derived.items():
        stored = row._mapping[name]
        if stored != value:
            detail = f"{name} is {stored!r}, the document gives {value!r}"
            problems.append(Problem(tenant_id, "column", target, detail))
    return document, problems


_EMAIL_FIELDS = ("value", "value_key", "type", "primary")


def _check_users(conn: Connection, tenant_id: int, page: list[Row[Any]]) -> list[Problem]:
    """A page of users: documents and columns, then their ``user_emails`` rows (one query)."""
    stored: dict[str, dict[int, tuple[Any, ...]]] = {row.id: {} for row in page}
    email = tables.UserEmail
    rows = conn.execute(
        select(email.user_id, email.position, *(getattr(email, f) for f in _EMAIL_FIELDS)).where(
            email.tenant_id == tenant_id, email.user_id.in_(list(stored))
        )
    )
    for user_id, position, *values in rows:
        stored[user_id][position] = tuple(values)
    problems = []
    for row in page:
        target = f"user:{row.id}"
        document, found = _check_document(
            tenant_id, target, row, users._indexed_columns, _NOT_IN_USERS
        )
        problems += found
        if document is None:
            continue
        try:
            wanted = users._email_rows(tenant_id, row.id, document)
        except InvalidValue as exc:
            problems.append(Problem(tenant_id, "document", target, exc.detail))
            continue
        expected = {e["position"]: tuple(e[f] for f in _EMAIL_FIELDS) for e in wanted}
        detail = _difference(expected, stored[row.id])
        if detail:
            problems.append(Problem(tenant_id, "emails", target, f"user_emails rows {detail}"))
    return problems


def _difference(expected: dict[int, Any], stored: dict[int, Any]) -> str:
    """How a user's stored email rows differ from its document's, by position."""
    missing = sorted(expected.keys() - stored.keys())
    extra = sorted(stored.keys() - expected.keys())
    parts = [f"missing at positions {missing}"] if missing else []
    parts += [f"not in the document at positions {extra}"] if extra else []
    for position in sorted(p for p in expected.keys() & stored.keys() if expected[p] != stored[p]):
        parts.append(
            f"at position {position} hold {stored[position]!r}, not {expected[position]!r}"
        )
    return "; ".join(parts)


def _absent(parent: Any, tenant_column: Any, id_column: Any) -> Any:
    """True where (tenant, id) names no row of ``parent`` in that tenant."""
    return ~exists().where(parent.tenant_id == tenant_column, parent.id == id_column)


def _dangling(conn: Connection, tenant_id: int | None) -> Iterator[Problem]:
    """Rows that refer to a user, group or member the tenant does not have."""
    for table in (tables.User, tables.Group):
        orphans = select(table.tenant_id, table.id).where(
            ~exists().where(tables.Tenant.id == table.tenant_id)
        )
        kind = table.__tablename__[:-1]
        for tenant, id in conn.execute(_scoped(orphans, table, tenant_id)):
            yield Problem(tenant, "dangling", f"{kind}:{id}", f"tenant {tenant} does not exist")
    for table in _OWNED_BY_USERS:
        owned = (
            select(table.tenant_id, table.user_id)
            .distinct()
            .where(_absent(tables.User, table.tenant_id, table.user_id))
            .order_by(table.tenant_id, table.user_id)
        )
        for tenant, user_id in conn.execute(_scoped(owned, table, tenant_id)):
            detail = f"rows refer to user {user_id}, which the tenant does not have"
            yield Problem(tenant, "dangling", f"{table.__tablename__}:{user_id}", detail)
    m = tables.Membership
    no_user = (m.member_type == "User") & _absent(tables.User, m.tenant_id, m.member_id)
    no_group = (m.member_type == "Group") & _absent(tables.Group, m.tenant_id, m.member_id)
    checks = (
        ("dangling", _absent(tables.Group, m.tenant_id, m.group_id), "its group does not exist"),
        ("dangling", no_user, "its member, a user, does not exist"),
        ("dangling", no_group, "its member, a group, does not exist"),
        ("membership", m.member_type.not_in(MEMBER_TYPES), "member type not User or Group"),
        ("membership", m.group_id == m.member_id, "a group is a member of itself"),
    )
    for kind, condition, detail in checks:
        columns = (m.tenant_id, m.group_id, m.member_id)
        query = select(*columns).where(condition).order_by(*columns)
        for tenant, group_id, member_id in conn.execute(_scoped(query, m, tenant_id)):
            yield Problem(tenant, kind, f"membership:{group_id}/{member_id}", detail)


def _duplicates(conn: Connection, tenant_id: int | None) -> Iterator[Problem]:
    """Keys the application promises unique per tenant that several rows share."""
    for prefix, what, key in _UNIQUE:
        table = key[0].class_
        query = (
            select(table.tenant_id, *key, func.count())
            .group_by(table.tenant_id, *key)
            .having(func.count() > 1)
            .order_by(table.tenant_id, *key)
        )
        for tenant, *values, count in conn.execute(_scoped(query, table, tenant_id)):
            target = f"{prefix}:{'/'.join(str(value) for value in values)}"
            yield Problem(tenant, "duplicate", target, f"{count} {what}")
