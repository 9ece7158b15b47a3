"""Hostile import files, property-based (hypothesis), on both backends.

Files are drawn as tables (headers from the import's columns and others, cells by what
each column takes, and cells no column should: formulas, huge, blank, controls, bad dates,
unknown codes, usernames that repeat in another case) and written as CSV (any delimiter,
line end, BOM or encoding, sometimes cut short) or .xlsx (typed cells, formulas, sometimes
a damaged archive), under a matching or a wrong file name. Whatever the file and options:

1. ``plan`` and ``run`` raise nothing but ``InvalidValue`` (the file refused as a whole),
   and then the store is as it was;
2. a dry run, or an all-or-nothing import with a failed row, leaves the store exactly as it
   was and says it committed nothing;
3. otherwise the users in the store are those before plus exactly the rows the report
   does not list as failed, ``created`` counts the new ones, and ``scimd db check`` finds
   nothing wrong with the tenant.

``SCIMD_HOSTILE_SCALE=10`` runs ten times as many examples.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import openpyxl
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Engine, select, text

from directory import catalog, imports, integrity, sheets, tables, user_sheet
from directory.audit import SYSTEM
from directory.errors import InvalidValue
from directory.values import comparison_key
from scimd.admin.views import validated_document
from tests.conftest import make_tenant
from tests.support.spreadsheets import csv_bytes

SCALE = int(os.environ.get("SCIMD_HOSTILE_SCALE", "1"))
TENANT_TABLES = sorted(
    table.name for table in tables.Base.metadata.sorted_tables if "tenant_id" in table.columns
)
EXISTING = ("old@example.com", "old.two@example.com")


def examples(n: int) -> settings:
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        database=None,
        derandomize=SCALE == 1,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def tenant_rows(engine: Engine, tenant_id: int) -> dict[str, Any]:
    """Every row the tenant owns, in every table that has a tenant (one round trip on
    PostgreSQL, where a query costs more than most of what is being checked)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            aggregates = ", ".join(
                f"(SELECT json_agg(r ORDER BY r::text) FROM {table} r WHERE tenant_id = :t)"
                for table in TENANT_TABLES
            )
            found = conn.execute(text(f"SELECT {aggregates}"), {"t": tenant_id}).one()
            return dict(zip(TENANT_TABLES, found, strict=True))
        return {
            table: sorted(
                map(
                    tuple,
                    conn.execute(
                        text(f"SELECT * FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
                    ),
                ),
                key=repr,
            )
            for table in TENANT_TABLES
        }


# --- cells ---------------------------------------------------------------------------------

FORMULAS = [
    "=1+1",
    "+41",
    "-3",
    "@SUM(A1:A2)",
    "\t=cmd",
    "\r=x",
    "'=quoted",
    '=cmd|" /C calc"!A0',
    '=HYPERLINK("http://evil.example","x")',
]
ODD_CELLS = [
    "",
    "   ",
    "\u00a0",
    "Zoë Ångström",
    "李雷",
    "a\x1fb",
    "\x00",
    "nul\x00inside",
    "lone \ud800 surrogate",
    "line\nbreak",
    'quote " inside',
    "semi;colon,comma\ttab",
    "x" * (sheets.MAX_CELL_CHARS + 1),
    "y" * 5000,
    # Numbers, typed in an .xlsx cell (text in a CSV one).
    float("nan"),
    float("inf"),
    -0.0,
    1e308,
    2**70,
]
BY_KIND: dict[str, list[Any]] = {
    user_sheet.DATE: [
        "2026-01-31",
        "31/01/2026",
        "01/31/2026",
        "2026-02-30",
        "0001-01-01",
        "9999-12-31",
        "2026-13-01",
        "1/2/3",
        "45000",
        datetime.date(2026, 1, 31),
        datetime.datetime(2026, 1, 31, 12, 30),
        datetime.date(1900, 1, 1),
        datetime.date(9999, 12, 31),
        45000,
        -1.5,
    ],
    user_sheet.FLAG: ["TRUE", "false", "Y", "n", "1", "0", "yes", "maybe", "2", True, 1.0, 2.5],
    user_sheet.CODES: ["fz", "nope", "fz;nope", "fz; fz ;", ";;", "pro-only", "z" * 65, 7],
    user_sheet.EMAIL: ["a@example.com", "bad", "x@y", "@", "A@EXAMPLE.COM", 3.5],
    user_sheet.COUNTRY: ["GB", "gb", "XX", " FR ", "123", "GBR"],
    user_sheet.CURRENCY: ["GBP", "eur", "XXX", "ZZZ", "£"],
}
BY_KEY: dict[str, list[Any]] = {
    "username": [
        "u1@example.com",
        "U1@EXAMPLE.COM",
        "u2@example.com",
        " spaced@example.com ",
        "=cmd@example.com",
        "ü@example.com",
        "u" * 257,
        *EXISTING,
        EXISTING[0].upper(),
    ],
    "resource": ["R1", "R2", "fz"],
    "manager": ["R1", "R2", "nobody"],
    "resource_group": ["fz", "nope"],
    "mobile": ["+44 7700 900123", 447700900123.0],
}
_COLUMN_OF = {sheets.header_key(column.header): column for column in user_sheet.COLUMNS}


@st.composite
def cells(draw: st.DrawFn, header: str) -> Any:
    """What a hostile file holds under ``header``: mostly what its column takes, else a
    formula, a blank, any short text, or text no column takes (which may refuse the file)."""
    column = _COLUMN_OF.get(sheets.header_key(header))
    fitting = BY_KEY.get(column.key, []) if column else []
    fitting = fitting or (BY_KIND.get(column.kind, []) if column else []) or ["text"]
    roll = draw(st.integers(0, 19))
    if roll < 11:
        return draw(st.sampled_from(fitting))
    if roll < 14:
        return draw(st.sampled_from(FORMULAS))
    if roll < 16:
        return None
    if roll < 19:
        return draw(st.text(max_size=12))
    return draw(st.sampled_from(ODD_CELLS))


HEADER_POOL = [
    *user_sheet.HEADERS,
    "username",
    " USER  NAME ",
    "Unknown column",
    "",
    "\ufeffUsername",
    "=1+1",
]


@st.composite
def tables_(draw: st.DrawFn) -> tuple[list[Any], list[list[Any]]]:
    headers: list[Any] = draw(
        st.lists(st.sampled_from(HEADER_POOL), max_size=6, unique_by=sheets.header_key)
    )
    if draw(st.integers(0, 5)):  # most files have the one column an import needs
        headers.insert(draw(st.integers(0, len(headers))), "Username")
    if headers and draw(st.integers(0, 7)) == 0:  # a column twice, as written or retyped
        headers.append(draw(st.sampled_from([headers[0], f" {str(headers[0]).upper()} "])))
    rows = draw(
        st.lists(
            st.tuples(*(cells(str(header)) for header in headers)).map(list),
            max_size=6,
        )
    )
    if rows and draw(st.booleans()):  # a ragged row: short, or with cells past the header
        rows[-1] = rows[-1][: draw(st.integers(0, len(headers)))] + draw(
            st.lists(cells("Unknown column"), max_size=2)
        )
    return headers, rows


@dataclass(frozen=True)
class File:
    data: bytes
    filename: str

    def __repr__(self) -> str:
        return f"File({self.filename!r}, {len(self.data)} bytes: {self.data[:300]!r})"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    headers, rows = draw(tables_())
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=draw(st.sampled_from([",", ";", "\t"])),
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
    )
    for row in [headers, *rows]:
        writer.writerow([_text(value) for value in row])
    content = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-8-sig"] * 2 + ["utf-16", "latin-1"]))
    errors = "surrogatepass" if encoding.startswith("utf-8") else "replace"
    data = content.encode(encoding, errors=errors)
    if data and draw(st.integers(0, 7)) == 0:  # cut short: mid-cell, mid-character, mid-quote
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):  # XML cannot hold these; openpyxl refuses to write them
        return ILLEGAL_CHARACTERS_RE.sub("", value).encode("utf-8", "ignore").decode()
    return value


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    headers, rows = draw(tables_())
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [headers, *rows]:
        sheet.append([_xlsx_value(value) for value in row])  # "=..." becomes a formula
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    damage = draw(st.integers(0, 15))
    # Where, as a share of the file: a workbook's length varies (openpyxl writes the time).
    at = len(data) * draw(st.integers(0, 999)) // 1000
    if damage == 0:  # truncated
        data = data[:at]
    elif damage == 1:  # a byte changed
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    elif damage == 2:  # a zip, but no workbook in it
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("xl/worksheets/sheet1.xml", data[:100])
        data = archive.getvalue()
    return data


