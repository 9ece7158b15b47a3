"""The ``scimd`` command line.

Contract other tooling relies on (keep it stable):

- ``scimd token create --tenant NAME`` prints the new token as the LAST line of stdout;
- ``scimd serve`` serves SCIM at ``http://HOST:PORT/scim/v2`` and ``GET /healthz``;
- ``--database-url`` defaults to ``$SCIMD_DATABASE_URL``, then ``sqlite:///./var/scimd.db``;
- ``scimd user ...`` (``scimd/cli_users.py``) prints the admin API's JSON with ``--json``.

Errors are one readable line on stderr and exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from directory import database, integrity, tenants
from directory.errors import DirectoryError
from scimd import cli_admin, cli_catalog, cli_import, cli_sso, cli_users
from scimd.keys import load_sealer
from scimd.settings import Settings


def _engine(args: argparse.Namespace) -> Engine:
    engine = database.create_store_engine(args.database_url, pool_size=2)
    database.upgrade(engine)
    return engine


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    database.upgrade(database.create_store_engine(args.database_url, pool_size=1))
    # A malformed key stops here, readably, not in every worker; an embedded store's key
    # file is made once, before the workers start.
    settings = Settings(database_url=args.database_url)
    load_sealer(settings, args.database_url)
    # Workers build the app from the environment (uvicorn --factory), so the
    # URL travels there; one process builds it the same way.
    os.environ["SCIMD_DATABASE_URL"] = args.database_url
    os.environ["SCIMD_LOG_LEVEL"] = args.log_level
    print(f"scimd serving SCIM at http://{args.host}:{args.port}/scim/v2", flush=True)
    uvicorn.run(
        "scimd.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    _engine(args)
    print("schema is up to date")


def cmd_db_check(args: argparse.Namespace) -> None:
    """The store's integrity check (``directory.integrity``); safe beside a live server."""
    with integrity.snapshot(_engine(args)) as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id if args.tenant else None
        report = integrity.examine(conn, tenant_id)
    counts = f"{report.users} users, {report.groups} groups, {report.memberships} memberships"
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.problems:
        print("\n".join(str(problem) for problem in report.problems))
    else:
        print(f"store is consistent: {counts} checked")
    if report.problems:
        sys.exit(f"scimd: {len(report.problems)} problems found ({counts} checked)")


def cmd_tenant_list(args: argparse.Namespace) -> None:
    with _engine(args).connect() as conn:
        for tenant in tenants.list_tenants(conn):
            print(f"{tenant.name}\t{tenant.created.isoformat(timespec='seconds')}")


def cmd_tenant_create(args: argparse.Namespace) -> None:
    with _engine(args).begin() as conn:
        tenant = tenants.create_tenant(conn, args.name)
    print(f"created tenant {tenant.name}")


def cmd_tenant_delete(args: argparse.Namespace) -> None:
    if not args.yes:
        raise SystemExit(
            f"scimd: deleting tenant {args.name!r} deletes all its users, groups and tokens; "
            "add --yes to confirm"
        )
    with _engine(args).begin() as conn:
        tenants.delete_tenant(conn, args.name)
    print(f"deleted tenant {args.name}")


def cmd_token_create(args: argparse.Namespace) -> None:
    with _engine(args).begin() as conn:
        tenant = tenants.ensure_tenant(conn, args.tenant)
        secret, info = tenants.create_token(
            conn,
            tenant.id,
            scopes=tuple(args.scope or tenants.DEFAULT_SCOPES),
            description=args.description,
        )
    print(f"created token {info.id} ({info.prefix}…) for tenant {tenant.name}; it is shown once:")
    print(secret)


def cmd_token_list(args: argparse.Namespace) -> None:
    with _engine(args).connect() as conn:
        for token in tenants.list_tokens(conn, args.tenant):
            state = (
                f"revoked {token.revoked.isoformat(timespec='seconds')}"
                if token.revoked
                else "active"
            )
            print(
                f"{token.id}\t{token.tenant_name}\t{token.prefix}…\t{','.join(token.scopes)}"
                f"\t{token.created.isoformat(timespec='seconds')}\t{state}\t{token.description}"
            )


def cmd_token_revoke(args: argparse.Namespace) -> None:
    with _engine(args).begin() as conn:
        tenants.revoke_token(conn, args.id)
    print(f"revoked token {args.id}")


