"""Users: the canonical SCIM document plus the columns and emails queries use.

Every function takes an open connection inside the caller's transaction, so a
request (or a bulk operation) is one unit of work whatever it calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from directory import memberships, paging, tables
from directory.clock import as_utc, utcnow
from directory.errors import Conflict, NotFound, VersionMismatch
from directory.paging import Page, PageRequest
from directory.records import StoredUser
from directory.values import (
    EMAIL_LENGTH,
    NAME_LENGTH,
    bounded_key,
    bounded_text,
    comparison_key,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_USER_COLUMNS = (
    tables.User.id,
    tables.User.document,
    tables.User.created,
    tables.User.last_modified,
    tables.User.version,
)


def _indexed_columns(document: dict[str, Any]) -> dict[str, Any]:
    """The columns derived from a user document: one place decides them."""
    user_name = bounded_text("userName", document.get("userName"), NAME_LENGTH, required=True)
    assert user_name is not None
    display_name = bounded_text("displayName", document.get("displayName"), NAME_LENGTH)
    active = document.get("active")
    return {
        "user_name": user_name,
        "user_name_key": bounded_key("userName", user_name, NAME_LENGTH),
        "external_id": bounded_text("externalId", document.get("externalId"), NAME_LENGTH),
        "display_name": display_name,
        "display_name_key": (
            bounded_key("displayName", display_name, NAME_LENGTH) if display_name else None
        ),
        "active": None if active is None else bool(active),
    }


def _email_rows(tenant_id: int, user_id: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for position, email in enumerate(document.get("emails") or []):
        value = email.get("value") if isinstance(email, dict) else None
        if value is None:
            continue
        value = bounded_text("emails.value", value, EMAIL_LENGTH)
        assert value is not None
        rows.append(
            {
                "tenant_id": tenant_id,
                "user_id": user_id,
                "position": position,
                "value": value,
                "value_key": bounded_key("emails.value", value, EMAIL_LENGTH),
                "type": bounded_text("emails.type", email.get("type"), 64),
                "primary": None if email.get("primary") is None else bool(email["primary"]),
            }
        )
    return rows


_DELETE_EMAILS = delete(tables.UserEmail).where(
    tables.UserEmail.tenant_id == bindparam("tenant"), tables.UserEmail.user_id == bindparam("id")
)
_INSERT_EMAILS = insert(tables.UserEmail)
# A duplicate userName inserts nothing instead of raising: no savepoint is needed
# to keep the caller's transaction usable (a /Bulk request goes on), and a
# create is two statements. Built once per dialect.
_INSERT_USER = {
    "sqlite": sqlite_insert(tables.User).on_conflict_do_nothing().returning(tables.User.id),
    "postgresql": postgresql_insert(tables.User).on_conflict_do_nothing().returning(tables.User.id),
}


def _write_emails(
    conn: Connection, tenant_id: int, user_id: str, document: dict[str, Any], *, new: bool = False
) -> None:
    if not new:
        conn.execute(_DELETE_EMAILS, {"tenant": tenant_id, "id": user_id})
    rows = _email_rows(tenant_id, user_id, document)
    if rows:
        conn.execute(_INSERT_EMAILS, rows)


def _user_name_taken(document: dict[str, Any]) -> Conflict:
    return Conflict(f"userName {document.get('userName')!r} is already taken")


def _login_keys(document: dict[str, Any]) -> set[str]:
    """The logins a document gives its user: the userName and every email, folded."""
    keys = {comparison_key(document["userName"])} if document.get("userName") else set()
    for email in document.get("emails") or []:
        if isinstance(email, dict) and isinstance(email.get("value"), str):
            keys.add(comparison_key(email["value"]))
    return keys


_ACTIVE_ELSEWHERE_BY_NAME = (
    select(tables.User.user_name_key)
    .where(
        tables.User.user_name_key.in_(bindparam("keys", expanding=True)),
        tables.User.tenant_id != bindparam("tenant"),
        or_(tables.User.active.is_(None), tables.User.active.is_(True)),
    )
    .limit(1)
)
_ACTIVE_ELSEWHERE_BY_EMAIL = (
    select(tables.UserEmail.value_key)
    .join(
        tables.User,
        and_(
            tables.User.tenant_id == tables.UserEmail.tenant_id,
            tables.User.id == tables.UserEmail.user_id,
        ),
    )
    .where(
        tables.UserEmail.value_key.in_(bindparam("keys", expanding=True)),
        tables.UserEmail.tenant_id != bindparam("tenant"),
        or_(tables.User.active.is_(None), tables.User.active.is_(True)),
    )
    .limit(1)
)


_ACTIVE_ELSEWHERE = select(
    or_(exists(_ACTIVE_ELSEWHERE_BY_NAME), exists(_ACTIVE_ELSEWHERE_BY_EMAIL))
)


def _check_logins(
    conn: Connection, tenant_id: int, document: dict[str, Any], before: dict[str, Any] | None
) -> None:
    """One account per login: refuse a userName or email that an active account of another
    tenant signs in with. Only logins this write adds are checked, and an inactive user
    claims nothing (so an IdP can deactivate, then re-create elsewhere)."""
    if document.get("active") is False:
        return
    keys = _login_keys(document)
    if before is not None and before.get("active") is not False:
        keys -= _login_keys(before)
    if not keys:
        return
    params = {"keys": sorted(keys), "tenant": tenant_id}
    taken = (
        conn.execute(_ACTIVE_ELSEWHERE_BY_NAME, params).scalar()
        or conn.execute(_ACTIVE_ELSEWHERE_BY_EMAIL, params).scalar()
    )
    if taken is not None:
        raise Conflict(
            f"{taken!r} is already the login of an active account in another organisation"
        )


def create_user(
    conn: Connection, tenant_id: int, document: dict[str, Any], *, shared_logins: bool = True
) -> StoredUser:
    """Store a new user; raises Conflict when its userName is taken (case-insensitively), or,
    unless ``shared_logins``, when one of its logins is an active account's in another tenant.

    The directory does not know the installation's policy: the servers pass it
    (``SCIMD_SHARED_LOGINS``, off by default there).
    """
    columns = _indexed_columns(document)
    if not shared_logins:
        _check_logins(conn, tenant_id, document, None)
    user_id = str(uuid.uuid4())
    now = utcnow()
    row = {
        "tenant_id": tenant_id,
        "id": user_id,
        "created": now,
        "last_modified": now,
        "version": 1,
        "document": document,
        **columns,
    }
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
    if conn.execute(_INSERT_USER[conn.dialect.name], row).first() is None:
        raise _user_name_taken(document)
    _write_emails(conn, tenant_id, user_id, document, new=True)
    # A new user is in no group yet: nothing to attach.
    return StoredUser(id=user_id, document=document, created=now, last_modified=now, version=1)


# Built once: SQLAlchemy then reuses the compiled form, where building the
# statement per call cost ~150 us (most of a GET by id, measured).
_GET_USER = select(*_USER_COLUMNS).where(
    tables.User.tenant_id == bindparam("tenant"), tables.User.id == bindparam("id")
)
_GET_USER_FOR_UPDATE = _GET_USER.with_for_update()
_GET_USER_BY_NAME = select(*_USER_COLUMNS).where(
    tables.User.tenant_id == bindparam("tenant"), tables.User.user_name_key == bindparam("key")
)


def get_user(
    conn: Connection, tenant_id: int, user_id: str, *, for_update: bool = False
) -> StoredUser:
    query = _GET_USER_FOR_UPDATE if for_update else _GET_USER
    row = conn.execute(query, {"tenant": tenant_id, "id": user_id}).first()
    if row is None:
        raise NotFound(f"User {user_id} not found")
    user = _stored(row)
    _attach_relations(conn, tenant_id, [user])
    return user


_USER_EXISTS = select(tables.User.id).where(
    tables.User.tenant_id == bindparam("tenant"), tables.User.id == bindparam("id")
)


def require_user(conn: Connection, tenant_id: int, user_id: str) -> None:
    """NotFound unless the tenant has this user: the cheap check before touching what it owns."""
    if conn.execute(_USER_EXISTS, {"tenant": tenant_id, "id": user_id}).first() is None:
        raise NotFound(f"User {user_id} not found")


def find_user_by_name(conn: Connection, tenant_id: int, user_name: str) -> StoredUser | None:
    """The user whose userName is ``user_name`` (compared case-insensitively), if any."""
    row = conn.execute(
        _GET_USER_BY_NAME, {"tenant": tenant_id, "key": comparison_key(user_name)}
    ).first()
    if row is None:
        return None
    user = _stored(row)
    _attach_relations(conn, tenant_id, [user])
    return user


def taken_names(conn: Connection, tenant_id: int, user_names: Iterable[str]) -> set[str]:
    """Comparison keys of those ``user_names`` that the tenant's users have: one query per 500
    names, for callers about to create many users (imports)."""
    keys = sorted({comparison_key(name) for name in user_names})
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        taken.update(
            conn.execute(
                select(tables.User.user_name_key).where(
                    tables.User.tenant_id == tenant_id,
                    tables.User.user_name_key.in_(keys[start : start + 500]),
                )
            ).scalars()
        )
    return taken


# Built once, like the reads: a compare-and-set on the version read FOR UPDATE.
_UPDATE_USER = (
    update(tables.User)
    .where(
        tables.User.tenant_id == bindparam("tenant"),
        tables.User.id == bindparam("user_id"),
        tables.User.version == bindparam("expected"),
    )
    .values(
        {
            column: bindparam(f"new_{column}")
            for column in (
                "document",
                "last_modified",
                "version",
                "user_name",
                "user_name_key",
                "external_id",
                "display_name",
                "display_name_key",
                "active",
            )
        }
    )
)


def replace_user(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    document: dict[str, Any],
    *,
    expected_version: int | None = None,
    current: StoredUser | None = None,
    shared_logins: bool = True,
) -> StoredUser:
    """Replace a user's document; the caller's ``expected_version`` guards lost updates.

    ``current`` is the user as the caller already read it FOR UPDATE in this
    transaction (a PATCH), which spares reading it again.
    """
    current = current or get_user(conn, tenant_id, user_id, for_update=True)
    if expected_version is not None and current.version != expected_version:
        raise VersionMismatch(f"User {user_id} is at version {current.version}")
    if document == current.document:
        return current  # nothing changes: version and lastModified stay
    columns = _indexed_columns(document)
    if not shared_logins:
        _check_logins(conn, tenant_id, document, current.document)
    now = utcnow()
    values = {
        "tenant": tenant_id,
        "user_id": user_id,
        "expected": current.version,
        "new_document": document,
        "new_last_modified": now,
        "new_version": current.version + 1,
        **{f"new_{name}": value for name, value in columns.items()},
    }
    if columns["user_name_key"] == comparison_key(current.document["userName"]):
        # The userName keeps its key: no uniqueness to break, no savepoint to pay for.
        result = conn.execute(_UPDATE_USER, values)
    else:
        try:
            with conn.begin_nested():
                result = conn.execute(_UPDATE_USER, values)
        except IntegrityError as exc:
            raise _user_name_taken(document) from exc
    if result.rowcount != 1:
        raise VersionMismatch(f"User {user_id} changed meanwhile")
    if document.get("emails") != current.document.get("emails"):
        _write_emails(conn, tenant_id, user_id, document)
    # A replacement changes the document, never the memberships: the groups stay.
    return StoredUser(
        id=user_id,
        document=document,
        created=current.created,
        last_modified=now,
        version=current.version + 1,
        groups=current.groups,
    )


def delete_user(
    conn: Connection, tenant_id: int, user_id: str, *, expected_version: int | None = None
) -> None:
    """Delete a user and its memberships; the groups it was in get a new version."""
    current = get_user(conn, tenant_id, user_id, for_update=True)
    if expected_version is not None and current.version != expected_version:
        raise VersionMismatch(f"User {user_id} is at version {current.version}")
    memberships.forget_member(conn, tenant_id, user_id)
    conn.execute(
        delete(tables.UserEmail).where(
            tables.UserEmail.tenant_id == tenant_id, tables.UserEmail.user_id == user_id
        )
    )
    conn.execute(
        delete(tables.User).where(tables.User.tenant_id == tenant_id, tables.User.id == user_id)
    )


def query_users(
    conn: Connection, tenant_id: int, request: PageRequest
) -> tuple[Page, list[StoredUser]]:
    """The page of users ``request`` asks for, with the groups each is in."""
    found = paging.page(conn, tables.User, _USER_COLUMNS, tenant_id, request)
    users = [_stored(row) for row in found.rows]
    _attach_relations(conn, tenant_id, users)
    return found, users


def manager_id(document: dict[str, Any]) -> str | None:
    """The id of the manager the enterprise extension names, if any."""
    manager = (document.get(ENTERPRISE) or {}).get("manager")
    value = manager.get("value") if isinstance(manager, dict) else None
    return value if isinstance(value, str) and value else None


def _attach_relations(conn: Connection, tenant_id: int, users: list[StoredUser]) -> None:
    """Fill in what other rows say of these users: the groups they are in (one query)."""
    groups_by_member = memberships.groups_of(conn, tenant_id, [user.id for user in users])
    for user in users:
        user.groups = groups_by_member.get(user.id, [])


def _stored(row: Any) -> StoredUser:
    return StoredUser(
        id=row.id,
        document=row.document,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
        version=row.version,
    )
