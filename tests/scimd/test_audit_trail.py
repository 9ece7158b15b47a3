"""The audit trail as a whole: every change through every write route leaves an event, the
admin API filters and exports them, and no secret reaches the trail or the logs.

The completeness test is driven by the app's own route table: a write route that the
scenario below does not call, and that is not in ``NOT_CHANGES`` with its reason, fails it,
so a route added later must join the scenario.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import scimd.admin.audit
from directory import tables
from scimd.app import create_app
from scimd.observability import JsonFormatter
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY, Tenant
from tests.scim.helpers import group, patch, unique, user
from tests.scimd.accounts import admin_token, assert_error, client, events, random_address
from tests.support.smtp import smtp_server

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Write routes that change no account, group or setting, each with where it is covered.
NOT_CHANGES = {
    ("POST", "/scim/v2/.search"): "a search",
    ("POST", "/scim/v2/Users/.search"): "a search",
    ("POST", "/scim/v2/Groups/.search"): "a search",
    ("POST", "/scim/v2/Me{rest:path}"): "not implemented: 501 (tests/scim/test_discovery.py)",
    ("PUT", "/scim/v2/Me{rest:path}"): "not implemented",
    ("PATCH", "/scim/v2/Me{rest:path}"): "not implemented",
    ("DELETE", "/scim/v2/Me{rest:path}"): "not implemented",
    ("POST", "/admin/v1/sso/snapshots"): "a link preview; links change at /sso/links/apply",
    ("POST", "/admin/v1/sso/providers/{name}/snapshots"): "a Graph preview, as above",
    ("POST", "/admin/v1/sso/providers/{name}/login"): "starts an Azure AD login for the wizard",
    ("POST", "/sso/azure/callback"): "ends that login; stores a snapshot",
    ("POST", "/sso/{provider}/callback"): (
        "federated sign-in over a real authority; its events: tests/sso/test_federated.py"
    ),
}


def fresh_password(secrets: list[str]) -> str:
    """A new strong password, remembered as a secret (password history refuses reuse)."""
    password = f"Audit-{unique()}-Pass-9"
    secrets.append(password)
    return password


def write_routes(app) -> dict[tuple[str, str], re.Pattern[str]]:
    """Every (method, path template) of the app that may write, with a regex for its paths."""
    found: dict[tuple[str, str], re.Pattern[str]] = {}

    def walk(routes, prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(route.routes or [], prefix + route.path)
            elif isinstance(route, Route):
                template = prefix + route.path
                pattern = re.sub(r"\{\w+:path\}", ".*", template)
                pattern = re.sub(r"\{\w+\}", "[^/]+", pattern)
                if template.startswith("/console/"):
                    continue  # the console changes nothing itself: it calls the admin API
                for method in (route.methods or set()) & WRITES:
                    found[(method, template)] = re.compile(f"^{pattern}$")

    inner = app
    while not hasattr(inner, "routes"):
        inner = inner.app
    walk(inner.routes, "")
    return found


@dataclass
class Trail:
    """Calls the app and checks that each change it answers added an event to the tenant's
    trail; remembers which write routes were called."""

    engine: Any
    tenant_id: int
    routes: dict[tuple[str, str], re.Pattern[str]]
    called: set[tuple[str, str]] = field(default_factory=set)

    def count(self) -> int:
        event = tables.AuditEvent
        with self.engine.connect() as conn:
            query = select(func.count()).where(event.tenant_id == self.tenant_id)
            return int(conn.execute(query).scalar_one())

    def call(self, api: TestClient, method: str, path: str, expect: int, **kwargs: Any):
        before = self.count()
        response = api.request(method, path, **kwargs)
        assert response.status_code == expect, (method, path, response.text)
        full = str(response.request.url.path)
        matched = [
            key for key, regex in self.routes.items() if key[0] == method and regex.match(full)
        ]
        assert matched, f"{method} {full} matches no write route"
        # The most specific template: /users/bulk/{action} over /users/{id}/... and such.
        self.called.add(min(matched, key=lambda key: key[1].count("{")))
        if response.is_success or full.endswith("/auth/login"):
            assert self.count() > before, f"{method} {full} answered {expect} and left no event"
        return response


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything every logger writes meanwhile, at DEBUG, as scimd's JSON lines."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    # Not the test's own SMTP server (aiosmtpd logs each mail it receives, by design).
    handler.addFilter(lambda record: not record.name.startswith("mail.log"))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "scimd", "sso", "scim")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def apis(engine, tenant: Tenant, inbox) -> Iterator[tuple[Any, TestClient, TestClient, TestClient]]:
    app = create_app(
        Settings(
            shared_logins=True,
            secret_key=TEST_SECRET_KEY,
            job_runner=False,
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            public_url="https://id.example",
        ),
        engine=engine,
    )
    with (
        client(app, "/admin/v1", admin_token(engine, tenant)) as admin,
        client(app, "/scim/v2", tenant.token) as scim,
        client(app, "/auth", address=random_address()) as auth,
    ):
        yield app, admin, scim, auth


def _scim_changes(trail: Trail, scim: TestClient, secrets: list[str]) -> None:
    made = trail.call(scim, "POST", "/Users", 201, json=user(unique("ann"))).json()
    other = trail.call(scim, "POST", "/Users", 201, json=user(unique("bob"))).json()
    secret = "Scim-pushed-pass-77"
    secrets.append(secret)
    operation = {"op": "replace", "path": "password", "value": secret}
    trail.call(scim, "PATCH", f"/Users/{made['id']}", 200, json=patch(operation))
    trail.call(scim, "PUT", f"/Users/{made['id']}", 200, json=user(made["userName"], title="CTO"))
    team = trail.call(scim, "POST", "/Groups", 201, json=group(unique("team"), made["id"])).json()
    add = {"op": "add", "path": "members", "value": [{"value": other["id"]}]}
    trail.call(scim, "PATCH", f"/Groups/{team['id']}", 200, json=patch(add))
    trail.call(scim, "PUT", f"/Groups/{team['id']}", 200, json=group(team["displayName"]))
    trail.call(scim, "DELETE", f"/Groups/{team['id']}", 204)
    trail.call(scim, "DELETE", f"/Users/{other['id']}", 204)
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b", "data": user(unique())}],
    }
    trail.call(scim, "POST", "/Bulk", 200, json=bulk)


def _catalog_changes(trail: Trail, admin: TestClient) -> None:
    for kind in ("licences", "user-types", "user-groups", "dac-groups", "roles"):
        trail.call(admin, "POST", f"/{kind}", 201, json={"code": "temp"})
        trail.call(admin, "DELETE", f"/{kind}/temp", 204)
    trail.call(admin, "POST", "/roles", 201, json={"code": "viewer"})
    trail.call(admin, "POST", "/role-groups", 201, json={"code": "staff", "roles": ["viewer"]})
    trail.call(admin, "DELETE", "/role-groups/staff", 204)
    trail.call(admin, "POST", "/resource-groups", 201, json={"code": "ops", "name": "Ops"})
    trail.call(admin, "DELETE", "/resource-groups/ops", 204)


def _account_changes(trail: Trail, admin: TestClient, domain: str, secrets: list[str]) -> str:
    """Every admin action on accounts; the id of a user left ready to sign in."""
    people = [
        trail.call(admin, "POST", "/users", 201, json={"userName": f"{n}.{unique()}@{domain}"})
        for n in ("cat", "dan", "eve", "fay")
    ]
    cat, dan, eve, fay = (p.json()["id"] for p in people)
    trail.call(
        admin, "PATCH", f"/users/{cat}", 200, json={"email": f"cat@{domain}", "roles": ["viewer"]}
    )
    for action, body in (
        ("allow-login", {}),
        ("lock", {"reason": "audit"}),
        ("unlock", {}),
        ("block-login", {"reason": "audit"}),
        ("allow-login", {}),
        ("reset-tries", {}),
        ("set-password", {"password": fresh_password(secrets)}),
        ("mfa-remove", {}),
        ("delete-trusted-devices", {}),
        ("auto-reset-password", {"mode": "mail-password"}),
    ):
        trail.call(admin, "POST", f"/users/{cat}/actions/{action}", 200, json=body)
    trail.call(admin, "POST", f"/users/{dan}/actions/copy-access", 200, json={"fromUserId": cat})
    trail.call(admin, "POST", f"/users/{dan}/actions/mfa-do-not-enforce", 200, json={})
    key = trail.call(admin, "POST", f"/users/{cat}/api-keys", 201, json={"name": "job"}).json()
    secrets.append(key["key"])
    trail.call(admin, "DELETE", f"/users/{cat}/api-keys/{key['id']}", 204)
    trail.call(admin, "POST", "/users/bulk/lock", 200, json={"ids": [dan, eve]})
    trail.call(admin, "POST", "/users/bulk/delete", 200, json={"ids": [eve], "confirm": True})
    trail.call(admin, "DELETE", f"/users/{fay}", 204, params={"confirm": "true"})
    return cat


def _self_service(trail: Trail, admin, auth, tenant: Tenant, cat: str, inbox, secrets) -> None:
    domain = f"{tenant.name}.example.com"
    trail.call(admin, "PUT", "/settings", 200, json={"self_registration": True})
    newcomer = f"new.{unique()}@{domain}"
    secrets.append("Registered-pass-55")
    body = {"tenant": tenant.name, "userName": newcomer, "password": "Registered-pass-55"}
    trail.call(auth, "POST", "/register", 201, json=body)
    [waiting] = [u for u in admin.get("/approvals").json()["users"] if u["userName"] == newcomer]
    trail.call(admin, "POST", "/users/bulk/approve", 200, json={"ids": [waiting["id"]]})

    login = admin.get(f"/users/{cat}").json()["userName"]
    wrong = {"login": login, "password": "Not-the-password-1"}
    secrets.append(wrong["password"])
    trail.call(auth, "POST", "/login", 401, json=wrong)
    # A forced change first, then MFA enrolment with a TOTP code.
    password = fresh_password(secrets)
    trail.call(
        admin,
        "POST",
        f"/users/{cat}/actions/set-password",
        200,
        json={"password": password, "forceChange": True},
    )
    step = trail.call(
        auth, "POST", "/login", 200, json={"login": login, "password": password}
    ).json()
    changed = fresh_password(secrets)
    trail.call(
        auth,
        "POST",
        "/password",
        200,
        json={"challenge": step["challenge"], "newPassword": changed},
    )
    trail.call(admin, "PATCH", f"/users/{cat}", 200, json={"mfaRequired": True})
    enrol = trail.call(
        auth, "POST", "/login", 200, json={"login": login, "password": changed}
    ).json()
    seed = enrol["enrolment"]["secret"]
    code = pyotp.TOTP(seed).now()
    secrets.extend([seed, code, enrol["challenge"]])
    done = trail.call(
        auth, "POST", "/mfa", 200, json={"challenge": enrol["challenge"], "code": code}
    )
    assert done.json()["status"] == "signed_in"
    session = admin.get(f"/users/{cat}/sessions").json()["sessions"][-1]  # not the newest
    trail.call(admin, "DELETE", f"/users/{cat}/sessions/{session['id']}", 204)
    own = done.json()["session"]
    secrets.append(own)
    trail.call(auth, "POST", "/logout", 204, headers={"Authorization": f"Bearer {own}"})
    trail.call(
        admin, "POST", f"/users/{cat}/actions/auto-reset-password", 200, json={"mode": "mail-link"}
    )
    [mail] = [
        m for m in inbox.to(f"cat@{domain}") if "#token=" in m.get_payload(decode=True).decode()
    ]
    token = re.search(r"#token=(\S+)", mail.get_payload(decode=True).decode()).group(1)
    secrets.extend([token, "Reset-by-link-71"])
    trail.call(
        auth, "POST", "/reset", 200, json={"token": token, "newPassword": "Reset-by-link-71"}
    )
    for message in inbox.to(f"cat@{domain}"):
        temporary = re.search(
            r"Temporary password: (\S+)", message.get_payload(decode=True).decode()
        )
        if temporary:
            secrets.append(temporary.group(1))


def _import_and_sso(trail: Trail, admin, tenant: Tenant, cat: str, secrets: list[str]) -> None:
    domain = f"{tenant.name}.example.com"
    sheet = f"Username,Email\r\nimported.{unique()}@{domain},imp@{domain}\r\n".encode()
    files = {"file": ("users.csv", sheet, "text/csv")}
    job = trail.call(admin, "POST", "/imports", 201, files=files).json()
    assert job["status"] == "done", job
    provider_secret = "Provider-client-secret-93"
    secrets.append(provider_secret)
    body = {
        "kind": "oidc",
        "clientId": "client",
        "clientSecret": provider_secret,
        "issuer": "https://idp.example",
    }
    trail.call(admin, "PUT", "/sso/providers/okta", 200, json=body)
    upload = admin.post(
        "/sso/snapshots",
        data={"provider": "okta"},
        files={"file": ("ids.csv", f"email,object_id\ncat@{domain},oid-1\n".encode(), "text/csv")},
    ).json()
    choices = [{"action": "add", "objectId": "oid-1", "userId": cat}]
    assert upload["rows"][0]["userId"] == cat
    trail.call(
        admin, "POST", "/sso/links/apply", 200, json={"provider": "okta", "choices": choices}
    )
    trail.call(admin, "DELETE", "/sso/links/okta/oid-1", 204)
    trail.call(admin, "DELETE", "/sso/providers/okta", 204)


def test_every_change_through_every_write_route_leaves_an_event_and_no_secret(
    engine, tenant, inbox, logs
):
    secrets = [tenant.token]
    with apis(engine, tenant, inbox) as (app, admin, scim, auth):
        secrets.append(admin.headers["Authorization"].split()[1])
        trail = Trail(engine, tenant.id, write_routes(app))
        _scim_changes(trail, scim, secrets)
        _catalog_changes(trail, admin)
        cat = _account_changes(trail, admin, f"{tenant.name}.example.com", secrets)
        _self_service(trail, admin, auth, tenant, cat, inbox, secrets)
        _import_and_sso(trail, admin, tenant, cat, secrets)
        exported = admin.get("/exports/audit.jsonl").text

        missing = set(trail.routes) - trail.called - set(NOT_CHANGES)
        assert missing == set(), "write routes this scenario does not call"
        assert set(NOT_CHANGES) <= set(trail.routes), "NOT_CHANGES names a route that is gone"

    written = logs.getvalue()
    assert "request" in written  # the access log lines were captured
    for secret in secrets:
        assert secret not in exported, "a secret in the audit trail"
        assert secret not in written, "a secret in the logs"


# --- reading the trail ------------------------------------------------------------------------


@pytest.fixture
def trail_events(admin, scim) -> list[dict[str, Any]]:
    """Five users created, then the first one deleted: six events, oldest first."""
    made = [scim.post("/Users", json=user(unique("t"))).json() for _ in range(5)]
    assert scim.delete(f"/Users/{made[0]['id']}").status_code == 204
    return list(reversed(events(admin, count="6")))


def test_the_list_filters_by_action_actor_result_and_time_and_pages_back(admin, trail_events):
    assert [e["action"] for e in trail_events] == ["user.create"] * 5 + ["user.delete"]
    assert [e["id"] for e in events(admin, action="user.delete")] == [trail_events[-1]["id"]]
    actor = trail_events[0]["actor"]
    assert len(events(admin, actor=actor)) == 6 and events(admin, actor="scim-token:0") == []
    assert events(admin, result="refused") == []
    page = events(admin, count="2", before=str(trail_events[-1]["id"]))
    assert [e["id"] for e in page] == [trail_events[4]["id"], trail_events[3]["id"]]
    first_at = datetime.fromisoformat(trail_events[0]["at"].replace("Z", "+00:00"))
    later = (first_at + timedelta(days=1)).isoformat()
    assert len(events(admin, since=trail_events[0]["at"])) == 6
    assert events(admin, since=later) == []
    assert events(admin, until=trail_events[0]["at"]) == []  # until is exclusive
    assert len(events(admin, until=later)) == 6


@pytest.mark.parametrize(
    "params", [{"since": "yesterday"}, {"until": "2026-13-01"}, {"count": "0"}, {"before": "x"}]
)
def test_a_malformed_filter_is_400(admin, params):
    assert_error(admin.get("/audit", params=params), 400, "invalid_value")


def test_the_csv_export_holds_every_selected_event_oldest_first(admin, trail_events, monkeypatch):
    monkeypatch.setattr(scimd.admin.audit, "EXPORT_PAGE", 2)  # several pages
    response = admin.get("/exports/audit.csv", params={"action": "user.create"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="audit.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in trail_events[:5]]
    assert [json.loads(r["detail"]) for r in rows] == [e["detail"] for e in trail_events[:5]]
    assert list(rows[0]) == list(scimd.admin.audit.CSV_COLUMNS)


def test_the_json_lines_export_matches_the_list(admin, trail_events, monkeypatch):
    monkeypatch.setattr(scimd.admin.audit, "EXPORT_PAGE", 4)
    response = admin.get("/exports/audit.jsonl")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    exported = [json.loads(line) for line in response.text.splitlines()]
    assert exported[-6:] == trail_events


def test_an_export_holds_only_the_tenant_s_own_events(admin, trail_events, make_tenant_admin):
    with make_tenant_admin() as other:
        assert other.get("/exports/audit.jsonl").text == ""
        assert other.get("/exports/audit.csv").text.splitlines() == [
            ",".join(scimd.admin.audit.CSV_COLUMNS)
        ]
    assert len(admin.get("/exports/audit.jsonl").text.splitlines()) >= 6


@pytest.mark.parametrize("scope", ["scim", "scim:read"])
def test_reading_the_trail_needs_the_admin_scope(app, engine, tenant, scope):
    with client(app, "/admin/v1", admin_token(engine, tenant, scope)) as api:
        for path in ("/audit", "/exports/audit.csv", "/exports/audit.jsonl"):
            assert api.get(path).status_code == 403
