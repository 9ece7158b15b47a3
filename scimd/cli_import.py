"""``scimd import FILE`` and ``scimd export FILE``: user spreadsheets from the command line.

An import here is the same job as ``POST /admin/v1/imports`` (recorded, so
the admin API shows it), run in this process with a progress bar, or queued
(``--queue``) for a server to run. The exit status is 0 only when every row
was imported (a dry run: when every row would be).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from directory import jobs, tenants
from directory.errors import InvalidValue
from directory.units import Units
from scimd.cli_users import actor
from scimd.settings import Settings

if TYPE_CHECKING:
    from directory.imports import ImportOptions

# The spreadsheet modules (openpyxl) load when an import or export runs, not for every
# scimd command.
DATE_FORMATS = ("british", "us", "iso")

SHOWN_ERRORS = 50


def _options(args: argparse.Namespace) -> ImportOptions:
    from directory.imports import ImportOptions

    return ImportOptions(
        skip_errors=args.skip_errors,
        date_format=args.date_format,
        reset_from_resource_group=args.reset_from_resource_group,
        copy_roles_from=args.copy_roles_from,
        update_existing=args.update_existing,
        dry_run=args.dry_run,
    )


async def _submit(
    engine: Engine, args: argparse.Namespace, data: bytes, show: Callable[[int, int], None]
) -> jobs.Job:
    from scimd.imports import Imports

    units = Units(engine)
    with engine.connect() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
    service = Imports(units, shared_logins=Settings().shared_logins)
    submitted = asyncio.ensure_future(
        service.submit(
            tenant_id, actor(), data, Path(args.file).name, _options(args), queue=args.queue
        )
    )
    while not submitted.done():
        for done, total in list(service.live.values()):
            show(done, total)
        await asyncio.wait({submitted}, timeout=0.1)
    return submitted.result()


def file_error(path: str, exc: OSError) -> InvalidValue:
    """A file the command cannot read or write, said as such (not as a database problem)."""
    return InvalidValue(f"cannot use the file {path}: {exc.strerror or exc}")


def cmd_import(engine: Engine, args: argparse.Namespace) -> None:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise file_error(args.file, exc) from None
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]importing[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=args.json or args.queue or not console.is_terminal,
    ) as bar:
        task = bar.add_task(Path(args.file).name, total=None)
        job = asyncio.run(
            _submit(
                engine,
                args,
                data,
                lambda done, total: bar.update(task, completed=done, total=total),
            )
        )
    if args.json:
        print(json.dumps(job.to_json(), indent=2))
    else:
        _print_outcome(job, args)
    if args.queue:
        return
    complete = job.report.get("failed", 1) == 0 and "error" not in job.report
    if not complete or (not args.dry_run and not job.report.get("committed")):
        sys.exit(1)


def _print_outcome(job: jobs.Job, args: argparse.Namespace) -> None:
    report = job.report
    if args.queue:
        print(f"queued import job {job.id}: {job.total:,} rows")
        return
    if "error" in report:
        print(f"import job {job.id} failed: {report['error']}")
        return
    counts = (
        f"{report['created']:,} created, {report['updated']:,} updated, "
        f"{report['unchanged']:,} unchanged, {report['failed']:,} failed"
    )
    if args.dry_run:
        print(f"dry run of {report['total']:,} rows, nothing written: would be {counts}")
    elif report["committed"]:
        landed = report["created"] + report["updated"] + report["unchanged"]
        print(f"imported {landed:,} of {report['total']:,} rows: {counts}")
    else:
        print(
            f"nothing imported: {report['failed']:,} of {report['total']:,} rows have errors "
            "(fix them, or import the others with --skip-errors)"
        )
    for warning in report.get("warnings", []):
        print(f"warning: {warning}")
    errors = report.get("errors", [])
    if errors:
        table = Table("Row", "Column", "Reason", title="Rows with errors", title_justify="left")
        for error in errors[:SHOWN_ERRORS]:
            table.add_row(str(error["row"]), error["column"] or "", error["reason"])
        Console(width=120).print(table)
        if report["failed"] > SHOWN_ERRORS:
            print(f"... {report['failed'] - SHOWN_ERRORS:,} more rows; --json lists them all")


def cmd_export(engine: Engine, args: argparse.Namespace) -> None:
    from directory import exports, sheets
    from directory.user_sheet import HEADERS

    kind = sheets.file_format(args.file)
    with engine.connect() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        rows = list(exports.user_rows(conn, tenant_id, args.date_format))
    body = sheets.write_csv(HEADERS, rows) if kind == "csv" else sheets.write_xlsx(HEADERS, rows)
    try:
        Path(args.file).write_bytes(body)
    except OSError as exc:
        raise file_error(args.file, exc) from None
    print(f"exported {len(rows):,} users to {args.file}")


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    with_engine: Callable[[Callable[[Engine, argparse.Namespace], None]], Callable[..., Any]],
) -> None:
    """Add ``scimd import`` and ``scimd export`` to the CLI's parser."""
    imported = add(commands, "import", with_engine(cmd_import), "import users from CSV or XLSX")
    imported.add_argument("file", metavar="FILE", help=".csv or .xlsx")
    imported.add_argument("--tenant", required=True)
    imported.add_argument(
        "--skip-errors", action="store_true", help="import the good rows, report the bad ones"
    )
    imported.add_argument("--date-format", choices=list(DATE_FORMATS), default="iso")
    imported.add_argument("--copy-roles-from", metavar="USERNAME", help="onto every new user")
    imported.add_argument(
        "--reset-from-resource-group",
        action="store_true",
        help="resource fields from the resource group, over the file's",
    )
    imported.add_argument(
        "--update-existing", action="store_true", help="update users matched by username"
    )
    imported.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imported.add_argument("--queue", action="store_true", help="queue it for a server to run")
    imported.add_argument("--json", action="store_true", help="the job as the admin API shows it")
    exported = add(commands, "export", with_engine(cmd_export), "export users to CSV or XLSX")
    exported.add_argument("file", metavar="FILE", help=".csv or .xlsx (the format follows)")
    exported.add_argument("--tenant", required=True)
    exported.add_argument("--date-format", choices=list(DATE_FORMATS), default="iso")
