"""``scimd user ...``: account administration from the command line, as the admin API does it.

Each command is one transaction through the same directory functions as
``/admin/v1``, audited with the operating-system user as actor. Output is a
line per user for people, or the admin API's JSON with ``--json``. A user is
named by id, userName or email. Passwords are read from a prompt or from
standard input (``--password-stdin``), never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from directory import accounts, audit, grid, signin, tenants, users
from directory.audit import Actor
from directory.errors import InvalidValue, NotFound
from scimd.admin.views import contact_document, user_view_of, user_views

Add = Callable[..., argparse.ArgumentParser]
LIST_COLUMNS = ("id", "userName", "name", "email", "accessLocked", "lastLogin", "failedTries")


def actor() -> Actor:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor("cli", who)


def _tenant_id(conn: Connection, name: str) -> int:
    return tenants.get_tenant(conn, name).id


def _user_id(conn: Connection, tenant_id: int, name: str) -> str:
    """A user named by id, userName or email, in this tenant."""
    try:
        users.require_user(conn, tenant_id, name)
        return name
    except NotFound:
        pass
    found = signin.find_login(conn, name, tenant_id)
    if not found:
        raise NotFound(f"no user {name!r} in this tenant")
    if len(found) > 1:
        raise InvalidValue(f"{name!r} names {len(found)} users; use the id")
    return found[0][1]


def _print_users(views: list[dict[str, Any]], as_json: bool, total: int | None = None) -> None:
    if as_json:
        body: Any = views if total is None else {"totalResults": total, "users": views}
        print(json.dumps(body, indent=2))
        return
    for view in views:
        print("\t".join("" if view.get(c) is None else str(view[c]) for c in LIST_COLUMNS))
    if total is not None and total > len(views):
        print(f"({len(views)} of {total}; use --start and --count)", file=sys.stderr)


def cmd_list(engine: Engine, args: argparse.Namespace) -> None:
    flags = {name: True for name in grid.FLAGS if getattr(args, name.lower(), False)}
    query = grid.GridQuery(search=args.search, flags=flags, offset=args.start - 1, limit=args.count)
    with engine.connect() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        page = grid.query(conn, tenant_id, query)
        _print_users(user_views(conn, tenant_id, page.user_ids), args.json, page.total)


def cmd_show(engine: Engine, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        view = user_view_of(conn, tenant_id, _user_id(conn, tenant_id, args.user))
    if args.json:
        print(json.dumps(view, indent=2))
    else:
        for key, value in view.items():
            print(f"{key}: {'' if value is None else value}")


def cmd_create(engine: Engine, args: argparse.Namespace) -> None:
    contact = {"userName": args.user_name}
    if args.email:
        contact["email"] = args.email
    if args.name:
        contact["name"] = args.name
    document = contact_document({}, contact)
    who = actor()
    with engine.begin() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        stored = users.create_user(conn, tenant_id, document, shared_logins=args.shared_logins)
        audit.record(conn, tenant_id, who, "user.create", f"user:{stored.id}", detail=contact)
        view = user_view_of(conn, tenant_id, stored.id)
    _print_users([view], args.json)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise InvalidValue("the passwords differ")
    return first


def _action(name: str) -> Callable[[Engine, argparse.Namespace], None]:
    def run(engine: Engine, args: argparse.Namespace) -> None:
        """The action on every user named, in one transaction: all of them, or none."""
        who = actor()
        password = _password(args) if name == "set-password" else None
        with engine.begin() as conn:
            tenant_id = _tenant_id(conn, args.tenant)
            ids = [_user_id(conn, tenant_id, user) for user in args.users]
            for user_id in ids:
                try:
                    _RUN[name](conn, tenant_id, user_id, who, args, password)
                except (InvalidValue, NotFound) as exc:
                    raise type(exc)(f"{exc.detail} (nothing was changed)") from exc
            views = user_views(conn, tenant_id, ids)
        _print_users(views, args.json)

    return run


_RUN: dict[str, Callable[..., Any]] = {
    "lock": lambda c, t, u, a, args, _: accounts.lock(c, t, u, a, args.reason),
    "unlock": lambda c, t, u, a, *_: accounts.unlock(c, t, u, a),
    "block": lambda c, t, u, a, args, _: accounts.block_login(c, t, u, a, args.reason),
    "allow": lambda c, t, u, a, *_: accounts.allow_login(c, t, u, a),
    "reset-tries": lambda c, t, u, a, *_: accounts.reset_tries(c, t, u, a),
    "approve": lambda c, t, u, a, *_: accounts.approve(c, t, u, a),
    "reject": lambda c, t, u, a, *_: accounts.reject(c, t, u, a),
    "mfa-remove": lambda c, t, u, a, *_: accounts.mfa_remove(c, t, u, a),
    "mfa-do-not-enforce": lambda c, t, u, a, *_: accounts.mfa_do_not_enforce(c, t, u, a),
    "set-password": lambda c, t, u, a, args, password: accounts.set_password(
        c, t, u, a, password, force_change=args.force_change
    ),
}


def cmd_delete(engine: Engine, args: argparse.Namespace) -> None:
    if not args.yes:
        raise InvalidValue("deleting users cannot be undone; add --yes to confirm")
    who = actor()
    with engine.begin() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        ids = [_user_id(conn, tenant_id, user) for user in args.users]
        for user_id in ids:
            users.delete_user(conn, tenant_id, user_id)
            audit.record(conn, tenant_id, who, "user.delete", f"user:{user_id}")
    for user_id in ids:
        print(f"deleted user {user_id}")


ACTIONS = {
    "lock": ("lock an account", ["reason?"]),
    "unlock": ("unlock an account and reset its failed tries", []),
    "block": ("block login access, with a reason", ["reason"]),
    "allow": ("grant login access", []),
    "reset-tries": ("reset the failed sign-in count", []),
    "approve": ("approve a pending account", []),
    "reject": ("reject a pending account", []),
    "mfa-remove": ("remove the TOTP secret (the user enrols again)", []),
    "mfa-do-not-enforce": ("stop requiring a second factor for this account", []),
    "set-password": ("set a password (prompted, or --password-stdin)", ["password"]),
}


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    with_engine: Callable[[Callable[[Engine, argparse.Namespace], None]], Callable[..., None]],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add ``scimd user ...`` to the CLI's parser; returns its group, for more user commands."""
    group = commands.add_parser(
        "user", help="accounts: list, show, create, actions"
    ).add_subparsers(dest="user_command", required=True, metavar="COMMAND")

    def sub(
        name: str, handler: Callable[[Engine, argparse.Namespace], None], help: str
    ) -> argparse.ArgumentParser:
        parser = add(group, name, with_engine(handler), help)
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--json", action="store_true", help="the admin API's JSON")
        return parser

    listing = sub("list", cmd_list, "list users (the admin grid)")
    listing.add_argument("--search", help="a prefix of userName, name or email")
    for flag in grid.FLAGS:
        listing.add_argument(f"--{flag.lower()}", action="store_true", help=f"only {flag}")
    listing.add_argument("--start", type=int, default=1)
    listing.add_argument("--count", type=int, default=50)
    sub("show", cmd_show, "show one user").add_argument("user", help="id, userName or email")
    create = sub("create", cmd_create, "create a user (without login access until allowed)")
    create.add_argument("--user-name", required=True)
    create.add_argument("--email")
    create.add_argument("--name")
    create.add_argument(
        "--shared-logins", action="store_true", help="allow a login active in another tenant"
    )
    for name, (help, extras) in ACTIONS.items():
        parser = sub(name, _action(name), help)
        parser.add_argument(
            "users",
            nargs=1 if name == "set-password" else "+",
            metavar="USER",
            help="id, userName or email; several: all of them or none",
        )
        if "reason" in extras:
            parser.add_argument("--reason", required=True)
        if "reason?" in extras:
            parser.add_argument("--reason")
        if "password" in extras:
            parser.add_argument("--password-stdin", action="store_true")
            parser.add_argument("--force-change", action="store_true")
    delete = sub("delete", cmd_delete, "delete users, all of them or none")
    delete.add_argument("users", nargs="+", metavar="USER", help="id, userName or email")
    delete.add_argument("--yes", action="store_true", help="confirm the deletion")
    return group
