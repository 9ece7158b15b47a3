"""Behind a reverse proxy: whose address sign-in throttling sees (``SCIMD_FORWARDED_ALLOW_IPS``)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.live_server import running_server


def _fail_logins(origin: str, forwarded_for: str, times: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=origin, headers={"X-Forwarded-For": forwarded_for}) as client:
        for n in range(times):
            response = client.post(
                "/auth/login", json={"login": f"ghost{n}@nowhere.example", "password": "Wrong-1"}
            )
            statuses.append(response.status_code)
    return statuses


@pytest.mark.parametrize(
    ("trusted", "other_client_status"),
    [("127.0.0.1", 401), ("", 429)],
    ids=["proxy-trusted", "proxy-not-trusted"],
)
def test_throttling_keys_on_the_forwarded_address_only_from_a_trusted_proxy(
    tmp_path, trusted, other_client_status
):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with running_server(url, env={"SCIMD_FORWARDED_ALLOW_IPS": trusted}) as server:
        origin = server.base_url.removesuffix("/scim/v2")
        assert _fail_logins(origin, "203.0.113.7", 31)[-1] == 429
        # Another client behind the same proxy: its own budget only if the proxy is trusted.
        assert _fail_logins(origin, "198.51.100.9", 1) == [other_client_status]
