"""``scimd catalog ...`` and ``scimd user grant``: the tenant's catalog and an account's grants
from the command line, as ``/admin/v1/roles`` (and the other catalog paths) and
``PATCH /admin/v1/users/{id}`` do them.

``KIND`` is named as in the admin API's paths (``roles``, ``role-groups``, ...). Each command
is one transaction through ``directory.catalog``, audited with the operating-system user as
actor; ``--json`` prints the admin API's JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from directory import catalog, tenants
from directory.errors import InvalidValue
from scimd.admin.catalog import PATHS
from scimd.admin.views import GRANT_FIELDS, user_view_of
from scimd.cli_users import _user_id, actor

KIND_PATHS = {kind: path for path, kind in PATHS.items()}
GRANTABLE_PATHS = [path for path, kind in PATHS.items() if kind in catalog.GRANTABLE]
# The rule fields of an entry's body, by the flag that sets them and the kind that holds them
# (directory.catalog._rules); put_entry ignores the others, so the CLI refuses them instead.
RULE_FLAGS = {
    "licences": ("licences", "role"),
    "user_types": ("userTypes", "role"),
    "roles": ("roles", "role_group"),
}


def _codes(text: str) -> list[str]:
    """``"a, b"`` as ``["a", "b"]``; ``""`` as none."""
    return [code.strip() for code in text.split(",") if code.strip()]


def _line(entry: catalog.Entry) -> str:
    rules = (f"{field}={','.join(codes)}" for field, codes in entry.rules.items())
    return "\t".join([entry.code, entry.name, *rules])


def _print_entry(entry: catalog.Entry, as_json: bool) -> None:
    print(json.dumps(entry.to_json(), indent=2) if as_json else _line(entry))


def cmd_list(engine: Engine, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        found = catalog.entries(conn, tenants.get_tenant(conn, args.tenant).id, PATHS[args.kind])
    if args.json:
        print(json.dumps({"entries": [entry.to_json() for entry in found]}, indent=2))
        return
    for entry in found:
        print(_line(entry))


def cmd_show(engine: Engine, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        entry = catalog.get_entry(conn, tenant_id, PATHS[args.kind], args.code)
    _print_entry(entry, args.json)


def cmd_put(engine: Engine, args: argparse.Namespace) -> None:
    """Create or replace an entry from the body ``POST /admin/v1/KIND`` takes: rules left out
    are emptied and the name defaults to the code, as there."""
    kind = PATHS[args.kind]
    body: dict[str, Any] = {"code": args.code}
    if args.name is not None:
        body["name"] = args.name
    for dest, (field, holder) in RULE_FLAGS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if holder != kind:
            flag = dest.replace("_", "-")
            raise InvalidValue(f"--{flag} is a rule of {KIND_PATHS[holder]}, not of {args.kind}")
        body[field] = _codes(value)
    for assignment in args.default or []:
        if kind != "resource_group":
            raise InvalidValue(f"--default is a rule of resource-groups, not of {args.kind}")
        name, sep, text = assignment.partition("=")
        if not sep or name not in catalog.RESOURCE_DEFAULTS:
            known = ", ".join(catalog.RESOURCE_DEFAULTS)
            raise InvalidValue(f"--default takes NAME=VALUE with NAME one of {known}")
        is_flag = catalog.RESOURCE_DEFAULTS[name] is None
        body[name] = text.strip().lower() in ("true", "yes", "1") if is_flag else text
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        entry = catalog.put_entry(conn, tenant_id, kind, body, actor())
    _print_entry(entry, args.json)


def cmd_delete(engine: Engine, args: argparse.Namespace) -> None:
    kind = PATHS[args.kind]
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        catalog.delete_entry(conn, tenant_id, kind, args.code, actor())
    print(f"deleted {kind.replace('_', ' ')} {args.code}")


def cmd_grant(engine: Engine, args: argparse.Namespace) -> None:
    """Make the user's grants of one kind exactly ``--codes``, as the matching field of
    ``PATCH /admin/v1/users/{id}`` does; the licence and user-type rules refuse as there."""
    kind = PATHS[args.kind]
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        user_id = _user_id(conn, tenant_id, args.user)
        catalog.set_grants(conn, tenant_id, user_id, kind, _codes(args.codes), actor())
        view = user_view_of(conn, tenant_id, user_id)
    if args.json:
        print(json.dumps(view, indent=2))
        return
    field = next(field for field, held in GRANT_FIELDS.items() if held == kind)
    print(f"{view['id']}\t{field}\t{','.join(view[field])}")


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    with_engine: Callable[[Callable[[Engine, argparse.Namespace], None]], Callable[..., None]],
    user_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add ``scimd catalog ...``, and ``scimd user grant`` to ``user_commands``."""
    group = commands.add_parser(
        "catalog", help="roles, role groups, licences, user types, user and DAC groups"
    ).add_subparsers(dest="catalog_command", required=True, metavar="COMMAND")

    def sub(
        name: str, handler: Callable[[Engine, argparse.Namespace], None], help: str
    ) -> argparse.ArgumentParser:
        parser = add(group, name, with_engine(handler), help)
        parser.add_argument("kind", choices=list(PATHS), metavar="KIND", help=", ".join(PATHS))
        if name != "list":
            parser.add_argument("code", metavar="CODE")
        parser.add_argument("--tenant", required=True)
        if name != "delete":
            parser.add_argument("--json", action="store_true", help="the admin API's JSON")
        return parser

    sub("list", cmd_list, "list a kind's entries")
    sub("show", cmd_show, "show one entry")
    put = sub("put", cmd_put, "create or replace an entry (rules left out are emptied)")
    put.add_argument("--name", help="default: the code")
    put.add_argument("--licences", help="roles: the licences allowed to hold it, a,b")
    put.add_argument("--user-types", help="roles: the user types allowed to hold it, a,b")
    put.add_argument("--roles", help="role-groups: the roles it holds, a,b")
    put.add_argument(
        "--default",
        action="append",
        metavar="NAME=VALUE",
        help="resource-groups: a default of its people's HR records, e.g. currency=GBP",
    )
    sub("delete", cmd_delete, "delete an entry nobody holds")

    grant = add(
        user_commands,
        "grant",
        with_engine(cmd_grant),
        "replace one kind of a user's grants",
    )
    grant.add_argument("user", metavar="USER", help="id, userName or email")
    grant.add_argument("--tenant", required=True)
    grant.add_argument("--kind", required=True, choices=GRANTABLE_PATHS)
    grant.add_argument("--codes", required=True, help='a,b; "" removes them all')
    grant.add_argument("--json", action="store_true", help="the admin API's JSON")
