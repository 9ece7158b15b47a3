"""Spreadsheet files in and out: CSV or .xlsx bytes to a ``Sheet`` of cells, and back.

Owns the rules of the file itself — its size and row limits, the zip-bomb and
CSV-injection guards, how headers are matched — and knows nothing of users or
the database: the import code maps a Sheet's columns to attributes, the export
code hands rows of plain values in.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from directory.errors import DirectoryError, InvalidValue

_MB = 1024 * 1024
MAX_FILE_BYTES = 10 * _MB  # bigger uploads refused
MAX_CELL_CHARS = 2000  # a longer cell is refused, naming row and column
MAX_XLSX_UNCOMPRESSED = 100 * _MB  # zip-bomb guard: sum of the archive's uncompressed sizes

Cell = str | int | float | bool | datetime.date | datetime.datetime | None

NO_HEADER = "the file has no header row"
UNREADABLE = "the file is not a readable .xlsx workbook"
NOT_UTF8 = "the CSV file is not UTF-8 text; save it as CSV UTF-8"

# Excel's last row. openpyxl fills a gap in row numbers with empty rows one at a time,
# so a sheet that claims row 10**12 would otherwise keep a worker busy for hours.
_EXCEL_MAX_ROW = 1_048_576
_DELIMITERS = (",", ";", "\t")  # in order of preference when counts tie
# OWASP "CSV Injection": spreadsheet apps run a cell starting with = + - @ (or a tab or
# CR before one) as a formula. The leading quotes make neutralise() quote a value that
# already starts with "'=" too, so the reader's removal of one quote gives it back intact.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


@dataclass(frozen=True)
class Sheet:
    """The cells of a file's first sheet, by column, ready to be matched by header."""

    headers: list[str]
    """As written in the file, stripped; "" for a column without one (never matched)."""
    rows: list[list[Cell]]
    """Data rows, each padded or cut to ``len(headers)``; text is stripped, "" is None."""
    row_numbers: list[int]
    """Each row's number as a spreadsheet shows it (header = 1, first data row = 2):
    blank rows are skipped but counted, so messages can point at the right line."""


class TooManyRows(InvalidValue):
    """Raised when a file holds more data rows than one import may take.

    Raised after counting and before any row is built, so an oversized file costs
    one pass over it and no more memory than the allowed rows.
    """

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"The file has {count:,} rows; at most {limit:,} can be imported at once. "
            "Split the file and import each part."
        )
        self.count = count
        self.limit = limit


def header_key(text: str) -> str:
    """'  First  Name ' -> 'firstname': the form headers are matched in.

    People retype headers ("E-mail Address", "email address ") and Excel may leave
    a byte-order mark on the first one; neither case nor spacing should matter.
    """
    return "".join(text.replace("\ufeff", "").split()).lower()


def file_format(filename: str) -> str:
    """ "csv" or "xlsx", from the file name's extension; InvalidValue for anything else."""
    name = filename.strip()
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension in ("csv", "xlsx"):
        return extension
    if extension == "xls":
        raise InvalidValue(
            f"{name!r} is an old Excel 97-2003 workbook; save it as .xlsx or as CSV UTF-8"
        )
    raise InvalidValue(f"{name!r} is neither a .csv nor an .xlsx file")


def neutralise(value: str) -> str:
    """``value`` made safe to open in a spreadsheet app: a would-be formula gets a "'".

    Follows the OWASP CSV-injection advice; read_sheet removes the quote again,
    so an export re-imports unchanged.
    """
    return "'" + value if _FORMULA_START.match(value) else value


def read_sheet(data: bytes, filename: str, *, max_rows: int) -> Sheet:
    """The header and data rows of an uploaded .csv or .xlsx file.

    Refuses, as InvalidValue, whatever the import should not try: an oversized or
    empty file, repeated headers, more than ``max_rows`` data rows (TooManyRows),
    an over-long cell, text that is not UTF-8, a workbook that is not one.
    """
    kind = file_format(filename)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidValue(f"the file is larger than {MAX_FILE_BYTES // _MB} MB")
    if not data:
        raise InvalidValue(NO_HEADER)
    if kind == "csv":
        return _sheet(_csv_rows(data), max_rows)
    with closing(_xlsx_rows(data)) as rows:
        return _sheet(rows, max_rows)


