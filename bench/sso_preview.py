"""The link wizard's preview of a large Azure AD directory, against the test authority.

Measures ``POST /admin/v1/sso/providers/{name}/snapshots`` (app-only token,
every Graph page, the list stored, statuses computed against the accounts,
first page answered) for ``--users`` Graph users, half of whom have a local
account. Baseline in the same run: reading the same pages from the same fake
Graph with httpx alone, so the ratio says what scimd adds to the provider's
own time.

Usage::

    python -m bench.sso_preview                  # 10,000 Graph users, SQLite
    python -m bench.sso_preview --users 20000 --backend postgresql
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import httpx
from starlette.testclient import TestClient

from bench import servers
from directory import database, tenants
from directory.sealing import new_key
from scimd.app import create_app
from scimd.settings import Settings
from sso.azure import GRAPH_PAGE, GRAPH_SELECT
from tests.support.authority import fake_authority, httpx_verify


def _load_accounts(engine, tenant_id: int, count: int) -> None:
    from directory import users

    with engine.begin() as conn:
        for n in range(count):
            email = f"user{n}@example.com"
            users.create_user(
                conn,
                tenant_id,
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "emails": [{"value": email, "type": "work", "primary": True}],
                },
            )


def measure(database_url: str, count: int, repeat: int) -> dict[str, float]:
    engine = database.create_store_engine(database_url)
    database.upgrade(engine)
    with engine.begin() as conn:
        tenant = tenants.create_tenant(conn, f"bench-sso-{time.time_ns()}")
        token, _ = tenants.create_token(conn, tenant.id, scopes=("admin",))
    _load_accounts(engine, tenant.id, count // 2)
    if engine.dialect.name == "postgresql":
        # As autovacuum would by now in a running installation: without statistics the planner
        # filters every account of the tenant for each email batch (measured 4x slower).
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    with fake_authority() as authority:
        authority.graph_users = [
            {
                "id": f"obj-{n}",
                "displayName": f"User {n}",
                "mail": f"user{n}@example.com",
                "userPrincipalName": f"user{n}@tenant.onmicrosoft.com",
                "otherMails": [],
            }
            for n in range(count)
        ]
        settings = Settings(
            secret_key=new_key(),
            job_runner=False,
            sso_ca_file=authority.ca_path,
            log_level="warning",
        )
        app = create_app(settings, engine=engine)
        preview: list[float] = []
        fetch: list[float] = []
        with TestClient(
            app,
            base_url="http://testserver/admin/v1",
            headers={"Authorization": f"Bearer {token}"},
        ) as admin:
            configured = admin.put(
                "/sso/providers/azure_ad",
                json={
                    "kind": "azure_ad",
                    "authority": authority.authority,
                    "clientId": authority.client_id,
                    "clientSecret": authority.client_secret,
                    "graphUrl": authority.graph_url,
                },
            )
            configured.raise_for_status()
            access = authority.make_access_token(authority.client_id)
            for _ in range(repeat):
                start = time.perf_counter()
                answer = admin.post("/sso/providers/azure_ad/snapshots")
                preview.append(time.perf_counter() - start)
                if answer.status_code != 201 or answer.json()["counts"]["match"] != count // 2:
                    raise RuntimeError(answer.text[:500])
                start = time.perf_counter()
                with httpx.Client(verify=httpx_verify(authority.ca_path), trust_env=False) as http:
                    url: str | None = (
                        f"{authority.graph_url}/v1.0/users?$select={GRAPH_SELECT}&$top={GRAPH_PAGE}"
                    )
                    while url:
                        page = http.get(url, headers={"Authorization": f"Bearer {access}"}).json()
                        url = page.get("@odata.nextLink")
                fetch.append(time.perf_counter() - start)
    engine.dispose()
    seconds = statistics.median(preview)
    return {
        "graph users": count,
        "preview seconds": seconds,
        "users previewed/s": count / seconds,
        "Graph pages alone, seconds": statistics.median(fetch),
        "preview ÷ Graph alone": seconds / statistics.median(fetch),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            result = measure(f"sqlite:///{folder}/bench.db", args.users, args.repeat)
    else:
        with servers.postgres_database(None) as url:
            result = measure(url, args.users, args.repeat)
    for name, value in result.items():
        print(
            f"| {name} | {value:,.2f} |" if isinstance(value, float) else f"| {name} | {value:,} |"
        )


if __name__ == "__main__":
    main()
