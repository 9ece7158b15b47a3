"""The console's import and export page: the upload with its options, a job's report with the
row errors, live progress of a queued import, and the export downloads — each through the
admin API."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid

import openpyxl
import pytest

from directory import sheets
from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.scimd.accounts import admin_token, new_user
from tests.scimd.console.pages import browser, hidden, sign_in_with_token
from tests.support.spreadsheets import csv_bytes, xlsx_bytes

HEADERS = ["Username", "Email"]


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


@pytest.fixture
def prefix() -> str:
    return f"imp-{uuid.uuid4().hex[:6]}"


def people(prefix: str, count: int, bad: frozenset[int] = frozenset()) -> list[list[str]]:
    """Rows of ``count`` people; those numbered in ``bad`` with an email that is not one."""
    return [
        [f"{prefix}-{n}@example.com", "not-an-email" if n in bad else f"{prefix}-{n}@example.com"]
        for n in range(count)
    ]


def submit(web, data: bytes, filename: str = "people.csv", **options: str):
    """The import form posted as a browser does (multipart, with the page's CSRF token)."""
    form = web.get("/console/import").text
    kind = "text/csv" if filename.endswith(".csv") else "application/octet-stream"
    return web.post(
        "/console/import",
        data={"csrf": hidden(form, "csrf"), "dateFormat": "iso", **options},
        files={"file": (filename, data, kind)},
    )


def found(admin, prefix: str) -> list[str]:
    users = admin.get("/users", params={"search": prefix, "count": 200}).json()["users"]
    return sorted(user["userName"] for user in users)


def error_rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)


def test_skipping_errors_imports_the_good_rows_and_reports_the_bad_one(web, admin, prefix):
    done = submit(web, csv_bytes(HEADERS, people(prefix, 2, bad=frozenset({1}))), skipErrors="on")
    assert done.status_code == 200, done.text
    assert re.search(r"/console/import/\d+\?notice=import_ran$", str(done.url))
    assert "The file was read" in done.text and "<dd>done" in done.text
    [(row, column, reason)] = error_rows(done.text)
    assert (row, column) == ("3", "Email") and reason  # row 1 is the header
    assert found(admin, prefix) == [f"{prefix}-0@example.com"]
    # The job is among the recent imports.
    job_id = str(done.url).split("/")[-1].split("?")[0]
    listing = web.get("/console/import").text
    assert f'href="/console/import/{job_id}"' in listing and "people.csv" in listing


def test_all_or_nothing_with_an_error_imports_nothing_and_lists_the_error(web, admin, prefix):
    done = submit(web, csv_bytes(HEADERS, people(prefix, 3, bad=frozenset({2}))))
    assert done.status_code == 200, done.text
    assert "<dd>failed" in done.text and "Nothing was imported" in done.text
    assert [row for row, _, _ in error_rows(done.text)] == ["4"]
    assert found(admin, prefix) == []


def test_a_dry_run_reports_without_importing(web, admin, prefix):
    done = submit(web, csv_bytes(HEADERS, people(prefix, 2)), dryRun="on")
    assert "Dry run" in done.text and "Nothing was changed" in done.text
    assert re.search(r"<td>2</td><td>2</td><td>0</td><td>0</td><td>0</td>", done.text)
    assert found(admin, prefix) == []


def test_an_xlsx_upload_imports(web, admin, prefix):
    done = submit(web, xlsx_bytes(HEADERS, people(prefix, 2)), filename="people.xlsx")
    assert "<dd>done" in done.text, done.text
    assert found(admin, prefix) == [f"{prefix}-0@example.com", f"{prefix}-1@example.com"]


def test_refused_files_and_options_are_readable_on_the_form(web, prefix):
    no_username = submit(web, csv_bytes(["Email"], [["a@example.com"]]), copyRolesFrom="x")
    assert no_username.status_code == 400
    assert 'class="problem" role="alert"' in no_username.text and "Username" in no_username.text
    assert 'value="x"' in no_username.text  # the options chosen are kept
    too_big = submit(web, b"Username\n" + b"x" * (sheets.MAX_FILE_BYTES + 100_000))
    assert too_big.status_code == 413
    assert "The file is too large" in too_big.text
    form = web.get("/console/import").text
    no_file = web.post(
        "/console/import",
        data={"csrf": hidden(form, "csrf")},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert no_file.status_code == 400 and "Choose a CSV or XLSX file" in no_file.text
    # A job failed as a whole says why.
    unknown = submit(web, csv_bytes(HEADERS, people(prefix, 1)), copyRolesFrom="nobody-here")
    assert "The import failed" in unknown.text and "nobody-here" in unknown.text


def test_a_queued_import_shows_live_progress_until_done(engine, tenant, prefix):
    app = create_app(
        Settings(
            shared_logins=True, secret_key=TEST_SECRET_KEY, job_runner=True, job_poll_seconds=0.1
        ),
        engine=engine,
    )
    with browser(app) as web:
        sign_in_with_token(web, admin_token(engine, tenant))
        queued = submit(web, csv_bytes(HEADERS, people(prefix, 40)), queue="on")
        assert "The import was queued" in queued.text
        job_page = str(queued.url).split("?")[0]
        progress = f"{job_page}.json"
        if "<progress" in queued.text:  # unless the runner was quicker than the redirect
            assert f'data-progress="{progress.removeprefix("http://testserver")}"' in queued.text
        deadline = time.monotonic() + 20
        while (state := web.get(progress).json())["status"] in ("queued", "running"):
            assert 0 <= state["done"] <= state["total"] == 40
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state == {"status": "done", "total": 40, "done": 40}
        finished = web.get(job_page).text
        assert "<progress" not in finished and "<td>40</td><td>40</td>" in finished
        assert web.get("/console/import/999999999.json").json()["status"] == "error"


def test_the_export_buttons_download_csv_and_xlsx(web, admin, prefix):
    user = new_user(admin, userName=f"{prefix}-x@example.com")
    page = web.get("/console/import").text
    assert 'formaction="/console/export/users.csv"' in page
    assert 'formaction="/console/export/users.xlsx"' in page
    as_csv = web.get("/console/export/users.csv", params={"dateFormat": "british"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="users.csv"' in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert user["userName"] in {row["Username"] for row in rows}
    as_xlsx = web.get("/console/export/users.xlsx")
    assert as_xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None and sheet.cell(1, 1).value == "Username"
    assert user["userName"] in {cell.value for cell in sheet["A"]}
    assert web.get("/console/export/users.pdf").status_code == 404
