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

from sqlalchemy import Connection, delete, insert

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
        if options.copy_roles_from is not None and (
            not isinstance(options.copy_roles_from, str) or not options.copy_roles_from.strip()
        ):
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


def _context(
    conn: Connection,
    tenant_id: int,
    options: ImportOptions,
    actor: Actor,
    check_document: CheckDocument,
    shared_logins: bool,
    rows: list[Row],
) -> _Context:
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

    def unit(first: int, last: int) -> Callable[[Connection], Report]:
        def work(conn: Connection) -> Report:
            context = _context(conn, tenant_id, options, actor, check_document, shared_logins, rows)
            for index in range(first, last):
                _import_row(conn, context, rows[index], report)
                if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                    progress(index + 1, len(rows))
            if one_transaction and (options.dry_run or report.failed):
                raise _Rollback
            report.committed = True
            if checkpoint is not None:
                checkpoint(conn, last, report)
            return report

        return work

    if one_transaction:
        try:
            write(unit(0, len(rows)))
        except _Rollback:
            report.committed = False
        if progress is not None:
            progress(len(rows), len(rows))
        return report
    for first in range(start, len(rows), CHUNK_ROWS):
        last = min(first + CHUNK_ROWS, len(rows))
        saved = Report.from_json(report.to_json())
        try:
            write(unit(first, last))
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


def _import_row(conn: Connection, context: _Context, row: Row, report: Report) -> None:
    if row.errors:
        report.failed += 1
        for error in row.errors:
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append(error)
        return
    savepoint = conn.begin_nested()
    try:
        outcome = _write_row(conn, context, row)
    except CellError as exc:
        savepoint.rollback()
        report.fail(RowError(row.number, exc.column, exc.detail))
        return
    except DirectoryError as exc:
        savepoint.rollback()
        report.fail(RowError(row.number, None, exc.detail))
        return
    savepoint.commit()
    setattr(report, outcome, getattr(report, outcome) + 1)


def _write_row(conn: Connection, context: _Context, row: Row) -> str:
    """Create or update one row's user; its outcome: created, updated or unchanged."""
    values = row.values
    tenant_id = context.tenant_id
    existing = users.find_user_by_name(conn, tenant_id, values["username"])
    if existing is not None and not context.options.update_existing:
        raise CellError(
            "Username",
            f"{values['username']!r} already exists (import with 'update existing users' "
            "to change it)",
        )
    current_account = (
        accounts.get_account(conn, tenant_id, existing.id) if existing is not None else None
    )
    held = (
        catalog.grants_of(conn, tenant_id, [existing.id])[existing.id]
        if existing is not None
        else {kind: [] for kind in catalog.GRANTABLE}
    )
    current_resource = (
        resources.of_users(conn, tenant_id, [existing.id]).get(existing.id)
        if existing is not None
        else None
    )

    document = context.check_document(
        _document(existing.document if existing is not None else None, values)
    )
    account = _account_values(context, values, current_account)
    grants = _grants(context, values, held, existing is None)
    licence = account.get(
        "access_licence", current_account.access_licence if current_account else None
    )
    user_type = current_account.user_type if current_account else None
    _check_roles(context, grants.get("role", held["role"]), held["role_group"], licence, user_type)
    resource = _resource(conn, context, values, current_resource)

    if existing is None:
        stored = users.create_user(conn, tenant_id, document, shared_logins=context.shared_logins)
        user_id, outcome = stored.id, "created"
    else:
        user_id, outcome = existing.id, "unchanged"
        if document != existing.document:
            users.replace_user(
                conn,
                tenant_id,
                existing.id,
                document,
                current=existing,
                shared_logins=context.shared_logins,
            )
            outcome = "updated"
    assert current_account is not None or existing is None
    changed_account = {
        column: value
        for column, value in account.items()
        if current_account is None or _account_value(current_account, column) != value
    }
    if existing is None:
        accounts.create_row(conn, tenant_id, user_id, **account)
    elif changed_account:
        accounts.set_fields(conn, tenant_id, user_id, **changed_account)
        outcome = "updated"
    for kind, codes in grants.items():
        if set(codes) != set(held[kind]):
            _replace_grants(conn, tenant_id, user_id, kind, set(held[kind]), set(codes))
            outcome = "created" if existing is None else "updated"
    if resource is not None:
        code, fields = resource
        current_fields = (
            {name: getattr(current_resource, name) for name in resources.FIELDS}
            if current_resource is not None
            else None
        )
        if current_fields != fields:
            resources.put(
                conn, tenant_id, user_id, code, fields, exists=current_resource is not None
            )
            outcome = "created" if existing is None else "updated"
    if outcome != "unchanged":
        audit.record(
            conn,
            tenant_id,
            context.actor,
            f"user.import_{'create' if outcome == 'created' else 'update'}",
            f"user:{user_id}",
            detail={"row": row.number, "userName": document.get("userName")},
        )
    return outcome


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
    if licences is not None:
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


def _replace_grants(
    conn: Connection, tenant_id: int, user_id: str, kind: str, now: set[str], wanted: set[str]
) -> None:
    grant = tables.Grant
    removed, added = now - wanted, wanted - now
    if removed:
        conn.execute(
            delete(grant).where(
                grant.tenant_id == tenant_id,
                grant.user_id == user_id,
                grant.kind == kind,
                grant.code.in_(removed),
            )
        )
    if added:
        conn.execute(
            insert(grant),
            [
                {"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "code": code}
                for code in sorted(added)
            ],
        )


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
