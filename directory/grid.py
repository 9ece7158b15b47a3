"""The admin users grid: a tenant's users with their account state, filtered, sorted, paged.

One query joins users to their (optional) account rows, so filters on account
state are SQL like any other; the total is a second query on the same
conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select, true

from directory import environment, tables
from directory.errors import InvalidValue
from directory.values import comparison_key

SORTS = {
    "userName": tables.User.user_name_key,
    "name": tables.User.display_name_key,
    "lastLogin": tables.Account.last_login,
    "failedTries": tables.Account.failed_tries,
    "created": tables.User.created,
}
FLAGS = ("locked", "blocked", "pendingApproval", "mfaRequired", "mfaEnabled")
MAX_PAGE = 500


@dataclass(frozen=True)
class GridQuery:
    search: str | None = None  # a prefix of userName, name or an email
    flags: dict[str, bool] = field(default_factory=dict)  # FLAGS -> wanted value
    licence: str | None = None
    user_type: str | None = None
    sort: str = "userName"
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class GridPage:
    total: int
    user_ids: list[str]


def _prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _flag(name: str, mfa_default: bool) -> ColumnElement[bool]:
    account = tables.Account
    if name == "locked":
        return account.locked.is_(True)
    if name == "blocked":
        return or_(account.user_id.is_(None), account.login_allowed.is_(False))
    if name == "pendingApproval":
        return account.approval == "pending"
    if name == "mfaEnabled":
        return account.mfa_enabled.is_(True)
    # mfaRequired: the account's own setting, else the tenant's default, unless not enforced
    required = func.coalesce(account.mfa_required, true() if mfa_default else false())
    return and_(required.is_(True), func.coalesce(account.mfa_not_enforced, false()).is_(False))


def query(conn: Connection, tenant_id: int, grid: GridQuery) -> GridPage:
    if grid.sort not in SORTS:
        raise InvalidValue(f"sort is one of {', '.join(SORTS)}")
    if not 0 <= grid.limit <= MAX_PAGE or grid.offset < 0:
        raise InvalidValue(f"count is 0 to {MAX_PAGE}, startIndex at least 1")
    user, account, email = tables.User, tables.Account, tables.UserEmail
    joined = user.__table__.outerjoin(
        account.__table__,
        and_(account.tenant_id == user.tenant_id, account.user_id == user.id),
    )
    conditions: list[Any] = [user.tenant_id == tenant_id]
    if grid.search:
        pattern = _prefix(comparison_key(grid.search.strip()))
        conditions.append(
            or_(
                user.user_name_key.like(pattern, escape="\\"),
                user.display_name_key.like(pattern, escape="\\"),
                exists().where(
                    email.tenant_id == user.tenant_id,
                    email.user_id == user.id,
                    email.value_key.like(pattern, escape="\\"),
                ),
            )
        )
    mfa_default = environment.get(conn, tenant_id).mfa_required
    for name, wanted in grid.flags.items():
        if name not in FLAGS:
            raise InvalidValue(f"unknown filter {name!r}; known: {', '.join(FLAGS)}")
        condition = _flag(name, mfa_default)
        conditions.append(condition if wanted else ~condition)
    if grid.licence is not None:
        conditions.append(account.access_licence == grid.licence)
    if grid.user_type is not None:
        conditions.append(account.user_type == grid.user_type)
    total = conn.execute(select(func.count()).select_from(joined).where(*conditions)).scalar_one()
    key = SORTS[grid.sort]
    order: list[Any] = [key.is_(None), key.desc() if grid.descending else key.asc(), user.id]
    ids = conn.execute(
        select(user.id)
        .select_from(joined)
        .where(*conditions)
        .order_by(*order)
        .offset(grid.offset)
        .limit(grid.limit)
    ).scalars()
    return GridPage(total=total, user_ids=list(ids))
