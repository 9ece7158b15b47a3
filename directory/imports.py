"""Importing users from a spreadsheet: every row checked, written, and accounted for.

An import reads the file first (``plan``): the file's size, row count and
every cell are checked before the store is touched, so a file with too many
rows, or a cell no column can hold, costs no write. Then ``run`` writes the
rows, each in its own SAVEPOINT so that a row the store refuses (a username
taken in another tenant, a role its licence forbids) fails alone:

- all-or-nothing (the default): every row in one transaction, committed only
  if no row failed; otherwise rolled back, with the full report of failures;
- skip errors: chunks of rows, each committed with the job's progress, so
  the good rows land, the bad ones are reported, and an import interrupted by
  a crash resumes after its last committed chunk;
- dry run: all rows checked and written in a transaction that is always
  rolled back, so the report says what an import would do.

On update (``update_existing``) a blank cell keeps what the user has; a row
that changes nothing is counted ``unchanged`` and writes nothing, which is
how an export re-imports unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from directory import (
    accounts,
    audit,
    catalog,
    environment,
    resources,
    sheets,
    tables,
    user_sheet,
    users,
)
from directory.audit import Actor
from directory.errors import DirectoryError, InvalidValue
from directory.records import StoredUser
from directory.user_sheet import BY_KEY, CellError
from directory.users import ENTERPRISE
from directory.values import comparison_key

MAX_ROWS = 5000
MAX_REPORTED_ERRORS = 2000  # errors past this are counted, not listed
CHUNK_ROWS = 250  # rows per committed chunk when skipping errors
PROGRESS_EVERY = 50

T = TypeVar("T")
Write = Callable[[Callable[[Connection], T]], T]
"""Runs a unit of work in one transaction: commits if it returns, rolls back if it raises."""
Progress = Callable[[int, int], None]
CheckDocument = Callable[[dict[str, Any]], dict[str, Any]]
"""Validates a SCIM User document as SCIM writes are validated; InvalidValue if it is not."""
Checkpoint = Callable[[Connection, int, "Report"], None]
"""Records a job's progress (rows done, report so far) in the transaction that did them."""

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
# Account columns an import sets: every new user's row names them all (one executemany).
ACCOUNT_COLUMNS = ("access_licence", "mfa_required", "login_allowed_from", "login_allowed_to")
GRANT_COLUMNS = {"roles": "role", "user_groups": "user_group", "dac_groups": "dac_group"}
RESOURCE_COLUMNS = {
    "resource_description": "description",
    "legacy_ref": "legacy_ref",
    "resource_group": "resource_group",
    "country_code": "country_code",
    "currency": "currency",
    "department": "department",
    "department_description": "department_description",
    "manager": "manager",
    "cost_centre": "cost_centre",
    "cost_centre_description": "cost_centre_description",
    "staff": "staff",
    "payment_method": "payment_method",
    "payment_terms": "payment_terms",
}