def write_csv(headers: list[str], rows: list[list[Cell]]) -> bytes:
    """A CSV file of ``headers`` and ``rows``, for Excel and for read_sheet.

    UTF-8 with a byte-order mark, without which Excel reads non-ASCII as mojibake;
    commas and CRLF, the csv module's defaults; text neutralised against formulas.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_text(header) for header in headers])
    writer.writerows([_csv_text(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def write_xlsx(headers: list[str], rows: list[list[Cell]], sheet_title: str = "Users") -> bytes:
    """An .xlsx workbook of ``headers`` (bold) and ``rows`` in one sheet.

    Text is stored as text, so "=SUM(A1)" stays a string and needs no quote; dates
    are real date cells; booleans are the words TRUE and FALSE, as in the CSV.
    """
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, header, bold) for header in headers])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Reading, for both formats: raw rows (str from CSV, openpyxl's values from .xlsx) in,
# Sheet out.


def _sheet(raw_rows: Iterable[Sequence[object]], max_rows: int) -> Sheet:
    numbered = enumerate(raw_rows, start=1)
    header = next(((n, values) for n, values in numbered if not _is_blank(values)), None)
    if header is None:
        raise InvalidValue(NO_HEADER)
    header_number, header_values = header
    headers = _headers(header_values[: _width(header_values)], header_number)
    kept: list[tuple[int, Sequence[object]]] = []
    count = 0
    for number, values in numbered:
        values = values[: len(headers)]
        if _is_blank(values):
            continue
        count += 1
        if count <= max_rows:
            kept.append((number, values))
    if count > max_rows:
        raise TooManyRows(count, max_rows)
    rows = [_row(values, number, headers) for number, values in kept]
    return Sheet(headers=headers, rows=rows, row_numbers=[number for number, _ in kept])


def _headers(values: Sequence[object], number: int) -> list[str]:
    headers: list[str] = []
    seen: dict[str, str] = {}
    for column, value in enumerate(values, start=1):
        # An over-long header is named by its column letter, as the spreadsheet shows it.
        cell = _cell(value, number, get_column_letter(column))
        text = cell if isinstance(cell, str) else _csv_text(cell)  # a number or date as header
        header = text.lstrip("\ufeff").strip()
        key = header_key(header)
        if key in seen:
            if seen[key] == header:
                raise InvalidValue(f"the header {header!r} appears more than once")
            raise InvalidValue(
                f"the headers {seen[key]!r} and {header!r} name the same column "
                "(headers ignore case and spaces)"
            )
        if key:  # several columns may lack a header; the import ignores or refuses those
            seen[key] = header
        headers.append(header)
    return headers


def _row(values: Sequence[object], number: int, headers: list[str]) -> list[Cell]:
    padded = [*values, *[None] * (len(headers) - len(values))]
    return [_cell(value, number, header) for value, header in zip(padded, headers, strict=True)]


def _cell(value: object, number: int, header: str) -> Cell:
    if value is None or isinstance(value, bool | int | float | datetime.date):
        return value  # datetime.datetime is a date too
    # A str, or what else openpyxl hands over: a time of day or a duration, as its text.
    text = _clean(str(value))
    if len(text) > MAX_CELL_CHARS:
        raise InvalidValue(
            f"row {number}, column {header!r}: longer than {MAX_CELL_CHARS} characters"
        )
    return text or None


def _clean(text: str) -> str:
    """``text`` stripped, with neutralise()'s quote taken off again.

    The quote comes off before the right side is stripped: neutralise("\t") is "'\t",
    which must read back as blank, not as "'".
    """
    text = text.lstrip()
    if text.startswith("'") and _FORMULA_START.match(text):
        text = text[1:]
    return text.strip()


def _is_blank(values: Sequence[object]) -> bool:
    return all(value is None or (isinstance(value, str) and not _clean(value)) for value in values)


def _width(values: Sequence[object]) -> int:
    """The number of cells up to the last non-blank one."""
    width = len(values)
    while width and _is_blank(values[width - 1 : width]):
        width -= 1
    return width


# CSV


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidValue(NOT_UTF8) from error
    # newline="" lets the csv module see the line ends itself, so quoted cells keep theirs.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    return _csv_records(reader)


def _csv_records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    number = 1
    while True:
        try:
            record = next(reader, None)
        except csv.Error as error:  # a NUL byte, a cell past the csv module's size limit
            raise InvalidValue(f"row {number}: the CSV file cannot be read ({error})") from error
        if record is None:
            return
        yield record
        number += 1


def _delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab outside quotes.

    csv.Sniffer guesses from character frequencies across lines and often settles
    on a letter or a space in a file of names; the header line is the one line
    whose every cell is known to be filled, so its count is the reliable one.
    """
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = content = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n":
            if content:
                break
        elif not char.isspace():
            content = True
    return max(_DELIMITERS, key=lambda delimiter: counts[delimiter])


