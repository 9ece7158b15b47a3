"""scim2-tester's whole check suite against a live ``scimd serve``, on each backend."""

from __future__ import annotations

import uuid

from conformance.scim2_tester import failures, run, summary
from tests.support.live_server import create_token, live_server

MIN_CHECKS = 100


def test_scim2_tester_finds_no_failures(database_url: str) -> None:
    token = create_token(database_url, f"conformance-{uuid.uuid4().hex[:10]}")

    with live_server(database_url) as base_url:
        results = run(base_url, token)

    counts = summary(results)
    print(f"scim2-tester on {base_url}: {counts}")
    assert failures(results) == []
    assert len(results) >= MIN_CHECKS, counts
    assert counts.get("SUCCESS", 0) >= MIN_CHECKS, counts
