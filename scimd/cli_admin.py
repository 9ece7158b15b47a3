"""``scimd settings ...`` and ``scimd audit``: a tenant's environment defaults and audit trail
from the command line, as ``/admin/v1/settings`` and ``/admin/v1/audit`` give them; and
``scimd key new``, the installation's secret key."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from directory import audit, environment, tenants
from directory.errors import InvalidValue
from directory.sealing import new_key
from scimd.cli_users import actor


def cmd_key_new(args: argparse.Namespace) -> None:
    """Print a new key for ``SCIMD_SECRET_KEY`` (stdout only: nothing is stored)."""
    print(new_key())


def cmd_settings_show(engine: Engine, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        current = environment.get(conn, tenants.get_tenant(conn, args.tenant).id)
    print(json.dumps(current.to_json(), indent=2))


def cmd_settings_set(engine: Engine, args: argparse.Namespace) -> None:
    """Change named settings (``max_failed_tries=3``, ``password.min_length=16``), the rest kept."""
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        document = environment.get(conn, tenant_id).to_json()
        for assignment in args.assignments:
            name, sep, text = assignment.partition("=")
            if not sep:
                raise InvalidValue(f"{assignment!r} is not NAME=VALUE")
            try:
                value: Any = json.loads(text)
            except ValueError:
                raise InvalidValue(f"{name}: {text!r} is not a number, true or false") from None
            target, _, leaf = name.rpartition(".")
            holder = document.get(target) if target else document
            if not isinstance(holder, dict):
                raise InvalidValue(f"unknown setting {name!r}")
            holder[leaf] = value
        wanted = environment.from_json(document)
        environment.put(conn, tenant_id, wanted)
        audit.record(
            conn,
            tenant_id,
            actor(),
            "settings.update",
            "settings",
            detail={"settings": wanted.to_json()},
        )
    print(json.dumps(wanted.to_json(), indent=2))


def cmd_audit(engine: Engine, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        found = audit.events(
            conn,
            tenants.get_tenant(conn, args.tenant).id,
            audit.Filter(target=args.target, action=args.action),
            limit=args.count,
        )
    rows = [event.to_json() for event in found]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(
            f"{row['at']}\t{row['actor']}\t{row['action']}\t{row['target'] or ''}"
            f"\t{row['result']}\t{json.dumps(row['detail'])}"
        )


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    with_engine: Callable[[Callable[[Engine, argparse.Namespace], None]], Callable[..., None]],
) -> None:
    """Add ``scimd settings show|set``, ``scimd audit`` and ``scimd key new`` to the parser."""
    settings = commands.add_parser("settings", help="a tenant's environment defaults")
    group = settings.add_subparsers(dest="settings_command", required=True, metavar="COMMAND")
    add(group, "show", with_engine(cmd_settings_show), "show the settings").add_argument(
        "--tenant", required=True
    )
    change = add(group, "set", with_engine(cmd_settings_set), "change settings: NAME=VALUE ...")
    change.add_argument("--tenant", required=True)
    change.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    trail = add(commands, "audit", with_engine(cmd_audit), "a tenant's audit events, newest first")
    trail.add_argument("--tenant", required=True)
    trail.add_argument("--target", help="e.g. user:ID")
    trail.add_argument("--action", help="e.g. account.lock")
    trail.add_argument("--count", type=int, default=50)
    trail.add_argument("--json", action="store_true")
    key = commands.add_parser("key", help="the secret key that seals MFA secrets")
    keys = key.add_subparsers(dest="key_command", required=True, metavar="COMMAND")
    add(keys, "new", cmd_key_new, "print a new key for SCIMD_SECRET_KEY")
