"""The admin API fuzzed from the OpenAPI document it serves (schemathesis), on both backends.

For every operation ``GET /admin/v1/openapi.json`` describes, whatever a client sends:

1. never a 5xx (but the documented 503 of a mail action on a server without SMTP);
2. the answer is the documented one: a documented status code and content type, and a body
   that matches the documented schema (schemathesis' conformance checks);
3. a refused write (4xx) leaves the tenant's rows exactly as they were.

Cases come from schemathesis' coverage phase (boundary values and violations of each
constraint, run every time) and its fuzzing phase (hypothesis), valid by the document and
invalid (negative mode). Path parameters are real ones (a user, a catalog code, a job...)
about half the time, so that requests get past the 404. Beside them: every operation refuses
a missing or unknown token, tests/directory/test_import_fuzz.py's hostile files are a job or
a 400 over HTTP too, and what the fuzzing found has a test each at the end.
``SCIMD_HOSTILE_SCALE=10`` fuzzes ten times as many cases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from starlette.applications import Starlette

from scimd.admin.catalog import PATHS as CATALOG_PATHS
from scimd.admin.openapi import OPENAPI
from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY, Tenant, make_tenant
from tests.directory.test_import_fuzz import import_files, import_options, tenant_rows
from tests.scimd.accounts import admin_token, client, new_user

BASE_URL = "http://testserver/admin/v1"
SCALE = int(os.environ.get("SCIMD_HOSTILE_SCALE", "1"))
# A 5xx the installation's configuration explains (no SMTP server for the fuzzed app), documented.
NOT_CONFIGURED = {(503, "mail_not_configured")}
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Path parameters a World has a value for (the others are enums).
SEEDED = ("id", "handle", "code", "name", "provider", "object_id")


@pytest.fixture(scope="module")
def fuzzed_app(engine: Engine) -> Starlette:
    """The app of the ``app`` fixture, without the per-token rate limit: thousands of requests
    in a few seconds are what a fuzzer sends, and 429 is not what is being tested."""
    settings_ = Settings(
        shared_logins=True, secret_key=TEST_SECRET_KEY, job_runner=False, rate_limit_per_second=0
    )
    return create_app(settings_, engine=engine)


@dataclass(frozen=True)
class World:
    """A tenant with one of everything the admin API's paths name."""

    tenant: Tenant
    token: str
    real: dict[str, str]  # a path parameter, or "<path>:<parameter>" -> a value that exists

    def resolve(self, path: str, name: str, value: Any) -> Any:
        if unquote(str(value)) != f"@{name}":  # path parameters come percent-encoded
            return value
        return self.real.get(f"{path}:{name}") or self.real[name]


def _seed(app: Starlette, engine: Engine) -> World:
    tenant = make_tenant(engine, "fuzz")
    token = admin_token(engine, tenant)
    domain = f"{tenant.name}.example.com"
    with client(app, "/admin/v1", token) as admin:
        user = new_user(admin, userName=f"ann@{domain}", email=f"ann@{domain}")
        key = admin.post(f"/users/{user['id']}/api-keys", json={"name": "fuzz"}).json()
        for kind in CATALOG_PATHS:
            assert admin.post(f"/{kind}", json={"code": "fz"}).status_code == 201
        provider = {"kind": "oidc", "issuer": "https://idp.example.com", "clientId": "fuzz"}
        assert admin.put("/sso/providers/fz", json=provider).status_code == 200
        listed = f"email,object_id\r\nann@{domain},11\r\n".encode()
        snapshot = admin.post(
            "/sso/snapshots",
            data={"provider": "onelogin"},
            files={"file": ("ids.csv", listed, "text/csv")},
        )
        assert snapshot.status_code == 201, snapshot.text
        choice = {"action": "add", "objectId": "11", "userId": user["id"]}
        applied = admin.post("/sso/links/apply", json={"provider": "onelogin", "choices": [choice]})
        assert applied.status_code == 200, applied.text
        sheet = f"Username\r\nbob@{domain}\r\n".encode()
        job = admin.post(
            "/imports",
            data={"dryRun": "true"},
            files={"file": ("users.csv", sheet, "text/csv")},
        )
        assert job.status_code == 201, job.text
    real = {
        "id": user["id"],
        "handle": key["id"],
        "code": "fz",
        "name": "fz",
        "provider": "onelogin",
        "object_id": "11",
        "/imports/{id}:id": str(job.json()["id"]),
        "/sso/snapshots/{id}:id": str(snapshot.json()["snapshotId"]),
    }
    return World(tenant, token, real)


@pytest.fixture
def world(fuzzed_app: Starlette, engine: Engine) -> World:
    """A world of the test's own: the fuzzer's writes (and deletes) that succeed stay in it."""
    return _seed(fuzzed_app, engine)


@pytest.fixture(scope="module")
def shared_world(fuzzed_app: Starlette, engine: Engine) -> World:
    """A world for the tests whose requests are all refused."""
    return _seed(fuzzed_app, engine)


