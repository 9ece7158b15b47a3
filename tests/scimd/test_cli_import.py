"""``scimd import`` and ``scimd export``: user spreadsheets from the command line, on the real
executable, checked against the store it wrote to."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from directory import jobs, tables
from directory.user_sheet import DATE_FORMATS, HEADERS
from scimd import cli_import
from tests.conftest import Tenant
from tests.support.live_server import run_scimd
from tests.support.spreadsheets import csv_bytes, read_rows, spreadsheet

MFA_ERROR = "'maybe' is not TRUE/FALSE, Y/N or 1/0"


def _scimd(database_url: str, *args: str):
    return run_scimd(*args, "--database-url", database_url)


def _import(database_url: str, tenant: Tenant, path: Path, *options: str):
    return _scimd(database_url, "import", str(path), "--tenant", tenant.name, *options)


def _ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def _not_all_imported(result) -> str:
    """Exit status 1 with the outcome on stdout: the import ran, not every row got in."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout


def _refused(result, *words: str) -> str:
    """A refusal: a non-zero exit and one readable line on stderr holding ``words``."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("scimd: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as a .csv or .xlsx file (by ``path``'s extension) in the import's columns."""
    table = [[row.get(header, "") for header in HEADERS] for row in rows]
    path.write_bytes(spreadsheet(path.suffix.lstrip("."), HEADERS, table))
    return path


def _table(stdout: str) -> list[list[str]]:
    """The body rows of the error table rich printed: [row, column, reason] each."""
    rows: list[list[str]] = []
    for line in stdout.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:  # a long cell wrapped onto the next line
            rows[-1] = [" ".join(filter(None, pair)) for pair in zip(rows[-1], cells, strict=True)]
    return rows


def _names(engine: Engine, tenant: Tenant) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(tables.User.user_name).where(tables.User.tenant_id == tenant.id)
            ).scalars()
        )