@st.composite
def import_files(draw: st.DrawFn) -> File:
    kind = draw(st.sampled_from(["csv", "xlsx"]))
    data = draw(csv_files() if kind == "csv" else xlsx_files())
    filename = f"users.{kind}"
    if draw(st.integers(0, 7)) == 0:  # the wrong extension, or one of no spreadsheet
        other = "xlsx" if kind == "csv" else "csv"
        filename = draw(st.sampled_from([f"users.{other}", "users.xls", "users", "USERS.CSV"]))
    return File(data, filename)


@st.composite
def import_options(draw: st.DrawFn) -> dict[str, Any]:
    """Options as a client sends them (``ImportOptions.from_json`` reads them)."""
    return {
        "skip_errors": draw(st.booleans()),
        "date_format": draw(st.sampled_from([*user_sheet.DATE_FORMATS, "iso", "bogus"])),
        "reset_from_resource_group": draw(st.booleans()),
        "copy_roles_from": draw(
            st.sampled_from([None] * 4 + [EXISTING[0], "nobody@example.com", " ", "x\x00y"])
        ),
        "update_existing": draw(st.booleans()),
        "dry_run": draw(st.integers(0, 4)) == 0,
    }


# --- the property ----------------------------------------------------------------------


def _write(engine: Engine) -> imports.Write[Any]:
    def write(work: Any) -> Any:
        with engine.begin() as conn:
            return work(conn)

    return write