def cmd_bootstrap(args: argparse.Namespace) -> None:
    """What `make run` does before serving: a usable tenant and token on a fresh machine."""
    base = f"http://{args.host}:{args.port}/scim/v2"
    with _engine(args).begin() as conn:
        if any(t.name == args.tenant for t in tenants.list_tenants(conn)):
            print(f"Tenant {args.tenant!r} already exists; its tokens were shown when created.")
            print(f"A new one: .venv/bin/scimd token create --tenant {args.tenant}")
            print(f"SCIM base URL: {base}")
            print(f"Admin console: http://{args.host}:{args.port}/console/")
            return
        tenant = tenants.create_tenant(conn, args.tenant)
        secret, _ = tenants.create_token(conn, tenant.id, description="bootstrap")
        # Apart from the IdP's token: the admin's can be revoked without breaking provisioning.
        admin_secret, _ = tenants.create_token(
            conn, tenant.id, scopes=("admin",), description="bootstrap admin"
        )
    print(f"Created tenant {tenant.name!r} in {shown_url(args.database_url)}")
    print(f"SCIM base URL: {base}")
    print(f"Bearer token (shown once): {secret}")
    print(f"Admin console: http://{args.host}:{args.port}/console/")
    print(f"Admin token for the console and /admin/v1 (shown once): {admin_secret}")


def _parser() -> argparse.ArgumentParser:
    settings = Settings()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=settings.database_url,
        help="SQLAlchemy URL of the store (default: $SCIMD_DATABASE_URL or %(default)s)",
    )
    parser = argparse.ArgumentParser(prog="scimd", description="SCIM 2.0 provisioning server")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        handler: Callable[[argparse.Namespace], None],
        help: str,
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    serve = add(commands, "serve", cmd_serve, "serve SCIM over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    serve.add_argument("--log-level", default="info")

    bootstrap = add(commands, "bootstrap", cmd_bootstrap, "create a first tenant and token")
    bootstrap.add_argument("--tenant", default="default")
    bootstrap.add_argument("--host", default="127.0.0.1")
    bootstrap.add_argument("--port", type=int, default=8000)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    add(db, "upgrade", cmd_db_upgrade, "bring the schema to the newest migration")
    check = add(db, "check", cmd_db_check, "check that the store agrees with itself")
    check.add_argument("--tenant", help="only this tenant's data (default: every tenant's)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_command", required=True, metavar="COMMAND"
    )
    add(tenant, "list", cmd_tenant_list, "list tenants")
    add(tenant, "create", cmd_tenant_create, "create a tenant").add_argument("name")
    delete = add(tenant, "delete", cmd_tenant_delete, "delete a tenant and all it owns")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="confirm the deletion")

    token = commands.add_parser("token", help="bearer tokens").add_subparsers(
        dest="token_command", required=True, metavar="COMMAND"
    )
    create = add(token, "create", cmd_token_create, "create a token (the tenant too if needed)")
    create.add_argument("--tenant", required=True)
    create.add_argument(
        "--scope", action="append", choices=sorted(tenants.SCOPES), help="repeatable"
    )
    create.add_argument("--description", default="")
    add(token, "list", cmd_token_list, "list tokens (never their secrets)").add_argument("--tenant")
    add(token, "revoke", cmd_token_revoke, "revoke a token by id").add_argument("id", type=int)

    def with_engine(
        handler: Callable[[Engine, argparse.Namespace], None],
    ) -> Callable[[argparse.Namespace], None]:
        return lambda args: handler(_engine(args), args)

    user_commands = cli_users.register(commands, add, with_engine)
    cli_admin.register(commands, add, with_engine)
    cli_catalog.register(commands, add, with_engine, user_commands)
    cli_import.register(commands, add, with_engine)
    cli_sso.register(commands, add, with_engine)
    return parser


def shown_url(url: str) -> str:
    """A database URL as it may be printed: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0].strip() if lines else type(cause).__name__


def _settings_problem(exc: ValidationError) -> str:
    """A settings error as one line: the variable and what is wrong with it."""
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["loc"]:
        return f"SCIMD_{str(error['loc'][0]).upper()}: {message}"
    return message


def main(argv: Sequence[str] | None = None) -> None:
    try:
        parser = _parser()  # reads the settings
    except ValidationError as exc:
        sys.exit(f"scimd: bad settings: {_settings_problem(exc)}")
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except DirectoryError as exc:
        sys.exit(f"scimd: {exc.detail}")
    except (SQLAlchemyError, OSError, ImportError) as exc:
        # An unusable --database-url: unreachable, malformed, an unknown
        # driver, or a SQLite path that cannot be created.
        sys.exit(f"scimd: cannot use the database {shown_url(args.database_url)}: {_one_line(exc)}")