# .xlsx


def _xlsx_rows(data: bytes) -> Generator[Sequence[object]]:
    """The first worksheet's rows from row 1, formulas as their cached values (or None).

    Two passes: the first stops at the header, whose width then bounds the second,
    so a stray cell in column XFD does not make every row 16,384 cells long.
    """
    _check_archive(data)
    with _unreadable():
        # data_only: a formula cell gives the value Excel last computed; none is evaluated.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if not isinstance(sheet, ReadOnlyWorksheet):
            return
        # Some writers record a wrong size (often "A1"); read the cells that are there.
        sheet.reset_dimensions()
        number = 0
        width = 0
        with closing(sheet.iter_rows(values_only=True)) as head:
            for row in _guarded(head, number + 1):
                number += 1
                yield row
                if not _is_blank(row):
                    width = _width(row)
                    break
        if width:
            rest = sheet.iter_rows(min_row=number + 1, max_col=width, values_only=True)
            with closing(rest):
                yield from _guarded(rest, number + 1)
    finally:
        book.close()


def _check_archive(data: bytes) -> None:
    with _unreadable():
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise InvalidValue(UNREADABLE)
    # zipfile stops inflating a member at its declared size (and then fails its CRC),
    # so the declared sizes bound what opening the workbook can cost.
    if sum(member.file_size for member in members) > MAX_XLSX_UNCOMPRESSED:
        raise InvalidValue(
            f"the .xlsx workbook unpacks to more than {MAX_XLSX_UNCOMPRESSED // _MB} MB; "
            "save it as CSV UTF-8 or split it"
        )


def _guarded(rows: Iterator[tuple[object, ...]], first: int) -> Iterator[tuple[object, ...]]:
    number = first
    while True:
        with _unreadable():
            row = next(rows, None)
        if row is None:
            return
        if number > _EXCEL_MAX_ROW:
            raise InvalidValue(UNREADABLE)
        yield row
        number += 1


@contextmanager
def _unreadable() -> Iterator[None]:
    """Any failure to parse the archive or its XML means the upload is not a workbook.

    The bytes are untrusted, and zipfile, the XML parser and openpyxl raise a wide
    and undocumented range of exceptions on them (BadZipFile, KeyError, ValueError,
    TypeError, ParseError...): every one is the same answer to the uploader.
    """
    try:
        yield
    except DirectoryError:
        raise
    except Exception as error:
        raise InvalidValue(UNREADABLE) from error


# Writing


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.date):  # and datetime.datetime
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Cell, font: Font | None = None) -> XlsxCell:
    cell = WriteOnlyCell(sheet)
    if isinstance(value, bool):
        value = "TRUE" if value else "FALSE"
    if isinstance(value, str):
        if value.startswith("'"):
            # Text needs no guard against formulas here, but read_sheet takes one quote
            # off "'=..." in either format: a value that starts so keeps its own quote.
            value = neutralise(value)
        # Characters XML 1.0 cannot hold (most C0 controls) would make openpyxl refuse
        # the whole export; they are invisible in a cell, so they are dropped.
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # openpyxl makes "=..." a formula and "#N/A" an error
    elif isinstance(value, datetime.date):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)  # Excel has no zones
        cell.value = value
        cell.number_format = "yyyy-mm-dd"
    else:
        cell.value = value
    if font is not None:
        cell.font = font
    return cell