def _import(engine: Engine, tenant_id: int, file: File, chosen: dict[str, Any]) -> Any:
    options = imports.ImportOptions.from_json(chosen)
    the_plan = imports.plan(file.data, file.filename, options)
    report = imports.run(
        _write(engine), tenant_id, the_plan, options, SYSTEM, check_document=validated_document
    )
    return the_plan, report


def _tenant(engine: Engine) -> int:
    """A tenant with a catalog entry of each kind ("fz"), a role only licence "fz" may hold,
    and two users: one with role "fz", one with resource "R1"."""
    tenant = make_tenant(engine, "import")
    with engine.begin() as conn:
        for kind in ("licence", "user_type", "user_group", "dac_group", "resource_group", "role"):
            catalog.put_entry(conn, tenant.id, kind, {"code": "fz"}, SYSTEM)
        catalog.put_entry(conn, tenant.id, "role", {"code": "pro-only", "licences": ["fz"]}, SYSTEM)
    seed = csv_bytes(
        ["Username", "User roles", "Create resource", "Resource"],
        [[EXISTING[0], "fz", "", ""], [EXISTING[1], "", "TRUE", "R1"]],
    )
    _, report = _import(engine, tenant.id, File(seed, "seed.csv"), {})
    assert report.complete and report.created == 2, report
    return tenant.id


def _user_names(engine: Engine, tenant_id: int) -> set[str]:
    with engine.connect() as conn:
        found = conn.execute(
            select(tables.User.user_name_key).where(tables.User.tenant_id == tenant_id)
        )
        return set(found.scalars())


def _csv(text_: str) -> File:
    return File(text_.encode(), "users.csv")


@examples(100)
@given(file=import_files(), options=import_options())
# What the strategies reach rarely, and the bugs once found, every run:
@example(
    file=_csv("Username\n" + "a@example.com\n" * (imports.MAX_ROWS + 1)),
    options={},
)
@example(file=File(b"x" * (sheets.MAX_FILE_BYTES + 1), "users.csv"), options={})
@example(file=_csv("Username,Date from\nu1@example.com,9999-12-31\n"), options={})
@example(
    file=_csv("Username,Date to\nu1@example.com,0001-01-01\n"),
    options={"skip_errors": True},
)
@example(file=_csv("Username,User licenses\nu1@example.com,;\n"), options={})  # an IndexError
# Both were a DataError out of run on PostgreSQL:
@example(file=_csv("Username\na\x00b@example.com\n"), options={})
@example(file=_csv("Username\na@example.com\n"), options={"copy_roles_from": "a\x00"})
@example(
    file=_csv("Username\nu1@example.com\nU1@example.com\nu2@example.com\n"),
    options={"skip_errors": True},
)
def test_an_import_refuses_cleanly_and_writes_exactly_what_it_reports(engine, file, options):
    tenant_id = _tenant(engine)
    before = tenant_rows(engine, tenant_id)
    names_before = _user_names(engine, tenant_id)
    try:
        the_plan, report = _import(engine, tenant_id, file, options)
    except InvalidValue as exc:  # the file (or an option) refused as a whole
        event(f"refused: {exc.detail[:40]}")
        assert tenant_rows(engine, tenant_id) == before
        return
    event(f"{report.total} rows, {report.failed} failed")
    assert report.total == len(the_plan.rows)
    counted = report.created + report.updated + report.unchanged + report.failed
    if options.get("dry_run") or (report.failed and not options.get("skip_errors")):
        assert not report.committed
        assert tenant_rows(engine, tenant_id) == before
        return
    assert report.committed and counted == report.total, report
    event(f"committed: {report.created} created, {report.updated} updated")
    failed = {error.row for error in report.errors}
    imported = {
        comparison_key(row.values["username"]) for row in the_plan.rows if row.number not in failed
    }
    names_after = _user_names(engine, tenant_id)
    assert names_after == names_before | imported
    assert report.created == len(names_after - names_before)
    with integrity.snapshot(engine) as conn:
        assert integrity.check(conn, tenant_id) == []