def _listed(database_url: str, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """The tenant's users as ``scimd user list --json`` shows them, by userName."""
    shown = json.loads(
        _ok(
            _scimd(
                database_url, "user", "list", "--tenant", tenant.name, "--json", "--count", "200"
            )
        )
    )
    assert shown["totalResults"] == len(shown["users"])
    return {user["userName"]: user for user in shown["users"]}


def _jobs(engine: Engine, tenant: Tenant) -> list[jobs.Job]:
    with engine.connect() as conn:
        return jobs.recent(conn, tenant.id)


def _unique(prefix: str) -> str:
    # Imports from the CLI run without shared logins: a name must be free in every tenant.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_date_formats_of_the_cli_are_the_sheets_date_formats():
    # Kept as a copy so that ``scimd --help`` need not import the spreadsheet modules.
    assert cli_import.DATE_FORMATS == tuple(DATE_FORMATS)


def test_csv_and_xlsx_files_import_every_row_with_their_non_ascii_names(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("imp")
    people = {
        "csv": [
            ("zoë", "Zoë", "Ångström", "Zoë Ångström"),
            ("li.lei", "雷", "李", "李雷"),
            ("josé", "José", "Nuñez", "José Nuñez"),
        ],
        "xlsx": [
            ("søren", "Søren", "Kierkegård", "Søren Kierkegård"),
            ("ivan", "Иван", "Петров", "Иван Петров"),
            ("amélie", "Amélie", "Poulain", "Amélie Poulain"),
        ],
    }
    expected: dict[str, tuple[str, str, bool]] = {}
    names: dict[str, dict[str, str]] = {}
    for kind, rows in people.items():
        sheet = [
            {
                "Username": f"{login}.{tag}@example.com",
                "First name": first,
                "Last name": last,
                "Description": full,
                "Email": f"{login}.{tag}@example.com",
                "MFA required": "Y" if kind == "csv" else "FALSE",
            }
            for login, first, last, full in rows
        ]
        expected |= {
            row["Username"]: (row["Description"], row["Email"], kind == "csv") for row in sheet
        }
        names |= {
            row["Username"]: {"givenName": row["First name"], "familyName": row["Last name"]}
            for row in sheet
        }
        stdout = _ok(_import(database_url, tenant, _write(tmp_path / f"users.{kind}", sheet)))
        assert stdout == "imported 3 of 3 rows: 3 created, 0 updated, 0 unchanged, 0 failed\n", kind

    listed = _listed(database_url, tenant)
    assert {
        name: (user["name"], user["email"], user["mfaRequired"]) for name, user in listed.items()
    } == expected
    with engine.connect() as conn:
        stored = conn.execute(
            select(tables.User.user_name, tables.User.document).where(
                tables.User.tenant_id == tenant.id
            )
        ).all()
    assert {name: document["name"] for name, document in stored} == names
    # Each run is a job, recorded as the admin API shows it.
    recorded = _jobs(engine, tenant)
    assert [(job.filename, job.status, job.report["created"]) for job in recorded] == [
        ("users.xlsx", "done", 3),
        ("users.csv", "done", 3),
    ]
    assert all(job.actor.startswith("cli:") and job.attempts == 1 for job in recorded)


def test_a_bad_row_imports_nothing_unless_errors_are_skipped(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("bad")
    rows = [
        {"Username": f"one.{tag}@example.com"},
        {"Username": f"two.{tag}@example.com", "MFA required": "maybe"},
        {"Username": f"three.{tag}@example.com", "Last name": "Þórsdóttir"},
    ]
    path = _write(tmp_path / "users.csv", rows)

    refused = _not_all_imported(_import(database_url, tenant, path))
    assert refused.splitlines()[0] == (
        "nothing imported: 1 of 3 rows have errors "
        "(fix them, or import the others with --skip-errors)"
    )
    assert "Rows with errors" in refused
    assert _table(refused) == [["3", "MFA required", MFA_ERROR]]
    assert _names(engine, tenant) == []

    # Not every row got in, so the exit status still says so; the good rows are there.
    skipped = _not_all_imported(_import(database_url, tenant, path, "--skip-errors"))
    assert skipped.splitlines()[0] == (
        "imported 2 of 3 rows: 2 created, 0 updated, 0 unchanged, 1 failed"
    )
    assert _table(skipped) == [["3", "MFA required", MFA_ERROR]]
    assert _names(engine, tenant) == sorted([rows[0]["Username"], rows[2]["Username"]])
    assert [job.status for job in _jobs(engine, tenant)] == ["done", "failed"]


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("dry")
    clean = _write(
        tmp_path / "clean.xlsx",
        [{"Username": f"d1.{tag}@example.com"}, {"Username": f"d2.{tag}@example.com"}],
    )
    assert _ok(_import(database_url, tenant, clean, "--dry-run")) == (
        "dry run of 2 rows, nothing written: would be 2 created, 0 updated, 0 unchanged, 0 failed\n"
    )
    job = json.loads(_ok(_import(database_url, tenant, clean, "--dry-run", "--json")))
    assert (job["status"], job["options"]["dry_run"], job["progress"]) == (
        "done",
        True,
        {"done": 2, "total": 2},
    )
    assert job["report"] == {
        "total": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "committed": False,
        "complete": False,
        "errors": [],
        "warnings": [],
    }
    with engine.connect() as conn:
        assert job == jobs.get(conn, tenant.id, job["id"]).to_json()

    # A dry run of a file with a bad row: exit 1, as the import itself would not get it all in.
    bad = _write(
        tmp_path / "bad.csv",
        [{"Username": f"d3.{tag}@example.com"}, {"Username": "x", "MFA required": "maybe"}],
    )
    refused = json.loads(
        _not_all_imported(_import(database_url, tenant, bad, "--dry-run", "--json"))
    )
    assert (refused["status"], refused["report"]["created"], refused["report"]["failed"]) == (
        "done",
        1,
        1,
    )
    assert refused["report"]["errors"] == [
        {"row": 3, "column": "MFA required", "reason": MFA_ERROR}
    ]
    assert _names(engine, tenant) == []


def test_british_and_us_dates_read_day_and_month_their_way(database_url, tenant, tmp_path):
    tag = _unique("date")
    british = _write(
        tmp_path / "british.csv",
        [{"Username": f"gb.{tag}@example.com", "Date from": "31/01/2026", "Date to": "01/02/2026"}],
    )
    us = _write(
        tmp_path / "us.csv",
        [{"Username": f"us.{tag}@example.com", "Date from": "01/31/2026", "Date to": "02/01/2026"}],
    )
    _ok(_import(database_url, tenant, british, "--date-format", "british"))
    _ok(_import(database_url, tenant, us, "--date-format", "us"))
    # The British file read as US dates: there is no month 31.
    wrong = _not_all_imported(_import(database_url, tenant, british, "--date-format", "us"))
    assert _table(wrong) == [["2", "Date from", "'31/01/2026' is not a US date (like 01/31/2026)"]]

    listed = _listed(database_url, tenant)
    for name in (f"gb.{tag}@example.com", f"us.{tag}@example.com"):
        assert (listed[name]["loginAllowedFrom"], listed[name]["loginAllowedTo"]) == (
            "2026-01-31T00:00:00Z",
            "2026-02-01T23:59:59Z",
        ), name


def test_update_existing_and_roles_copied_from_a_user_made_on_the_cli(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("upd")
    source, old, new = (f"{who}.{tag}@example.com" for who in ("source", "old", "new"))
    _ok(_scimd(database_url, "catalog", "put", "roles", "viewer", "--tenant", tenant.name))
    _ok(_scimd(database_url, "user", "create", "--tenant", tenant.name, "--user-name", source))
    _ok(
        _scimd(
            database_url,
            "user",
            "grant",
            source,
            "--tenant",
            tenant.name,
            "--kind",
            "roles",
            "--codes",
            "viewer",
        )
    )
    first = _write(tmp_path / "first.csv", [{"Username": old, "Job title": "Clerk", "Email": old}])
    _ok(_import(database_url, tenant, first))
    second = _write(
        tmp_path / "second.xlsx",
        [{"Username": old, "Job title": "Manager"}, {"Username": new, "Description": "Nøw Üser"}],
    )

    refused = _not_all_imported(_import(database_url, tenant, second, "--copy-roles-from", source))
    assert refused.startswith("nothing imported: 1 of 2 rows have errors")
    [[row, column, reason]] = _table(refused)
    assert (row, column) == ("2", "Username") and "already exists" in reason
    missing = _not_all_imported(
        _import(database_url, tenant, second, "--update-existing", "--copy-roles-from", "nobody")
    )
    assert missing.startswith("import job ") and "no user 'nobody'" in missing
    assert _names(engine, tenant) == sorted([old, source])

    stdout = _ok(
        _import(database_url, tenant, second, "--update-existing", "--copy-roles-from", source)
    )
    assert stdout == "imported 2 of 2 rows: 1 created, 1 updated, 0 unchanged, 0 failed\n"
    listed = _listed(database_url, tenant)
    assert listed[new]["roles"] == ["viewer"]  # a new user gets the source's roles
    assert listed[old]["roles"] == []  # an updated one keeps its own
    assert (listed[old]["email"], listed[new]["name"]) == (old, "Nøw Üser")  # blank cells keep
    with engine.connect() as conn:
        title = conn.execute(
            select(tables.User.document["title"].as_string()).where(
                tables.User.tenant_id == tenant.id, tables.User.user_name == old
            )
        ).scalar_one()
    assert title == "Manager"


def test_queue_records_the_job_for_a_server_and_writes_no_user(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("queue")
    path = _write(
        tmp_path / "queued.csv",
        [{"Username": f"q1.{tag}@example.com"}, {"Username": f"q2.{tag}@example.com"}],
    )
    stdout = _ok(_import(database_url, tenant, path, "--queue", "--skip-errors"))
    [job] = _jobs(engine, tenant)
    assert stdout == f"queued import job {job.id}: 2 rows\n"
    assert (job.status, job.total, job.done, job.attempts, job.report, job.started) == (
        "queued",
        2,
        0,
        0,
        {},
        None,
    )
    assert (job.filename, job.options["skip_errors"]) == ("queued.csv", True)
    with engine.connect() as conn:
        assert jobs.payload(conn, job.id) == path.read_bytes()  # the server reads it from here
    assert _names(engine, tenant) == []


def test_export_writes_the_import_columns_and_re_imports_unchanged(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("exp")
    full = {header: "" for header in HEADERS} | {
        "Username": f"zoë.{tag}@example.com",
        "First name": "Zoë",
        "Last name": "Ångström",
        "Job title": "Ingénieure",
        "Company": "Société Générale",
        "Description": "Zoë Ångström",
        "Date from": "2026-01-31",
        "Date to": "2026-12-31",
        "Email": f"zoe.{tag}@example.com",
        "Mobile": "+44 7700 900123",
        "MFA required": "TRUE",
        "Create resource": "TRUE",
        "Resource": f"Z-{tag}",
        "Country code": "SE",
        "Currency": "SEK",
        "Department": "R&D",
        "Staff": "FALSE",
        "Title": "Dr",
        "Suffix": "PhD",
        "User roles": "viewer",
    }
    plain = {header: "" for header in HEADERS} | {
        "Username": f"li.{tag}@example.com",
        "Description": "李雷",
        "Create resource": "FALSE",
    }
    _ok(_scimd(database_url, "catalog", "put", "roles", "viewer", "--tenant", tenant.name))
    _ok(_import(database_url, tenant, _write(tmp_path / "seed.csv", [full, plain])))

    def export(name: str, *options: str):
        return run_scimd(
            "export",
            name,
            "--tenant",
            tenant.name,
            "--database-url",
            database_url,
            *options,
            cwd=tmp_path,
        )

    assert _ok(export("out.csv", "--date-format", "british")) == "exported 2 users to out.csv\n"
    assert _ok(export("out.xlsx")) == "exported 2 users to out.xlsx\n"
    for name, date_format in (("out.csv", "british"), ("out.xlsx", "iso")):
        kind = name.rsplit(".", 1)[1]
        data = (tmp_path / name).read_bytes()
        # The format follows the extension: an .xlsx is a zip file, a .csv is text.
        assert data.startswith(b"PK") == (kind == "xlsx")
        rows = read_rows(kind, data)
        assert [list(row) for row in rows] == [HEADERS, HEADERS]
        exported = {row["Username"]: row for row in rows}
        dates = {"Date from": "31/01/2026", "Date to": "31/12/2026"} if kind == "csv" else {}
        # In CSV a leading + is quoted against formula injection; the import takes it off.
        mobile = {"Mobile": "'+44 7700 900123"} if kind == "csv" else {}
        assert exported[full["Username"]] == full | dates | mobile, kind
        assert exported[plain["Username"]] == plain, kind

        again = _import(
            database_url, tenant, tmp_path / name, "--update-existing", "--date-format", date_format
        )
        assert _ok(again) == "imported 2 of 2 rows: 0 created, 0 updated, 2 unchanged, 0 failed\n"

    _refused(export("out.txt"), "'out.txt' is neither a .csv nor an .xlsx file")
    assert not (tmp_path / "out.txt").exists()


def test_a_file_over_5000_rows_is_refused_whole_with_advice_to_split_it(
    database_url, engine, tenant, tmp_path
):
    tag = _unique("big")
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(["Username"], [[f"u{i}.{tag}@example.com"] for i in range(5001)]))
    for options in ((), ("--queue",)):
        _refused(
            _import(database_url, tenant, path, *options),
            "5,001 rows",
            "at most 5,000",
            "Split the file",
        )
    # Refused before the store is touched: no user, and no job (queued or not).
    assert _names(engine, tenant) == []
    assert _jobs(engine, tenant) == []


def test_a_missing_file_is_reported_as_the_file_not_the_database(database_url, tenant, tmp_path):
    for result, path in (
        (_import(database_url, tenant, tmp_path / "missing.csv"), "missing.csv"),
        (
            _scimd(
                database_url, "export", str(tmp_path / "no" / "out.csv"), "--tenant", tenant.name
            ),
            "out.csv",
        ),
    ):
        stderr = _refused(result, path, "No such file or directory")
        assert "cannot use the database" not in stderr, stderr
