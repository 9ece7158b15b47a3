"""``scimd sso ...``: the link wizard and the links from the command line.

``scimd sso link --csv FILE`` previews a provider's ``email,object_id`` file
(one line per row with its status), and with ``--apply`` links every
``match`` row, all or none, as ``POST /admin/v1/sso/links/apply`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from directory import tenants
from directory.errors import InvalidValue
from scimd.cli_users import actor
from sso import csv_source, links, snapshots, wizard


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidValue(f"cannot use the file {path}: {exc.strerror or exc}") from None


def cmd_link(engine: Engine, args: argparse.Namespace) -> None:
    provider = links.provider_name(args.provider)
    users = csv_source.read_users(_read(args.csv), Path(args.csv).name)
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        snapshot_id = snapshots.create(conn, tenant_id, provider, users, actor())
        rows = [
            row.to_json()
            for row in wizard.rows(conn, tenant_id, snapshots.get(conn, tenant_id, snapshot_id))
        ]
        results: list[dict[str, Any]] = []
        failed: wizard.ApplyFailed | None = None
        if args.apply:
            try:
                with conn.begin_nested():
                    choices = wizard.matches(conn, tenant_id, snapshot_id)
                    results = (
                        wizard.apply(conn, tenant_id, provider, choices, actor()) if choices else []
                    )
            except wizard.ApplyFailed as exc:
                failed = exc
    if args.json:
        body: dict[str, Any] = {"snapshotId": snapshot_id, "provider": provider, "rows": rows}
        if args.apply:
            body["results"] = failed.results if failed else results
        print(json.dumps(body, indent=2))
    else:
        for row in rows:
            extra = row["userId"] or row["detail"] or ""
            print(
                f"{row['line']}\t{row['status']}\t{row['email'] or ''}\t{row['objectId']}\t{extra}"
            )
        if args.apply and failed is None:
            print(f"linked {len(results)} match rows", file=sys.stderr)
    if failed is not None:
        sys.exit(f"scimd: nothing linked: {failed.detail}")


def cmd_links(engine: Engine, args: argparse.Namespace) -> None:
    provider = links.provider_name(args.provider) if args.provider else None
    with engine.connect() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        found = links.listed(conn, tenant_id, provider)
    if args.json:
        print(json.dumps([link.to_json() for link in found], indent=2))
        return
    for link in found:
        print(f"{link.provider}\t{link.object_id}\t{link.user_id}\t{link.email or ''}")


def cmd_unlink(engine: Engine, args: argparse.Namespace) -> None:
    provider = links.provider_name(args.provider)
    with engine.begin() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        user_id = links.remove(conn, tenant_id, provider, args.object_id, actor())
    print(f"unlinked {provider} object id {args.object_id} from user {user_id}")


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    with_engine: Callable[[Callable[[Engine, argparse.Namespace], None]], Callable[..., Any]],
) -> None:
    """Add ``scimd sso link|links|unlink`` to the CLI's parser."""
    group = commands.add_parser("sso", help="identity-provider links").add_subparsers(
        dest="sso_command", required=True, metavar="COMMAND"
    )
    link = add(group, "link", with_engine(cmd_link), "preview (and apply) links from a CSV")
    link.add_argument("--tenant", required=True)
    link.add_argument("--provider", required=True, help="e.g. onelogin, okta")
    link.add_argument("--csv", required=True, metavar="FILE", help="email,object_id with a header")
    link.add_argument("--apply", action="store_true", help="link every match row, all or none")
    link.add_argument("--json", action="store_true")
    listing = add(group, "links", with_engine(cmd_links), "list a tenant's links")
    listing.add_argument("--tenant", required=True)
    listing.add_argument("--provider")
    listing.add_argument("--json", action="store_true")
    unlink = add(group, "unlink", with_engine(cmd_unlink), "remove a link")
    unlink.add_argument("--tenant", required=True)
    unlink.add_argument("--provider", required=True)
    unlink.add_argument("--object-id", required=True)