@dataclass(frozen=True)
class ImportOptions:
    skip_errors: bool = False
    date_format: str = "iso"  # british | us | iso
    reset_from_resource_group: bool = False
    copy_roles_from: str | None = None  # a username
    update_existing: bool = False
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ImportOptions:
        known = {name for name in cls.__dataclass_fields__}
        unknown = sorted(set(document) - known)
        if unknown:
            raise InvalidValue(f"unknown import option {unknown[0]!r}")
        options = cls(**document)
        for name in ("skip_errors", "reset_from_resource_group", "update_existing", "dry_run"):
            if not isinstance(getattr(options, name), bool):
                raise InvalidValue(f"{name} must be true or false")
        if options.date_format not in user_sheet.DATE_FORMATS:
            formats = ", ".join(user_sheet.DATE_FORMATS)
            raise InvalidValue(f"date_format must be one of {formats}")
        copy_from = options.copy_roles_from
        if copy_from is not None and (
            not isinstance(copy_from, str) or not copy_from.strip() or "\x00" in copy_from
        ):  # NUL: no username holds one, and PostgreSQL refuses to compare it
            raise InvalidValue("copy_roles_from must be a username")
        return options


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class Report:
    """What an import did, or would do (dry run), row by row."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    committed: bool = False
    """Whether the rows counted above are in the store (false for dry runs and refusals)."""

    @property
    def complete(self) -> bool:
        """Every row imported: nothing failed and the rows are in the store."""
        return self.committed and self.failed == 0

    def fail(self, error: RowError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "committed": self.committed,
            "complete": self.complete,
            "errors": [error.to_json() for error in self.errors],
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Report:
        return cls(
            total=document.get("total", 0),
            created=document.get("created", 0),
            updated=document.get("updated", 0),
            unchanged=document.get("unchanged", 0),
            failed=document.get("failed", 0),
            errors=[RowError(**error) for error in document.get("errors", [])],
            warnings=list(document.get("warnings", [])),
            committed=document.get("committed", False),
        )


@dataclass(frozen=True)
class Row:
    """A data row as read: its spreadsheet row number, and the typed value of each of our
    columns the file has (None for a blank cell)."""

    number: int
    values: dict[str, Any]
    errors: tuple[RowError, ...] = ()


@dataclass(frozen=True)
class Plan:
    rows: list[Row]
    warnings: list[str]


# --- reading ------------------------------------------------------------------------------


def plan(data: bytes, filename: str, options: ImportOptions) -> Plan:
    """Read and check the file: ``InvalidValue`` for the file as a whole (too many rows, no
    Username column, unreadable), per-row errors for cells. Touches no store."""
    sheet = sheets.read_sheet(data, filename, max_rows=MAX_ROWS)
    columns, unknown = user_sheet.columns_of(sheet.headers)
    # Export-only columns are ignored without a word: every export has them.
    warnings = [f"column {header!r} is not an import column; ignored" for header in unknown]
    rows: list[Row] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for number, cells in zip(sheet.row_numbers, sheet.rows, strict=True):
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for column, cell in zip(columns, cells, strict=True):
            if column is None or column.export_only:
                continue
            try:
                # The csv module reads NUL (since Python 3.11); PostgreSQL stores it nowhere.
                if isinstance(cell, str) and "\x00" in cell:
                    raise CellError(column.header, "holds a NUL character")
                values[column.key] = user_sheet.parse(column, cell, options.date_format)
            except CellError as exc:
                errors.append(RowError(number, exc.column, exc.detail))
        name = values.get("username")
        if not name:
            errors.append(RowError(number, "Username", "is required"))
        else:
            first = seen_names.setdefault(comparison_key(name), number)
            if first != number:
                errors.append(RowError(number, "Username", f"{name!r} is also on row {first}"))
        code = values.get("resource")
        if code:
            first = seen_codes.setdefault(code, number)
            if first != number:
                errors.append(RowError(number, "Resource", f"{code!r} is also on row {first}"))
        rows.append(Row(number, values, tuple(errors)))
    return Plan(rows, warnings)


# --- writing ------------------------------------------------------------------------------


class _Rollback(Exception):
    """Raised out of a unit of work to roll it back once its report is made."""


class _Retry(Exception):
    """The store refused a row in a unit written without savepoints: write it again with them."""


@dataclass
class _Deferred:
    """Rows of side tables, written together at the end of the unit (one ``executemany``
    each): a round trip per table instead of one per user, which is most of an import's
    time on PostgreSQL. Only rows whose user is written are added, after it is."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def flush(self, conn: Connection, tenant_id: int, actor: Actor) -> None:
        if self.accounts:
            accounts.create_rows(conn, self.accounts)
        if self.grants:
            conn.execute(insert(tables.Grant), self.grants)
        if self.resources:
            resources.create_rows(conn, self.resources)
        if self.events:
            audit.record_many(conn, tenant_id, actor, self.events)


@dataclass
class _Context:
    """What every row of one transaction checks against, read once."""

    tenant_id: int
    options: ImportOptions
    actor: Actor
    check_document: CheckDocument
    shared_logins: bool
    licences: dict[str, str]
    roles: dict[str, catalog.Entry]
    role_groups: dict[str, catalog.Entry]
    user_groups: set[str]
    dac_groups: set[str]
    resource_groups: dict[str, catalog.Entry]
    default_country: str
    file_codes: set[str]
    copied_roles: list[str]
    new_codes: Any
    existing_names: set[str]
    """Comparison keys of the unit's usernames that are taken: only these rows read a user."""
    deferred: _Deferred = field(default_factory=_Deferred)


