"""What an import refuses before writing anything, and what a spreadsheet cannot smuggle in."""

from __future__ import annotations

import io

import openpyxl

from directory import sheets
from tests.scimd.accounts import assert_error, new_user
from tests.scimd.test_imports import export, upload, user_named
from tests.support.spreadsheets import csv_bytes, read_rows


def _grid_size(admin) -> int:
    return admin.get("/users").json()["totalResults"]


def _jobs(admin) -> int:
    return len(admin.get("/imports").json()["jobs"])


def test_more_than_5000_rows_is_refused_before_any_write(admin):
    before, jobs_before = _grid_size(admin), _jobs(admin)
    rows = [[f"big-{n}@example.com"] for n in range(5001)]
    refused = assert_error(upload(admin, csv_bytes(["Username"], rows)), 400, "invalid_value")
    assert "5,001 rows" in refused["detail"] and "Split the file" in refused["detail"]
    assert (_grid_size(admin), _jobs(admin)) == (before, jobs_before)


def test_5000_rows_are_accepted(admin):
    rows = [[f"max-{n}@example.com"] for n in range(5000)]
    job = upload(admin, csv_bytes(["Username"], rows), dryRun=True).json()
    assert job["report"]["total"] == 5000 and job["report"]["failed"] == 0


def test_a_file_over_the_size_limit_is_refused(admin):
    big = b"Username\n" + b"x" * (sheets.MAX_FILE_BYTES + 1)
    response = upload(admin, big)
    assert response.status_code in (400, 413), response.text
    assert "10 MB" in response.json()["detail"] or "bytes" in response.json()["detail"]


def test_a_cell_over_the_length_limit_is_refused_naming_row_and_column(admin):
    rows = [["ok@example.com", "fine"], ["long@example.com", "x" * (sheets.MAX_CELL_CHARS + 1)]]
    refused = assert_error(
        upload(admin, csv_bytes(["Username", "Job title"], rows)), 400, "invalid_value"
    )
    assert "row 3" in refused["detail"] and "Job title" in refused["detail"]


def test_xlsx_formulas_are_read_as_values_and_never_evaluated(admin):
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Username", "Job title"])
    sheet.append(["formula@example.com", '=HYPERLINK("http://evil.example","x")'])
    sheet.append(['=CONCATENATE("calc","@example.com")', "Clerk"])
    out = io.BytesIO()
    book.save(out)
    job = upload(admin, out.getvalue(), "users.xlsx", skipErrors=True).json()
    # openpyxl stores no computed value: a formula cell reads as blank, never as its result.
    assert job["report"]["created"] == 1
    assert job["report"]["errors"] == [{"row": 3, "column": "Username", "reason": "is required"}]
    user = user_named(admin, "formula@example.com")
    assert admin.get("/users", params={"search": "calc@"}).json()["users"] == []
    assert user["userName"] == "formula@example.com"


def test_exports_neutralise_cells_a_spreadsheet_would_run_and_reimport_them_intact(admin):
    user = new_user(admin, name="=cmd|' /C calc'!A0", mobile="+44 7700 900123")
    text = export(admin, "csv").decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and "'+44 7700 900123" in text
    [row] = [r for r in read_rows("csv", export(admin, "csv")) if r["Username"] == user["userName"]]
    assert row["Description"].startswith("'=")
    # The import takes the quote off again: re-importing changes nothing.
    again = upload(admin, export(admin, "csv"), updateExisting=True).json()
    assert again["report"]["unchanged"] >= 1 and again["report"]["updated"] == 0
    shown = user_named(admin, user["userName"])
    assert (shown["name"], shown["mobile"]) == ("=cmd|' /C calc'!A0", "+44 7700 900123")


def test_malformed_uploads_are_clear_errors(admin):
    data = csv_bytes(["Username"], [["a@example.com"]])
    assert_error(admin.post("/imports", json={"file": "x"}), 400, "invalid_value")
    assert_error(admin.post("/imports", data={"dryRun": "true"}), 400, "invalid_value")
    assert_error(upload(admin, data, colour="red"), 400, "invalid_value")
    assert_error(upload(admin, data, dryRun="perhaps"), 400, "invalid_value")
    assert_error(upload(admin, data, dateFormat="klingon"), 400, "invalid_value")
    assert_error(upload(admin, data, "users.txt"), 400, "invalid_value")
    assert_error(upload(admin, b"\xff\xfe\x00garbage", "users.xlsx"), 400, "invalid_value")
    assert_error(upload(admin, csv_bytes(["Name"], [["x"]])), 400, "invalid_value")
    truncated = admin.post(
        "/imports",
        content=b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nno end",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert truncated.status_code == 400 and truncated.json()["error"] in (
        "invalid_request",
        "invalid_value",
    )
    assert_error(admin.get("/imports/12x"), 404, "not_found")
