"""The user spreadsheet: its columns, and what a cell may hold in each.

One table serves import and export, so that an export re-imports unchanged:
the same headers in the same order, each cell written as the import reads it.
Columns marked ``export_only`` (descriptions of things defined elsewhere, such
as a licence's name) are written for people to read and ignored on import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from directory import iso
from directory.errors import InvalidValue
from directory.sheets import Cell, header_key

TEXT, FLAG, DATE, CODES, EMAIL, COUNTRY, CURRENCY = (
    "text",
    "flag",
    "date",
    "codes",
    "email",
    "country",
    "currency",
)
DATE_FORMATS = {"british": "%d/%m/%Y", "us": "%m/%d/%Y", "iso": "%Y-%m-%d"}
_DATE_NAMES = {"british": "a British", "us": "a US", "iso": "an ISO"}
TRUE_WORDS = {"true", "y", "yes", "1"}
FALSE_WORDS = {"false", "n", "no", "0"}
LIST_SEPARATOR = ";"
# Loose on purpose: the mail server decides; this catches cells in the wrong column.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = TEXT
    length: int = 200
    export_only: bool = False


COLUMNS = (
    Column("Username", "username", length=256),
    Column("First name", "first_name", length=100),
    Column("Middle name", "middle_name", length=100),
    Column("Last name", "last_name", length=100),
    Column("Job title", "job_title", length=200),
    Column("Company", "company", length=200),
    Column("Description", "full_name", length=200),
    Column("User licenses", "licence", CODES, 64),
    Column("User license description", "licence_description", export_only=True),
    Column("Date from", "date_from", DATE),
    Column("Date to", "date_to", DATE),
    Column("Email", "email", EMAIL, 256),
    Column("Mobile", "mobile", length=40),
    Column("MFA required", "mfa_required", FLAG),
    Column("Create resource", "create_resource", FLAG),
    Column("Resource", "resource", length=64),
    Column("Legacy ref", "legacy_ref", length=100),
    Column("Resource description", "resource_description", length=200),
    Column("Country code", "country_code", COUNTRY),
    Column("Resource group", "resource_group", length=64),
    Column("Resource group description", "resource_group_description", export_only=True),
    Column("Currency", "currency", CURRENCY),
    Column("Department", "department", length=100),
    Column("Department description", "department_description", length=200),
    Column("Manager", "manager", length=64),
    Column("Manager description", "manager_description", export_only=True),
    Column("Cost centre", "cost_centre", length=100),
    Column("Cost centre description", "cost_centre_description", length=200),
    Column("Staff", "staff", FLAG),
    Column("Title", "title", length=40),
    Column("Suffix", "suffix", length=40),
    Column("Payment method", "payment_method", length=100),
    Column("Payment terms", "payment_terms", length=100),
    Column("DAC groups", "dac_groups", CODES, 64),
    Column("User roles", "roles", CODES, 64),
    Column("User groups", "user_groups", CODES, 64),
)
HEADERS = [column.header for column in COLUMNS]
BY_KEY = {column.key: column for column in COLUMNS}
# Header text as people write it -> column; "Description (full name)" is how the
# specification names the Description column, so both are understood.
_BY_HEADER = {header_key(column.header): column for column in COLUMNS}
_BY_HEADER[header_key("Description (full name)")] = BY_KEY["full_name"]


class CellError(InvalidValue):
    """A cell the column cannot hold; ``column`` is its header."""

    def __init__(self, column: str, detail: str) -> None:
        super().__init__(detail)
        self.column = column


def columns_of(headers: list[str]) -> tuple[list[Column | None], list[str]]:
    """Each header's column (None: not ours, ignored), and the ignored headers' texts."""
    found: list[Column | None] = []
    unknown: list[str] = []
    for header in headers:
        column = _BY_HEADER.get(header_key(header))
        found.append(column)
        if column is None and header.strip():
            unknown.append(header)
    if BY_KEY["username"] not in found:
        raise InvalidValue("the file has no Username column")
    return found, unknown


def parse(column: Column, value: Cell, date_format: str) -> Any:
    """The value of one cell, typed for its column; None for a blank cell."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.kind == FLAG:
        return _flag(column, value)
    if column.kind == DATE:
        return _date(column, value, date_format)
    text = _text(column, value)
    if column.kind == CODES:
        codes = [code.strip() for code in text.split(LIST_SEPARATOR) if code.strip()]
        for code in codes:
            if len(code) > column.length:
                raise CellError(column.header, f"{code[:20]!r}... is longer than {column.length}")
        return sorted(set(codes))
    if column.kind == EMAIL and not _EMAIL.fullmatch(text):
        raise CellError(column.header, f"{text!r} is not an email address")
    if column.kind == COUNTRY:
        return _checked(column, iso.country_code, text)
    if column.kind == CURRENCY:
        return _checked(column, iso.currency_code, text)
    return text


def _checked(column: Column, check: Any, text: str) -> str:
    try:
        result: str = check(text)
    except InvalidValue as exc:
        raise CellError(column.header, exc.detail) from None
    return result


def _text(column: Column, value: Cell) -> str:
    if isinstance(value, bool):
        raise CellError(column.header, "is TRUE or FALSE where text is expected")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a spreadsheet cell: 12345.0 -> "12345"
    if isinstance(value, datetime | date):
        raise CellError(column.header, "is a date where text is expected")
    text = str(value).strip()
    if column.kind != CODES and len(text) > column.length:
        raise CellError(column.header, f"is longer than {column.length} characters")
    return text


def _flag(column: Column, value: Cell) -> bool:
    if isinstance(value, bool):
        return value
    word = str(int(value) if isinstance(value, float) and value.is_integer() else value)
    word = word.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(column.header, f"{value!r} is not TRUE/FALSE, Y/N or 1/0")


def _date(column: Column, value: Cell, date_format: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    pattern = DATE_FORMATS[date_format]
    text = str(value).strip()
    try:
        return datetime.strptime(text, pattern).date()
    except ValueError:
        example = date(2026, 1, 31).strftime(pattern)
        raise CellError(
            column.header, f"{text!r} is not {_DATE_NAMES[date_format]} date (like {example})"
        ) from None


def write_date(value: date | None, date_format: str) -> str | None:
    return None if value is None else value.strftime(DATE_FORMATS[date_format])


def write_flag(value: bool | None) -> str | None:
    return None if value is None else ("TRUE" if value else "FALSE")


def write_codes(codes: list[str] | None) -> str | None:
    return LIST_SEPARATOR.join(codes) if codes else None
