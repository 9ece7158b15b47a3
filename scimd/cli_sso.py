"""``scimd sso ...``: the link wizard and the links from the command line.

``scimd sso preview`` reads an Azure AD directory's users from Microsoft Graph
with the app's own credentials (client credentials), for scripted runs.

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
from scimd.cli_import import file_error
from scimd.cli_users import actor
from sso import csv_source, links, snapshots, wizard


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise file_error(path, exc) from None


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
        _print_rows(rows)
        if args.apply and failed is None:
            print(f"linked {len(results)} match rows", file=sys.stderr)
    if failed is not None:
        sys.exit(f"scimd: nothing linked: {failed.detail}")


def _print_rows(rows: list[dict[str, Any]]) -> None:
    """A line per row: its line in the file (or its name), status, email, object id, and the
    account it concerns or why it cannot be linked."""
    for row in rows:
        where = row["line"] if row.get("line") is not None else row["displayName"] or ""
        extra = row["userId"] or row["detail"] or ""
        print(f"{where}\t{row['status']}\t{row['email'] or ''}\t{row['objectId']}\t{extra}")


def cmd_preview(engine: Engine, args: argparse.Namespace) -> None:
    """The wizard app-only: an Azure AD directory's users read from Graph with the app's own
    credentials, each with its match status; stored for ``/admin/v1/sso/snapshots/{id}``."""
    from scimd.keys import load_sealer
    from scimd.settings import Settings
    from scimd.sso import ProviderClients
    from sso import azure, matching, providers

    settings = Settings(database_url=args.database_url)
    sealer = load_sealer(settings, args.database_url)
    with engine.connect() as conn:
        tenant_id = tenants.get_tenant(conn, args.tenant).id
        provider = providers.get(conn, tenant_id, args.provider, sealer)
    if provider.kind != "azure_ad":
        raise InvalidValue("only Azure AD providers list their users; upload a CSV instead")
    clients = ProviderClients(settings.sso_ca_file)
    token = azure.app_token(azure.client_app(provider, clients.requests), provider)
    listed = azure.graph_users(provider, token, clients.httpx)
    users = [matching.from_graph(user) for user in listed]
    with engine.begin() as conn:
        snapshot_id = snapshots.create(conn, tenant_id, provider.name, users, actor())
        snapshot = snapshots.get(conn, tenant_id, snapshot_id)
        rows = [row.to_json() for row in wizard.rows(conn, tenant_id, snapshot)]
    if args.json:
        body = {"snapshotId": snapshot_id, "provider": provider.name, "rows": rows}
        print(json.dumps(body, indent=2))
    else:
        _print_rows(rows)
        print(f"provider list {snapshot_id}: {len(rows)} users", file=sys.stderr)


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
    preview = add(group, "preview", with_engine(cmd_preview), "an Azure AD directory's users")
    preview.add_argument("--tenant", required=True)
    preview.add_argument("--provider", required=True, help="a configured azure_ad provider")
    preview.add_argument("--json", action="store_true")
    listing = add(group, "links", with_engine(cmd_links), "list a tenant's links")
    listing.add_argument("--tenant", required=True)
    listing.add_argument("--provider")
    listing.add_argument("--json", action="store_true")
    unlink = add(group, "unlink", with_engine(cmd_unlink), "remove a link")
    unlink.add_argument("--tenant", required=True)
    unlink.add_argument("--provider", required=True)
    unlink.add_argument("--object-id", required=True)