def _context(
    conn: Connection,
    tenant_id: int,
    options: ImportOptions,
    actor: Actor,
    check_document: CheckDocument,
    shared_logins: bool,
    rows: list[Row],
    first: int,
    last: int,
) -> _Context:
    """What rows ``first`` to ``last`` check against."""

    def codes(kind: str) -> dict[str, catalog.Entry]:
        return {entry.code: entry for entry in catalog.entries(conn, tenant_id, kind)}

    copied: list[str] = []
    if options.copy_roles_from:
        source = users.find_user_by_name(conn, tenant_id, options.copy_roles_from)
        if source is None:
            raise InvalidValue(f"copy roles from: no user {options.copy_roles_from!r}")
        copied = catalog.grants_of(conn, tenant_id, [source.id])[source.id]["role"]
    return _Context(
        tenant_id=tenant_id,
        options=options,
        actor=actor,
        check_document=check_document,
        shared_logins=shared_logins,
        licences={code: entry.name for code, entry in codes("licence").items()},
        roles=codes("role"),
        role_groups=codes("role_group"),
        user_groups=set(codes("user_group")),
        dac_groups=set(codes("dac_group")),
        resource_groups=codes("resource_group"),
        default_country=environment.get(conn, tenant_id).default_country_code,
        file_codes={row.values["resource"] for row in rows if row.values.get("resource")},
        copied_roles=copied,
        new_codes=resources.new_codes(conn, tenant_id),
        existing_names=users.taken_names(
            conn,
            tenant_id,
            [row.values["username"] for row in rows[first:last] if row.values.get("username")],
        ),
    )


def run(
    write: Write[Any],
    tenant_id: int,
    the_plan: Plan,
    options: ImportOptions,
    actor: Actor,
    *,
    check_document: CheckDocument,
    shared_logins: bool = True,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    start: int = 0,
    report: Report | None = None,
) -> Report:
    """Write the plan's rows as the options say (see the module docstring).

    ``start`` and ``report`` resume a skip-errors import after its last committed
    chunk; ``checkpoint`` records progress in the transaction of each chunk (and,
    all-or-nothing, of the whole import), so the record and the rows agree.
    """
    rows = the_plan.rows
    report = report or Report(total=len(rows), warnings=list(the_plan.warnings))
    one_transaction = options.dry_run or not options.skip_errors

    def unit(first: int, last: int, savepoints: bool) -> Callable[[Connection], Report]:
        def work(conn: Connection) -> Report:
            context = _context(
                conn, tenant_id, options, actor, check_document, shared_logins, rows, first, last
            )
            for index in range(first, last):
                _import_row(conn, context, rows[index], report, savepoints)
                if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                    progress(index + 1, len(rows))
            if one_transaction and (options.dry_run or report.failed):
                raise _Rollback
            context.deferred.flush(conn, tenant_id, actor)
            report.committed = True
            if checkpoint is not None:
                checkpoint(conn, last, report)
            return report

        return work

    if one_transaction:
        # Without savepoints first: a refused row fails the whole import anyway, and the
        # store refusing one itself (not the checks before it) is rare. Then the import is
        # written again with a savepoint a row, for the report of every row.
        fresh = Report.from_json(report.to_json())
        try:
            write(unit(0, len(rows), savepoints=False))
        except _Retry:
            report.__dict__.update(Report.from_json(fresh.to_json()).__dict__)
            try:
                write(unit(0, len(rows), savepoints=True))
            except _Rollback:
                report.committed = False
        except _Rollback:
            report.committed = False
        if progress is not None:
            progress(len(rows), len(rows))
        return report
    for first in range(start, len(rows), CHUNK_ROWS):
        last = min(first + CHUNK_ROWS, len(rows))
        saved = Report.from_json(report.to_json())
        try:
            write(unit(first, last, savepoints=True))
        except BaseException:
            # The chunk rolled back: so do its counts, and whoever retries starts at ``first``.
            report.__dict__.update(saved.__dict__)
            raise
    if not rows:
        report.committed = True
        if checkpoint is not None:
            write(lambda conn: checkpoint(conn, 0, report))
    if progress is not None:
        progress(len(rows), len(rows))
    return report