# Built when the module is collected, from the document the app serves (checked equal below):
# schemathesis' loader from a fixture (schemathesis.pytest.from_fixture) fails on pytest 9.2.
schema = schemathesis.openapi.from_dict(OPENAPI)
if SCALE == 1:
    # Entries without rules: the same code as POST /licences, which stands for them.
    schema = schema.exclude(method="POST", path=["/user-types", "/user-groups", "/dac-groups"])


@schema.hook
def filter_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> bool:
    """No newline in a path: Starlette's Mount does not match one, so the app's root answers
    the 404 an unknown path gets, not the operation's own (test_a_newline_in_a_path_is_a_json_404
    covers it)."""
    return not any("%0A" in str(value) for value in (path_parameters or {}).values())


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Each path parameter as generated, or ``@name``: a value that exists, put in by the test."""
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, f"@{name}"]) if name in SEEDED else st.just(value)
            for name, value in (path_parameters or {}).items()
        }
    )


@schema.parametrize()
@settings(
    max_examples=10 * SCALE,
    deadline=None,
    database=None,
    derandomize=SCALE == 1,
    suppress_health_check=list(HealthCheck),
)
def test_admin_api_answers_as_documented_and_a_4xx_changes_nothing(case, fuzzed_app, world, engine):
    case.path_parameters = {
        name: world.resolve(case.path, name, value)
        for name, value in (case.path_parameters or {}).items()
    }
    auth = {"Authorization": f"Bearer {world.token}"}
    before = tenant_rows(engine, world.tenant.id) if case.method.upper() != "GET" else None
    response = case.call(headers=auth, app=fuzzed_app, base_url=BASE_URL)
    if response.status_code >= 500:
        assert (response.status_code, response.json().get("error")) in NOT_CONFIGURED, (
            f"{response.status_code} {response.text[:300]}"
        )
    case.validate_response(response, checks=CHECKS)
    if before is not None and 400 <= response.status_code < 500:
        assert tenant_rows(engine, world.tenant.id) == before, (
            f"{response.status_code} changed rows"
        )


def test_the_served_document_is_the_one_fuzzed(fuzzed_app):
    with client(fuzzed_app, "/admin/v1") as anonymous:
        assert anonymous.get("/openapi.json").json() == OPENAPI


OPERATIONS = [
    (method.upper(), path)
    for path, item in OPENAPI["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_refuses_a_missing_or_unknown_token(fuzzed_app, shared_world, method, path):
    """What schemathesis' ignored_auth check probes, on paths that exist (its probes cannot
    reach an app that is given per call)."""
    url = path.replace("{action}", "lock")
    for name in SEEDED:
        url = url.replace(f"{{{name}}}", shared_world.resolve(path, name, f"@{name}"))
    for token in (None, "not-a-token"):
        with client(fuzzed_app, "/admin/v1", token) as anonymous:
            response = anonymous.request(method, url, json={})
        assert response.status_code == 401, f"{token}: {response.text}"
        assert response.json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


CRASHED = "internal error; see the server log"  # scimd.imports' report of a job that raised
FORM_FIELDS = {
    "skip_errors": "skipErrors",
    "date_format": "dateFormat",
    "reset_from_resource_group": "resetFromResourceGroup",
    "copy_roles_from": "copyRolesFrom",
    "update_existing": "updateExisting",
    "dry_run": "dryRun",
}


@settings(
    max_examples=25 * SCALE,
    deadline=None,
    database=None,
    derandomize=SCALE == 1,
    suppress_health_check=list(HealthCheck),
)
@given(file=import_files(), options=import_options())
def test_hostile_import_files_are_a_job_or_a_400_that_changes_nothing(
    fuzzed_app, world, engine, file, options
):
    """tests/directory/test_import_fuzz.py's files and options, over HTTP: the job the import
    ran, or a 400 for a file refused as a whole, which creates no job."""
    form = {
        FORM_FIELDS[name]: str(value).lower() if isinstance(value, bool) else value
        for name, value in options.items()
        if value is not None
    }
    before = tenant_rows(engine, world.tenant.id)
    with client(fuzzed_app, "/admin/v1", world.token) as admin:
        response = admin.post(
            "/imports", data=form, files={"file": (file.filename, file.data, "text/csv")}
        )
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"] == "invalid_value", response.text
        assert tenant_rows(engine, world.tenant.id) == before
    else:  # run to its end: done, or failed for a reason it gives (not for a crash)
        job = response.json()
        assert job["status"] in ("done", "failed"), job
        assert job["report"].get("error") != CRASHED, job


# --- what the fuzzing found ------------------------------------------------------------
#
# Each was a 500 on one backend at least (NaN and Infinity: taken as numbers; the newline:
# a plain-text 404) before it was fixed.

JSON_ENDPOINTS = [
    ("POST", "/users"),
    ("PATCH", "/users/@id"),
    ("POST", "/users/@id/actions/lock"),
    ("POST", "/users/bulk/lock"),
    ("POST", "/users/@id/api-keys"),
    ("POST", "/roles"),
    ("PUT", "/settings"),
    ("PUT", "/sso/providers/fz"),
    ("POST", "/sso/links/apply"),
]
HOSTILE_BODIES = {
    "depth 100000 arrays": b"[" * 100_000,
    "depth 100000 objects": b'{"a":' * 100_000,
    "depth 5000 closed arrays": b"[" * 5000 + b"]" * 5000,
    "depth 5000 in a field": b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "NaN": b'{"userName": "nan@example.com", "name": NaN}',
    "Infinity": b'{"code": "inf", "staff": Infinity}',
    "NUL in a value": b'{"userName": "nul@example.com", "name": "a\\u0000b", "code": "a\\u0000"}',
    "NUL in a key": b'{"\\u0000": 1}',
    "lone surrogate": b'{"userName": "s\\ud800@example.com", "name": "\\udc00", "code": "\\ud800"}',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_json_bodies_are_400_and_change_nothing(fuzzed_app, shared_world, engine, name):
    failures = []
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        for method, url in JSON_ENDPOINTS:
            before = tenant_rows(engine, shared_world.tenant.id)
            response = admin.request(
                method,
                url.replace("@id", shared_world.real["id"]),
                content=HOSTILE_BODIES[name],
                headers={"content-type": "application/json"},
            )
            if response.status_code != 400 or tenant_rows(engine, shared_world.tenant.id) != before:
                failures.append(f"{method} {url}: {response.status_code} {response.text[:100]}")
            elif response.json()["error"] not in ("invalid_json", "invalid_value"):
                failures.append(f"{method} {url}: {response.text[:100]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "url",
    [
        "/users/%00",
        "/users/a%00b/api-keys",
        "/roles/%00",
        "/users?search=%00",
        "/users/export.csv?search=%00",
        "/audit?target=%00",
    ],
)
def test_a_nul_in_a_path_or_query_parameter_is_400(fuzzed_app, shared_world, url):
    """PostgreSQL refuses NUL in text: refused before any query, on both backends alike."""
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        response = admin.get(url)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_value"


UPLOADS = {
    "NUL in copyRolesFrom": ("/imports", {"copyRolesFrom": "a\x00"}, "Username\na@example.com\n"),
    "NUL in a provider list": (
        "/sso/snapshots",
        {"provider": "onelogin"},
        "email,object_id\na\x00@example.com,1\n",
    ),
}


@pytest.mark.parametrize("name", UPLOADS)
def test_a_nul_in_an_upload_or_its_options_is_400(fuzzed_app, shared_world, engine, name):
    path, form, content = UPLOADS[name]
    before = tenant_rows(engine, shared_world.tenant.id)
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        response = admin.post(path, data=form, files={"file": ("f.csv", content.encode())})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_value"
    assert tenant_rows(engine, shared_world.tenant.id) == before


def test_a_nul_in_an_imported_cell_fails_its_row(fuzzed_app, shared_world, engine):
    content = "Username,Job title\nnul@example.com,a\x00b\n"
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        response = admin.post("/imports", files={"file": ("f.csv", content.encode())})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "failed"
    assert job["report"]["errors"] == [
        {"row": 2, "column": "Job title", "reason": "holds a NUL character"}
    ]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/users?startIndex=99999999999999999999", 400),
        ("/users?startIndex=-99999999999999999999", 400),
        ("/sso/snapshots/99999999999999999999", 400),
        ("/sso/snapshots/@snapshot?startIndex=99999999999999999999", 400),
        ("/imports/99999999999999999999", 404),
        ("/imports/2147483648", 404),  # past PostgreSQL's integer: no job has that id
        ("/sso/snapshots/2147483648", 404),
    ],
)
def test_a_number_too_large_for_its_column_is_refused_before_the_database(
    fuzzed_app, shared_world, url, status
):
    url = url.replace("@snapshot", shared_world.real["/sso/snapshots/{id}:id"])
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        response = admin.get(url)
    assert response.status_code == status, response.text


def test_a_before_past_every_audit_id_is_not_a_500(fuzzed_app, shared_world):
    with client(fuzzed_app, "/admin/v1", shared_world.token) as admin:
        response = admin.get("/audit", params={"before": "99999999999999999999"})
    assert response.status_code in (200, 400), response.text


@pytest.mark.parametrize("url", ["/admin/v1/users/a%0Ab", "/scim/v2/Users/a%0Ab"])
def test_a_newline_in_a_path_is_a_json_404(fuzzed_app, shared_world, url):
    with client(fuzzed_app, "", shared_world.token) as api:
        response = api.get(url)
    assert response.status_code == 404
    assert "json" in response.headers["content-type"], response.text
