"""directory.sheets: CSV and .xlsx files in and out, with their limits and guards."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from directory import sheets
from directory.errors import InvalidValue
from directory.sheets import (
    MAX_CELL_CHARS,
    MAX_FILE_BYTES,
    Cell,
    TooManyRows,
    file_format,
    header_key,
    neutralise,
    read_sheet,
    write_csv,
    write_xlsx,
)

WRITERS: dict[str, Callable[[list[str], list[list[Cell]]], bytes]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
}
TRICKY = [
    "Zoë Ångström",
    "Łukasz",
    "李雷",
    "+44 7700 900123",
    "=SUM(A1)",
    "-5",
    "@home",
    "'=already quoted",
    "'just a quote",
    "#N/A",
    "a, b; c\td",
    'say "hi"',
    "two\nlines",
]


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ",", bom: bool = False, encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    """A workbook as openpyxl writes it, which is how Excel's own files look to the reader."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def replace_in_member(data: bytes, member: str, old: str, new: str) -> bytes:
    """``data`` with ``old`` replaced in one archive member, for XML openpyxl won't write."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == member:
                text = content.decode()
                assert old in text
                content = text.replace(old, new).encode()
            target.writestr(info, content)
    return out.getvalue()


# Round trips


@pytest.mark.parametrize("kind", WRITERS)
def test_round_trip_gives_back_every_text_value(kind: str) -> None:
    headers = ["Name", "Value"]
    rows: list[list[Cell]] = [[f"row {i}", value] for i, value in enumerate(TRICKY)]
    rows.append(["empty", None])

    sheet = read_sheet(WRITERS[kind](headers, rows), f"users.{kind}", max_rows=100)

    assert sheet.headers == headers
    assert sheet.rows == rows
    assert sheet.row_numbers == list(range(2, len(rows) + 2))


@pytest.mark.parametrize("kind", WRITERS)
def test_round_trip_writes_booleans_as_words(kind: str) -> None:
    sheet = read_sheet(WRITERS[kind](["a", "b"], [[True, False]]), f"x.{kind}", max_rows=1)
    assert sheet.rows == [["TRUE", "FALSE"]]


def test_xlsx_round_trip_keeps_numbers_and_dates() -> None:
    day = datetime.date(2024, 2, 29)
    moment = datetime.datetime(2024, 2, 29, 13, 45, 10)
    data = write_xlsx(["n", "x", "day", "moment"], [[42, 2.5, day, moment]])

    sheet = read_sheet(data, "x.xlsx", max_rows=1)

    assert sheet.rows == [[42, 2.5, datetime.datetime(2024, 2, 29), moment]]


def test_csv_writes_bom_crlf_and_iso_dates_and_neutralises_text() -> None:
    data = write_csv(
        ["when", "day", "n", "formula", "none"],
        [[datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2024, 1, 2), 7, "=1+1", None]],
    )
    assert data == (
        b"\xef\xbb\xbfwhen,day,n,formula,none\r\n2024-01-02T03:04:05,2024-01-02,7,'=1+1,\r\n"
    )


def test_xlsx_stores_formula_like_text_as_plain_text() -> None:
    data = write_xlsx(["formula"], [["=1+1"], ["@cmd"]])

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert [(cell.value, cell.data_type) for cell in sheet["A"][1:]] == [
        ("=1+1", "s"),
        ("@cmd", "s"),
    ]
    assert read_sheet(data, "x.xlsx", max_rows=2).rows == [["=1+1"], ["@cmd"]]


def test_xlsx_header_is_bold_and_dates_show_as_dates() -> None:
    data = write_xlsx(["day"], [[datetime.date(2024, 5, 1)]], sheet_title="Export")

    sheet = openpyxl.load_workbook(io.BytesIO(data))["Export"]

    assert sheet["A1"].font.bold is True
    assert sheet["A2"].is_date
    assert sheet["A2"].number_format == "yyyy-mm-dd"


def test_xlsx_writes_zoned_datetimes_in_utc() -> None:
    paris = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=paris)

    sheet = read_sheet(write_xlsx(["at"], [[moment]]), "x.xlsx", max_rows=1)

    assert sheet.rows == [[datetime.datetime(2024, 6, 1, 10, 0)]]


def test_xlsx_drops_characters_xml_cannot_hold() -> None:
    sheet = read_sheet(write_xlsx(["name"], [["bell\x07 here"]]), "x.xlsx", max_rows=1)
    assert sheet.rows == [["bell here"]]


@settings(max_examples=200, deadline=None)
@example([["\r", "'\t"], ["\t=x", "''@"]])  # quoted by neutralise, then whitespace inside
@given(
    st.lists(
        st.lists(
            st.text(st.characters(exclude_categories=("Cs",))),
            min_size=2,
            max_size=2,
        ),
        max_size=5,
    )
)
def test_csv_round_trips_any_text(rows: list[list[str]]) -> None:
    expected: list[list[Cell]] = [[value.strip() or None for value in row] for row in rows]
    expected = [row for row in expected if row != [None, None]]  # blank rows are skipped

    sheet = read_sheet(write_csv(["a", "b"], list(rows)), "x.csv", max_rows=10)

    assert sheet.rows == expected


# CSV reading


@pytest.mark.parametrize("bom", [True, False])
def test_csv_reads_utf8_with_or_without_bom(bom: bool) -> None:
    data = csv_bytes([["Name", "City"], ["Zoë", "Kraków"]], bom=bom)

    sheet = read_sheet(data, "x.csv", max_rows=1)

    assert sheet.headers == ["Name", "City"]
    assert sheet.rows == [["Zoë", "Kraków"]]


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_detects_the_header_lines_delimiter(delimiter: str) -> None:
    # Commas inside cells must not win over a ';' or tab delimiter.
    data = csv_bytes([["Name", "Email"], ["Doe, Jane", "jane@example.org"]], delimiter=delimiter)

    sheet = read_sheet(data, "x.csv", max_rows=1)

    assert sheet.headers == ["Name", "Email"]
    assert sheet.rows == [["Doe, Jane", "jane@example.org"]]


def test_csv_delimiters_inside_a_quoted_header_are_not_counted() -> None:
    data = b'"Last, First, Middle";Email\r\n"Doe, Jane, Q";j@example.org\r\n'

    sheet = read_sheet(data, "x.csv", max_rows=1)

    assert sheet.headers == ["Last, First, Middle", "Email"]


def test_csv_quoted_cells_keep_delimiters_quotes_and_newlines() -> None:
    data = b'Name,Note\r\n"Doe, Jane","first line\r\nsecond ""quoted"" line"\r\nBob,x\r\n'

    sheet = read_sheet(data, "x.csv", max_rows=5)

    assert sheet.rows == [["Doe, Jane", 'first line\r\nsecond "quoted" line'], ["Bob", "x"]]
    assert sheet.row_numbers == [2, 3]  # a record, not a physical line, is a row


def test_csv_cells_are_stripped_and_empty_ones_are_none() -> None:
    sheet = read_sheet(b" Name , Email \r\n  Zoe  ,   \r\n", "x.csv", max_rows=1)

    assert sheet.headers == ["Name", "Email"]
    assert sheet.rows == [["Zoe", None]]


def test_csv_rows_are_padded_and_cut_to_the_headers() -> None:
    sheet = read_sheet(b"a,b,c\r\n1\r\n1,2,3,4\r\n", "x.csv", max_rows=2)
    assert sheet.rows == [["1", None, None], ["1", "2", "3"]]


def test_csv_trailing_empty_headers_are_dropped() -> None:
    sheet = read_sheet(b"a,b,,\r\n1,2,,\r\n", "x.csv", max_rows=1)
    assert sheet.headers == ["a", "b"]
    assert sheet.rows == [["1", "2"]]


def test_csv_reader_removes_the_neutralising_quote_only() -> None:
    data = b"v\r\n'=1+1\r\n'+44 1\r\n'-5\r\n'@x\r\n'plain\r\n'\r\n''=x\r\n"

    sheet = read_sheet(data, "x.csv", max_rows=10)

    assert [row[0] for row in sheet.rows] == ["=1+1", "+44 1", "-5", "@x", "'plain", "'", "'=x"]


def test_csv_that_is_not_utf8_is_refused() -> None:
    data = csv_bytes([["Name"], ["Zoë Ångström"]], encoding="cp1252")
    with pytest.raises(InvalidValue, match="not UTF-8 text; save it as CSV UTF-8"):
        read_sheet(data, "x.csv", max_rows=5)


def test_csv_cell_past_the_csv_modules_limit_is_refused_with_its_row() -> None:
    data = b"a\r\nok\r\n" + b"x" * 200_000 + b"\r\n"
    with pytest.raises(InvalidValue, match=r"row 3: the CSV file cannot be read \(field larger"):
        read_sheet(data, "x.csv", max_rows=5)


# Headers


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  First  Name ", "firstname"),
        ("E-mail\u00a0Address", "e-mailaddress"),
        ("\ufeffuserName", "username"),
        ("USER\tNAME\n", "username"),
        ("", ""),
    ],
)
def test_header_key_ignores_case_spaces_and_bom(text: str, key: str) -> None:
    assert header_key(text) == key


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ("Email,Name,Email", "the header 'Email' appears more than once"),
        ("First Name,firstname", "'First Name' and 'firstname' name the same column"),
    ],
)
def test_duplicate_headers_are_refused(headers: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        read_sheet(headers.encode() + b"\r\n1,2,3\r\n", "x.csv", max_rows=5)


def test_several_columns_without_header_are_not_duplicates() -> None:
    sheet = read_sheet(b"a,,b,,c\r\n1,2,3,4,5\r\n", "x.csv", max_rows=1)
    assert sheet.headers == ["a", "", "b", "", "c"]


def test_a_bom_left_on_an_xlsx_header_is_stripped() -> None:
    sheet = read_sheet(xlsx_bytes([["\ufeffName"], ["x"]]), "x.xlsx", max_rows=1)
    assert sheet.headers == ["Name"]


# Blank rows, limits


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_blank_rows_are_skipped_but_counted(kind: str) -> None:
    rows: list[list[object]] = [
        ["Name", "Email"],
        ["a", "a@x"],
        [None, None],
        ["b", None],
        ["   ", ""],
        [None, "c@x"],
        [None, None],
        [None, None],
    ]
    data = (
        csv_bytes([["" if v is None else str(v) for v in row] for row in rows])
        if kind == "csv"
        else xlsx_bytes(rows)
    )

    sheet = read_sheet(data, f"x.{kind}", max_rows=10)

    assert sheet.rows == [["a", "a@x"], ["b", None], [None, "c@x"]]
    assert sheet.row_numbers == [2, 4, 6]


def test_blank_rows_before_the_header_keep_the_numbering() -> None:
    sheet = read_sheet(b"\r\n,\r\nName\r\nx\r\n", "x.csv", max_rows=1)
    assert sheet.headers == ["Name"]
    assert sheet.row_numbers == [4]


def test_rows_up_to_the_limit_are_accepted() -> None:
    data = csv_bytes([["n"], *[[str(i)] for i in range(1000)]])
    assert len(read_sheet(data, "x.csv", max_rows=1000).rows) == 1000


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_too_many_rows_are_refused_with_the_count(kind: str) -> None:
    rows = [["n"], *[[str(i)] for i in range(1234)]]
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(list(rows))

    with pytest.raises(TooManyRows) as raised:
        read_sheet(data, f"x.{kind}", max_rows=1000)

    assert str(raised.value) == (
        "The file has 1,234 rows; at most 1,000 can be imported at once. "
        "Split the file and import each part."
    )
    assert (raised.value.count, raised.value.limit) == (1234, 1000)
    assert isinstance(raised.value, InvalidValue)


def test_too_many_rows_is_refused_before_any_cell_is_checked() -> None:
    # Row 2's over-long cell would be refused if rows were built before counting.
    data = csv_bytes([["n"], ["x" * (MAX_CELL_CHARS + 1)], ["y"], ["z"]])
    with pytest.raises(TooManyRows):
        read_sheet(data, "x.csv", max_rows=2)


def test_a_file_over_the_size_limit_is_refused() -> None:
    data = b"Name\r\n" + b"x" * MAX_FILE_BYTES
    with pytest.raises(InvalidValue, match="the file is larger than 10 MB"):
        read_sheet(data, "x.csv", max_rows=10)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "x.csv"),
        (b"", "x.xlsx"),
        (b"\xef\xbb\xbf", "x.csv"),
        (b"\r\n  \r\n,,\r\n", "x.csv"),
        (xlsx_bytes([]), "x.xlsx"),
        (xlsx_bytes([[None, " "], [None, None]]), "x.xlsx"),
    ],
)
def test_a_file_without_header_row_is_refused(data: bytes, filename: str) -> None:
    with pytest.raises(InvalidValue, match="the file has no header row"):
        read_sheet(data, filename, max_rows=10)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_over_long_cell_is_refused_naming_row_and_column(kind: str) -> None:
    rows = [["Name", "Notes"], ["a", "ok"], ["b", "x" * (MAX_CELL_CHARS + 1)]]
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(list(rows))

    with pytest.raises(InvalidValue) as raised:
        read_sheet(data, f"x.{kind}", max_rows=10)

    assert str(raised.value) == "row 3, column 'Notes': longer than 2000 characters"


def test_a_cell_of_exactly_the_limit_is_accepted() -> None:
    data = csv_bytes([["Notes"], ["x" * MAX_CELL_CHARS]])
    assert read_sheet(data, "x.csv", max_rows=1).rows == [["x" * MAX_CELL_CHARS]]


def test_an_over_long_header_is_refused_naming_its_column() -> None:
    data = csv_bytes([["a", "b" * (MAX_CELL_CHARS + 1)]])
    with pytest.raises(InvalidValue, match="row 1, column 'B': longer than"):
        read_sheet(data, "x.csv", max_rows=1)


# .xlsx reading


def test_xlsx_formula_without_cached_value_reads_as_none() -> None:
    data = xlsx_bytes([["Name", "Total"], ["a", "=1+1"]])
    assert read_sheet(data, "x.xlsx", max_rows=1).rows == [["a", None]]


def test_xlsx_formula_reads_as_its_cached_value_never_evaluated() -> None:
    data = xlsx_bytes([["Name", "Total"], ["a", "=1+1"]])
    # A cached value that 1+1 cannot give: only reading the cache can produce it.
    sheet_xml = "xl/worksheets/sheet1.xml"
    data = replace_in_member(data, sheet_xml, "<f>1+1</f><v />", "<f>1+1</f><v>7</v>")

    assert read_sheet(data, "x.xlsx", max_rows=1).rows == [["a", 7]]


def test_xlsx_text_cells_are_stripped_and_unquoted() -> None:
    data = xlsx_bytes([["  Name  "], ["  Zoe "], [""], ["'=1+1"]])

    sheet = read_sheet(data, "x.xlsx", max_rows=5)

    assert sheet.headers == ["Name"]
    assert sheet.rows == [["Zoe"], ["=1+1"]]
    assert sheet.row_numbers == [2, 4]


def test_xlsx_time_of_day_reads_as_iso_text() -> None:
    data = xlsx_bytes([["at"], [datetime.time(9, 30)]])
    assert read_sheet(data, "x.xlsx", max_rows=1).rows == [["09:30:00"]]


def test_xlsx_reads_the_first_worksheet_not_the_active_one() -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["first"])
    book.create_sheet("second").append(["second"])
    book.active = 1
    out = io.BytesIO()
    book.save(out)

    assert read_sheet(out.getvalue(), "x.xlsx", max_rows=1).headers == ["first"]


def test_xlsx_with_a_wrong_recorded_size_is_read_in_full() -> None:
    data = xlsx_bytes([["Name", "Email"], ["a", "a@x"], ["b", "b@x"]])
    data = replace_in_member(data, "xl/worksheets/sheet1.xml", 'ref="A1:B3"', 'ref="A1"')

    sheet = read_sheet(data, "x.xlsx", max_rows=5)

    assert sheet.headers == ["Name", "Email"]
    assert sheet.rows == [["a", "a@x"], ["b", "b@x"]]


def test_xlsx_cells_right_of_the_last_header_are_ignored() -> None:
    sheet = read_sheet(xlsx_bytes([["a"], ["1", "2"], [None, "3"]]), "x.xlsx", max_rows=5)
    assert sheet.rows == [["1"]]
    assert sheet.row_numbers == [2]


def test_xlsx_rows_are_read_no_wider_than_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stray cell in column XFD must not make every row 16,384 values long.
    widths: list[int] = []
    guarded = sheets._guarded

    def spy(rows: Iterator[tuple[object, ...]], first: int) -> Iterator[tuple[object, ...]]:
        for row in guarded(rows, first):
            widths.append(len(row))
            yield row

    monkeypatch.setattr(sheets, "_guarded", spy)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b"])
    for row in range(2, 6):
        sheet.cell(row=row, column=1, value="x")
        sheet.cell(row=row, column=16384, value="far")
    out = io.BytesIO()
    book.save(out)

    assert read_sheet(out.getvalue(), "x.xlsx", max_rows=10).rows == [["x", None]] * 4
    assert max(widths) == 2


def test_xlsx_claiming_rows_past_excels_last_is_refused() -> None:
    data = xlsx_bytes([["Name"], ["a"]])
    data = replace_in_member(
        data, "xl/worksheets/sheet1.xml", '<row r="2"><c r="A2"', '<row r="2000000"><c r="A2000000"'
    )
    with pytest.raises(InvalidValue, match="not a readable .xlsx workbook"):
        read_sheet(data, "x.xlsx", max_rows=5)


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Name,Email\r\n", id="csv-named-xlsx"),
        pytest.param(zip_of({"word/document.xml": b"<w/>"}), id="zip-without-workbook"),
        pytest.param(zip_of({"xl/workbook.xml": b"not xml"}), id="corrupt-workbook"),
        pytest.param(xlsx_bytes([["Name"], ["a"]])[:-200], id="truncated"),
        pytest.param(
            replace_in_member(
                xlsx_bytes([["Name"], ["a"]]), "xl/worksheets/sheet1.xml", "</sheetData>", ""
            ),
            id="broken-sheet-xml",
        ),
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidValue) as raised:
        read_sheet(data, "x.xlsx", max_rows=5)
    assert str(raised.value) == "the file is not a readable .xlsx workbook"


def test_a_zip_bomb_is_refused_before_unpacking() -> None:
    bomb = zip_of(
        {
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": bytes(sheets.MAX_XLSX_UNCOMPRESSED + 1),
        }
    )
    assert len(bomb) < MAX_FILE_BYTES

    with pytest.raises(InvalidValue, match="unpacks to more than 100 MB"):
        read_sheet(bomb, "x.xlsx", max_rows=5)


def test_the_zip_bomb_guard_sums_every_member(monkeypatch: pytest.MonkeyPatch) -> None:
    data = xlsx_bytes([["Name"], ["a"]])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = sum(info.file_size for info in archive.infolist())
    largest = max(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())

    monkeypatch.setattr(sheets, "MAX_XLSX_UNCOMPRESSED", total - 1)
    assert total - 1 > largest
    with pytest.raises(InvalidValue, match="unpacks to more than"):
        read_sheet(data, "x.xlsx", max_rows=5)

    monkeypatch.setattr(sheets, "MAX_XLSX_UNCOMPRESSED", total)
    assert read_sheet(data, "x.xlsx", max_rows=5).rows == [["a"]]


# Names and neutralising


@pytest.mark.parametrize(
    ("filename", "kind"),
    [("users.csv", "csv"), ("Users.CSV", "csv"), ("export.2024.XLSX", "xlsx"), ("a.xlsx ", "xlsx")],
)
def test_file_format_comes_from_the_extension(filename: str, kind: str) -> None:
    assert file_format(filename) == kind


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("users.xls", "old Excel 97-2003 workbook; save it as .xlsx"),
        ("users.txt", "'users.txt' is neither a .csv nor an .xlsx file"),
        ("csv", "'csv' is neither"),
        ("", "neither"),
    ],
)
def test_other_file_formats_are_refused(filename: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        file_format(filename)


def test_read_sheet_refuses_an_unknown_format() -> None:
    with pytest.raises(InvalidValue, match="neither a .csv nor an .xlsx"):
        read_sheet(b"Name\r\n", "users.ods", max_rows=1)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-5", "'-5"),
        ("@home", "'@home"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=x", "''=x"),
        ("Zoë", "Zoë"),
        ("a=b", "a=b"),
        (" =x", " =x"),
        ("'plain", "'plain"),
        ("'", "'"),
        ("", ""),
    ],
)
def test_neutralise_quotes_what_a_spreadsheet_would_run(value: str, safe: str) -> None:
    assert neutralise(value) == safe