def _import_row(
    conn: Connection, context: _Context, row: Row, report: Report, savepoints: bool
) -> None:
    """Write one row and count its outcome. With ``savepoints``, a row the store refuses is
    undone alone; without, the unit is written again with them (``_Retry``)."""
    if row.errors:
        report.failed += 1
        for error in row.errors:
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(error)
        return
    savepoint = conn.begin_nested() if savepoints else None
    try:
        outcome = _write_row(conn, context, row)
    except DirectoryError as exc:
        # Raised by the checks before the row's first write, or instead of it (a username
        # taken is an INSERT that does nothing): nothing of the row to undo without a
        # savepoint; the all-or-nothing import that has one is rolled back anyway.
        if savepoint is not None:
            savepoint.rollback()
        column = exc.column if isinstance(exc, CellError) else None
        report.fail(RowError(row.number, column, exc.detail))
        return
    except DBAPIError as exc:
        if savepoint is None:
            raise _Retry from exc
        savepoint.rollback()
        report.fail(RowError(row.number, None, f"the store refused the row: {exc.orig}"))
        return
    if savepoint is not None:
        savepoint.commit()
    setattr(report, outcome, getattr(report, outcome) + 1)


@dataclass
class _Current:
    """A row's user as the store has it (nothing for a new user)."""

    user: StoredUser | None = None
    account: accounts.Account | None = None
    grants: dict[str, list[str]] = field(
        default_factory=lambda: {kind: [] for kind in catalog.GRANTABLE}
    )
    resource: Any = None


def _current(conn: Connection, context: _Context, user_name: str) -> _Current:
    if comparison_key(user_name) not in context.existing_names:
        return _Current()
    user = users.find_user_by_name(conn, context.tenant_id, user_name)
    if user is None:
        return _Current()
    tenant_id = context.tenant_id
    return _Current(
        user=user,
        account=accounts.get_account(conn, tenant_id, user.id),
        grants=catalog.grants_of(conn, tenant_id, [user.id])[user.id],
        resource=resources.of_users(conn, tenant_id, [user.id]).get(user.id),
    )


def _write_row(conn: Connection, context: _Context, row: Row) -> str:
    """Create or update one row's user; its outcome: created, updated or unchanged.

    Everything is checked before anything is written, so that a refusal names
    the cell at fault; the savepoint around the row undoes what the store
    itself refuses (a username taken meanwhile, a login of another tenant).
    """
    values = row.values
    current = _current(conn, context, values["username"])
    if current.user is not None and not context.options.update_existing:
        raise CellError(
            "Username",
            f"{values['username']!r} already exists (import with 'update existing users' "
            "to change it)",
        )
    before = current.user.document if current.user is not None else None
    document = context.check_document(_document(before, values))
    account = _account_values(context, values, current.account)
    grants = _grants(context, values, current.grants, current.user is None)
    licence = account.get(
        "access_licence", current.account.access_licence if current.account else None
    )
    user_type = current.account.user_type if current.account else None
    roles = grants.get("role", current.grants["role"])
    _check_roles(context, roles, current.grants["role_group"], licence, user_type)
    resource = _resource(conn, context, values, current.resource)

    user_id, changed = _store_user(conn, context, current, document)
    if current.user is None:
        _defer_new_user(context, user_id, account, grants, resource)
        outcome = "created"
    else:
        changed |= _store_account(conn, context.tenant_id, user_id, current, account)
        for kind, codes in grants.items():
            held = set(current.grants[kind])
            if set(codes) != held:
                catalog.write_grants(conn, context.tenant_id, user_id, kind, held, set(codes))
                changed = True
        if resource is not None:
            changed |= _store_resource(conn, context.tenant_id, user_id, current, *resource)
        outcome = "updated" if changed else "unchanged"
    if outcome != "unchanged":
        context.deferred.events.append(
            (
                f"user.import_{'create' if outcome == 'created' else 'update'}",
                f"user:{user_id}",
                {"row": row.number, "userName": document.get("userName")},
            )
        )
    return outcome


