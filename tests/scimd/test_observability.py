"""/metrics in Prometheus format, request ids, and the JSON access log."""

from __future__ import annotations

import json
import logging

from tests.scim.helpers import user


def test_metrics_count_requests_by_route_template_and_status(app, scim):
    created = scim.post("/Users", json=user()).json()
    scim.get(f"/Users/{created['id']}")
    scim.get("/Users/does-not-exist")
    text = scim.get("http://testserver/metrics").text
    assert 'scimd_requests_total{method="GET",route="/scim/v2/Users/{id}",status="200"} 1.0' in text
    assert 'scimd_requests_total{method="GET",route="/scim/v2/Users/{id}",status="404"} 1.0' in text
    assert 'scimd_requests_total{method="POST",route="/scim/v2/Users",status="201"} 1.0' in text
    assert created["id"] not in text
    assert "scimd_request_duration_seconds_bucket" in text
    assert "scimd_db_pool_checked_out" in text


def test_every_response_carries_a_request_id_and_keeps_a_sane_given_one(scim):
    generated = scim.get("/ServiceProviderConfig").headers["x-request-id"]
    assert len(generated) == 32
    given = scim.get("/ServiceProviderConfig", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = scim.get("/ServiceProviderConfig", headers={"X-Request-ID": "x" * 200})
    assert hostile.headers["x-request-id"] != "x" * 200


def test_access_log_is_json_with_request_id_and_no_secrets(scim, tenant, caplog):
    from scimd.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="scimd.access"):
        scim.get(
            "/Users",
            params={"filter": 'userName eq "secret-value"'},
            headers={"X-Request-ID": "r-1"},
        )
    (record,) = [r for r in caplog.records if r.name == "scimd.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r-1"
    assert line["route"] == "/scim/v2/Users"
    assert line["status"] == 200
    formatted = JsonFormatter().format(record)
    assert tenant.token not in formatted and "secret-value" not in formatted
