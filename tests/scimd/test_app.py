"""The composed server: how it behaves when its database goes away and comes back."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import make_tenant

APPLICATION = "scimd-connection-loss-test"


def test_one_request_per_broken_connection_fails_then_the_pool_renews_itself(database_url, engine):
    """Without pre-ping, connections a PostgreSQL restart broke are found by the request
    that uses them; the pool then drops all connections as old as that one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose")
    tenant = make_tenant(engine)
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}application_name={APPLICATION}"
    app = create_app(Settings(database_url=url, log_level="warning", pool_size=4))
    headers = {"Authorization": f"Bearer {tenant.token}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post(
            "/scim/v2/Users", json={"userName": "survivor@example.com"}, headers=headers
        )
        assert created.status_code == 201, created.text
        user = f"/scim/v2/Users/{created.json()['id']}"
        assert client.get(user, headers=headers).status_code == 200

        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": APPLICATION},
            ).scalar_one()
        admin.dispose()
        assert killed >= 1

        responses = [
            client.patch(
                user,
                json={"Operations": [{"op": "replace", "path": "title", "value": f"t{n}"}]},
                headers=headers,
            )
            for n in range(10)
        ]
    failed = [response for response in responses if response.status_code != 200]
    assert len(failed) <= 1, [response.text for response in failed]
    assert [response.status_code for response in responses[-9:]] == [200] * 9
    for response in failed:  # nothing was written: the IdP is told to try again
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["status"] == "503"