def _defer_new_user(
    context: _Context,
    user_id: str,
    account: dict[str, Any],
    grants: dict[str, list[str]],
    resource: tuple[str, dict[str, Any]] | None,
) -> None:
    """A new user's account, grants and resource, for the unit's batched writes."""
    tenant_id, deferred = context.tenant_id, context.deferred
    deferred.accounts.append(
        {"tenant_id": tenant_id, "user_id": user_id, **dict.fromkeys(ACCOUNT_COLUMNS), **account}
    )
    deferred.grants += [
        {"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "code": code}
        for kind, codes in grants.items()
        for code in sorted(set(codes))
    ]
    if resource is not None:
        code, fields = resource
        deferred.resources.append(
            {"tenant_id": tenant_id, "user_id": user_id, "code": code, **fields}
        )


def _store_user(
    conn: Connection, context: _Context, current: _Current, document: dict[str, Any]
) -> tuple[str, bool]:
    """The user's id, and whether its document changed (created counts)."""
    if current.user is None:
        created = users.create_user(
            conn, context.tenant_id, document, shared_logins=context.shared_logins
        )
        return created.id, True
    if document == current.user.document:
        return current.user.id, False
    users.replace_user(
        conn,
        context.tenant_id,
        current.user.id,
        document,
        current=current.user,
        shared_logins=context.shared_logins,
    )
    return current.user.id, True


def _store_account(
    conn: Connection, tenant_id: int, user_id: str, current: _Current, values: dict[str, Any]
) -> bool:
    assert current.account is not None
    changed = {
        column: value
        for column, value in values.items()
        if _account_value(current.account, column) != value
    }
    if changed:
        accounts.set_fields(conn, tenant_id, user_id, **changed)
    return bool(changed)


def _store_resource(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    current: _Current,
    code: str,
    fields: dict[str, Any],
) -> bool:
    if current.resource is not None and fields == {
        name: getattr(current.resource, name) for name in resources.FIELDS
    }:
        return False
    resources.put(conn, tenant_id, user_id, code, fields, exists=current.resource is not None)
    return True


def _document(current: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """The user's SCIM document with the row's non-blank cells applied."""
    document = dict(current or {"schemas": [USER_SCHEMA]})

    def given(key: str) -> bool:
        return values.get(key) is not None

    if given("username"):
        document["userName"] = values["username"]
    if given("full_name"):
        document["displayName"] = values["full_name"]
    if given("job_title"):
        document["title"] = values["job_title"]
    name = dict(document.get("name") or {})
    for key, attribute in (
        ("first_name", "givenName"),
        ("middle_name", "middleName"),
        ("last_name", "familyName"),
        ("title", "honorificPrefix"),
        ("suffix", "honorificSuffix"),
    ):
        if given(key):
            name[attribute] = values[key]
    if name:
        document["name"] = name
    if given("company"):
        extension = dict(document.get(ENTERPRISE) or {})
        extension["organization"] = values["company"]
        document[ENTERPRISE] = extension
        schemas = list(document.get("schemas") or [USER_SCHEMA])
        if ENTERPRISE not in schemas:
            document["schemas"] = [*schemas, ENTERPRISE]
    if given("email"):
        email = values["email"]
        others = [
            e
            for e in document.get("emails") or []
            if not e.get("primary") and e.get("value", "").lower() != email.lower()
        ]
        primary = [e for e in document.get("emails") or [] if e.get("primary")]
        if not primary or primary[0].get("value") != email:
            document["emails"] = [{"value": email, "type": "work", "primary": True}, *others]
    if given("mobile"):
        phones = list(document.get("phoneNumbers") or [])
        mobiles = [p for p in phones if p.get("type") == "mobile"]
        if not mobiles or mobiles[0].get("value") != values["mobile"]:
            rest = [p for p in phones if p.get("type") != "mobile"]
            document["phoneNumbers"] = [{"value": values["mobile"], "type": "mobile"}, *rest]
    return document


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _account_value(account: accounts.Account, column: str) -> Any:
    if column == "mfa_required":
        return account.mfa_required_set
    return getattr(account, column)


def _account_values(
    context: _Context, values: dict[str, Any], current: accounts.Account | None
) -> dict[str, Any]:
    """Account columns the row sets."""
    account: dict[str, Any] = {}
    licences = values.get("licence")
    if licences:  # a cell of separators only (";") names no licence, as a blank one
        if len(licences) > 1:
            raise CellError("User licenses", "an account holds one licence")
        if licences[0] not in context.licences:
            raise CellError("User licenses", f"no licence {licences[0]!r}")
        account["access_licence"] = licences[0]
    if values.get("mfa_required") is not None:
        account["mfa_required"] = values["mfa_required"]
    if values.get("date_from") is not None:
        account["login_allowed_from"] = _start_of(values["date_from"])
    if values.get("date_to") is not None:
        account["login_allowed_to"] = _end_of(values["date_to"])
    start = account.get("login_allowed_from", current.login_allowed_from if current else None)
    end = account.get("login_allowed_to", current.login_allowed_to if current else None)
    if start is not None and end is not None and end < start:
        raise CellError("Date to", "is before Date from")
    return account


def _grants(
    context: _Context, values: dict[str, Any], held: dict[str, list[str]], new: bool
) -> dict[str, list[str]]:
    """Grants the row sets, by kind; a new user also gets the copied roles."""
    known = {"role": set(context.roles), "user_group": context.user_groups}
    known["dac_group"] = context.dac_groups
    grants: dict[str, list[str]] = {}
    for key, kind in GRANT_COLUMNS.items():
        codes = values.get(key)
        if codes is None:
            continue
        missing = sorted(set(codes) - known[kind])
        if missing:
            what = kind.replace("_", " ")
            raise CellError(BY_KEY[key].header, f"no {what} {missing[0]!r}")
        grants[kind] = codes
    if new and context.copied_roles:
        grants["role"] = sorted(set(grants.get("role", [])) | set(context.copied_roles))
    return grants


def _check_roles(
    context: _Context,
    roles: Iterable[str],
    role_groups: Iterable[str],
    licence: Any,
    user_type: Any,
) -> None:
    """The licence and user-type rules of every role the account will hold, directly or
    through its role groups (not an import column, but held groups still count)."""
    held = set(roles)
    for group in role_groups:
        entry = context.role_groups.get(group)
        held |= set(entry.rules.get("roles", [])) if entry is not None else set()
    for code in sorted(held):
        role = context.roles.get(code)
        refusal = catalog.role_refusal(role, licence, user_type) if role is not None else None
        if refusal:
            raise CellError("User roles", refusal)


def _resource(
    conn: Connection, context: _Context, values: dict[str, Any], current: Any
) -> tuple[str, dict[str, Any]] | None:
    """The user's resource after this row, as (code, fields); None when it has none."""
    given = {
        column: values[key]
        for key, column in RESOURCE_COLUMNS.items()
        if values.get(key) is not None
    }
    code = values.get("resource")
    if current is None and values.get("create_resource") is not True:
        if given or code:
            raise CellError(
                "Create resource", "is not TRUE, yet the row describes a resource to create"
            )
        return None
    if current is not None and code and code != current.code:
        raise CellError("Resource", f"the user's resource is {current.code!r}; it stays")
    fields: dict[str, Any] = {
        name: getattr(current, name) if current is not None else None for name in resources.FIELDS
    }
    fields.update(given)
    group_code = fields.get("resource_group")
    if group_code is not None:
        group = context.resource_groups.get(group_code)
        if group is None:
            raise CellError("Resource group", f"no resource group {group_code!r}")
        fields = resources.with_group_defaults(
            fields, group.rules, reset=context.options.reset_from_resource_group
        )
    if fields.get("country_code") is None:
        fields["country_code"] = context.default_country
    own_code = current.code if current is not None else code
    manager = fields.get("manager")
    if manager is not None:
        if manager == own_code:
            raise CellError("Manager", "a resource cannot manage itself")
        if manager not in context.file_codes and not resources.owners(
            conn, context.tenant_id, [manager]
        ):
            raise CellError("Manager", f"no resource {manager!r}")
    if current is not None:
        return current.code, fields
    if code is None:
        code = next(c for c in context.new_codes if c not in context.file_codes)
    elif resources.owners(conn, context.tenant_id, [code]):
        raise CellError("Resource", f"{code!r} is another user's resource")
    return code, fields
