"""The admin users grid: a tenant's users with their account state, filtered, sorted, paged.

A filter on account state is a set of user ids read from the accounts' side (a user
without an account row has the defaults), so no filter joins; the total is a second query on
the same conditions.

Pages are read in the order of an index, never by sorting every user (a filter or search
with few matches sorts those instead): the order is the sort key then the user id, both in
the sort's direction, and users without a value (no display name, never signed in, no
account row) come last in either direction, read as a second segment in id order. A page
goes by index (``offset``) or by keyset (``after``: the position of the row it follows,
carried in an opaque cursor), so the last page of 100,000 users costs what the first costs,
and users created meanwhile never make a page repeat or skip anyone (measured:
``python -m bench.grid``; see ``bench/RESULTS.md``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    func,
    null,
    or_,
    select,
    true,
    union_all,
)

from directory import environment, tables
from directory.errors import InvalidValue
from directory.values import comparison_key


@dataclass(frozen=True)
class _Sort:
    column: Any
    kind: type  # of its values, as a cursor carries them
    on_account: bool  # a column of the account row (missing when the user has none)
    nullable: bool  # some users have no value: they form the second segment


_USER, _ACCOUNT, _EMAIL = tables.User, tables.Account, tables.UserEmail
SORTS = {
    "userName": _Sort(_USER.user_name_key, str, on_account=False, nullable=False),
    "name": _Sort(_USER.display_name_key, str, on_account=False, nullable=True),
    "lastLogin": _Sort(_ACCOUNT.last_login, datetime, on_account=True, nullable=True),
    "failedTries": _Sort(_ACCOUNT.failed_tries, int, on_account=True, nullable=True),
    "created": _Sort(_USER.created, datetime, on_account=False, nullable=False),
}
FLAGS = ("locked", "blocked", "pendingApproval", "mfaRequired", "mfaEnabled")
MAX_PAGE = 500
# Up to this many matches of a filter or search, pages are sorted from the matches rather
# than read in index order: for the 1% of 100,000 users that are locked, PostgreSQL chose to
# walk the userName index testing each user (250 ms); reading the thousand and sorting them
# took 20 ms (measured).
SMALL_SELECTION = 5000


@dataclass(frozen=True)
class Position:
    """Where a row is in a grid's order: its segment (0: has a value, 1: has none), its
    sort value and its id."""

    segment: int
    value: Any
    id: str


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
    after: Position | None = None  # keyset paging: the page starts after this row

    def fingerprint(self) -> str:
        """What a cursor must have been issued for: the same selection in the same order."""
        selection = [
            self.search or "",
            sorted(self.flags.items()),
            self.licence or "",
            self.user_type or "",
            self.sort,
            self.descending,
        ]
        digest = hashlib.sha256(json.dumps(selection).encode()).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode()


@dataclass(frozen=True)
class GridPage:
    total: int
    user_ids: list[str]
    next: Position | None = None  # the last row's position, when more rows follow


def encode_cursor(grid: GridQuery, position: Position) -> str:
    """An opaque cursor: the page after ``position`` of ``grid``'s selection and order."""
    value = position.value
    payload = {
        "s": position.segment,
        "v": {"dt": value.isoformat()} if isinstance(value, datetime) else value,
        "i": position.id,
        "q": grid.fingerprint(),
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(grid: GridQuery, cursor: str) -> Position:
    """The position a cursor of ``grid`` carries; InvalidValue for any other text."""
    if grid.sort not in SORTS:
        raise InvalidValue(f"sort is one of {', '.join(SORTS)}")
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        segment, value, user_id, query = payload["s"], payload["v"], payload["i"], payload["q"]
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
        sort = SORTS[grid.sort]
        fits = isinstance(value, sort.kind) and not isinstance(value, bool)
        if not isinstance(user_id, str) or not (
            (segment == 0 and fits) or (segment == 1 and value is None and sort.nullable)
        ):
            raise ValueError(segment)
    except (ValueError, KeyError, TypeError):
        raise InvalidValue("the cursor is not one this server issued") from None
    if query != grid.fingerprint():
        raise InvalidValue("the cursor belongs to another search, filter or sort")
    return Position(segment, value, user_id)


def _prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass(frozen=True)
class _AccountTerm:
    """Users whose account row ``has`` (``among``), or every other user (not ``among``),
    those without an account row included. Either way a set of ids from the accounts'
    side, so that a filter on account state is no join: SQLite builds the set once, and
    PostgreSQL hashes it or reads it through an index."""

    has: ColumnElement[bool]
    among: bool


def _flag(name: str, wanted: bool, mfa_default: bool) -> _AccountTerm:
    """One flag either way; a user without an account row has every flag off but ``blocked``
    (no login access yet) and, where the tenant requires it by default, ``mfaRequired``."""
    account = _ACCOUNT
    if name == "blocked":
        return _AccountTerm(account.login_allowed == true(), among=not wanted)
    if name == "mfaRequired":
        # The account's own setting, else the tenant's default, unless not enforced.
        if mfa_default:
            exempt = or_(account.mfa_required == false(), account.mfa_not_enforced == true())
            return _AccountTerm(exempt, among=not wanted)
        required = and_(account.mfa_required == true(), account.mfa_not_enforced == false())
        return _AccountTerm(required, among=wanted)
    has = {
        "locked": account.locked == true(),
        "pendingApproval": account.approval == "pending",
        "mfaEnabled": account.mfa_enabled == true(),
    }[name]
    return _AccountTerm(has, among=wanted)


@dataclass(frozen=True)
class _Selection:
    """The users a grid selects: terms on their rows, and on their account rows."""

    tenant_id: int
    users: list[ColumnElement[bool]]  # beyond the tenant
    accounts: list[_AccountTerm]

    def on_accounts(self, user_id: Any) -> list[ColumnElement[bool]]:
        """The account terms, as conditions on a column holding user ids."""
        conditions = []
        for term in self.accounts:
            ids = select(_ACCOUNT.user_id).where(_ACCOUNT.tenant_id == self.tenant_id, term.has)
            conditions.append(user_id.in_(ids) if term.among else user_id.not_in(ids))
        return conditions

    def users_query(self) -> Select[Any]:
        """The selected users' rows, with no columns yet."""
        return (
            select()
            .select_from(_USER.__table__)
            .where(_USER.tenant_id == self.tenant_id, *self.users, *self.on_accounts(_USER.id))
        )


def _selection(conn: Connection, tenant_id: int, grid: GridQuery) -> _Selection:
    users: list[ColumnElement[bool]] = []
    accounts: list[_AccountTerm] = []
    if grid.search:
        pattern = _prefix(comparison_key(grid.search.strip()))
        # One index range each (an ``OR`` with a correlated EXISTS read every user: 1.5 s on
        # SQLite at 100,000 users; PostgreSQL reads indexes for a UNION only).
        users.append(
            _USER.id.in_(
                union_all(
                    select(_USER.id).where(
                        _USER.tenant_id == tenant_id,
                        _USER.user_name_key.like(pattern, escape="\\"),
                    ),
                    select(_USER.id).where(
                        _USER.tenant_id == tenant_id,
                        _USER.display_name_key.like(pattern, escape="\\"),
                    ),
                    select(_EMAIL.user_id).where(
                        _EMAIL.tenant_id == tenant_id,
                        _EMAIL.value_key.like(pattern, escape="\\"),
                    ),
                )
            )
        )
    if grid.flags:
        unknown = sorted(set(grid.flags) - set(FLAGS))
        if unknown:
            raise InvalidValue(f"unknown filter {unknown[0]!r}; known: {', '.join(FLAGS)}")
        mfa_default = "mfaRequired" in grid.flags and environment.get(conn, tenant_id).mfa_required
        accounts += [_flag(name, wanted, mfa_default) for name, wanted in grid.flags.items()]
    if grid.licence is not None:
        accounts.append(_AccountTerm(_ACCOUNT.access_licence == grid.licence, among=True))
    if grid.user_type is not None:
        accounts.append(_AccountTerm(_ACCOUNT.user_type == grid.user_type, among=True))
    return _Selection(tenant_id, users, accounts)


def _segment(grid: GridQuery, selection: _Selection, segment: int) -> tuple[Select[Any], Any, Any]:
    """The rows of one segment (id and sort value), unordered, and its key and id columns."""
    sort = SORTS[grid.sort]
    key = sort.column
    if not sort.on_account:
        query = selection.users_query().add_columns(
            _USER.id.label("id"), (key if segment == 0 else null()).label("value")
        )
        if sort.nullable:
            query = query.where(key.is_not(None) if segment == 0 else key.is_(None))
        return query, key, _USER.id
    if segment == 1:
        # No value: no account row, or none in this column.
        valued = select(_ACCOUNT.user_id).where(
            _ACCOUNT.tenant_id == selection.tenant_id, key.is_not(None)
        )
        query = selection.users_query().add_columns(_USER.id.label("id"), null().label("value"))
        return query.where(_USER.id.not_in(valued)), key, _USER.id
    # A value means an account row: read from the accounts in the order of their index,
    # joined to the users only when the selection reads them.
    query = select(_ACCOUNT.user_id.label("id"), key.label("value")).where(
        _ACCOUNT.tenant_id == selection.tenant_id,
        key.is_not(None),
        *selection.on_accounts(_ACCOUNT.user_id),
    )
    if selection.users:
        on = and_(_USER.tenant_id == _ACCOUNT.tenant_id, _USER.id == _ACCOUNT.user_id)
        query = query.join_from(_ACCOUNT.__table__, _USER.__table__, on).where(*selection.users)
    return query, key, _ACCOUNT.user_id


def _after(
    position: Position, segment: int, key: Any, tiebreak: Any, descending: bool
) -> ColumnElement[bool]:
    """Rows of ``segment`` strictly after ``position``: the key's range (which an index can
    seek to), then the id among equal keys."""
    if segment == 1:
        beyond: ColumnElement[bool] = (
            tiebreak < position.id if descending else tiebreak > position.id
        )
        return beyond
    if descending:
        return and_(key <= position.value, or_(key < position.value, tiebreak < position.id))
    return and_(key >= position.value, or_(key > position.value, tiebreak > position.id))


def query(conn: Connection, tenant_id: int, grid: GridQuery) -> GridPage:
    if grid.sort not in SORTS:
        raise InvalidValue(f"sort is one of {', '.join(SORTS)}")
    if not 0 <= grid.limit <= MAX_PAGE or grid.offset < 0:
        raise InvalidValue(f"count is 0 to {MAX_PAGE}, startIndex at least 1")
    selection = _selection(conn, tenant_id, grid)
    total = conn.execute(selection.users_query().add_columns(func.count())).scalar_one()
    if grid.limit == 0:
        return GridPage(total, [])
    wanted = grid.limit + 1  # one more than the page: whether a next page exists
    offset = grid.offset if grid.after is None else 0
    small = total <= SMALL_SELECTION and bool(selection.users or selection.accounts)
    rows: list[Position] = []
    for segment in (0, 1) if SORTS[grid.sort].nullable else (0,):
        if grid.after is not None and segment < grid.after.segment:
            continue
        selected, key, tiebreak = _segment(grid, selection, segment)
        if grid.after is not None and segment == grid.after.segment:
            selected = selected.where(_after(grid.after, segment, key, tiebreak, grid.descending))
        order = [key, tiebreak] if segment == 0 else [tiebreak]
        if small:
            # Few users match: select them all, then sort (OFFSET 0 keeps the planner from
            # walking the order's index and testing every user against the filters).
            fenced = selected.offset(0).subquery()
            selected = select(*fenced.c)
            order = [fenced.c.value, fenced.c.id] if segment == 0 else [fenced.c.id]
        ordered = selected.order_by(*(c.desc() if grid.descending else c.asc() for c in order))
        found = conn.execute(ordered.offset(offset or None).limit(wanted - len(rows))).all()
        rows += [Position(segment, row[1], row[0]) for row in found]
        if len(rows) >= wanted:
            break
        if offset and not found:
            # The offset lies past this segment: the next starts that many rows later.
            counted = select(func.count()).select_from(selected.subquery())
            offset = max(offset - conn.execute(counted).scalar_one(), 0)
        else:
            offset = 0
    page = rows[: grid.limit]
    more = len(rows) > grid.limit
    return GridPage(total, [row.id for row in page], page[-1] if more and page else None)
