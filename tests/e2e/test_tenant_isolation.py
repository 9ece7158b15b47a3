"""Tenant isolation over every route: tenant A's credentials on tenant B's ids, names and filters.

The routes are read from the routing tree of ``create_app`` (mounts, routes, methods, path
parameters), so a route added later is called here without anyone listing it: its path
parameters are filled with tenant B's values by what they name (``users/{id}`` a user of B,
``roles/{code}`` a role of B...), and a route this file cannot classify fails
``test_every_route_is_classified``. Only the routes in ``NO_TENANT_DATA`` are exempt from
classification, each with its reason (they are still called and checked).

Tenant B is built once per backend, through the API as a real tenant would be, with data of
every kind: SCIM users and groups with members, admin-made accounts with passwords, grants,
sessions and API keys, the catalog, an identity provider, a provider list and links, a
sign-in flow under way, import jobs, audit events and an account waiting for approval. Each
case is a route, a method and a credential of tenant A (a token of each scope, an admin's
sign-in session, a console session, or none where the request names its tenant); its probes
put B's ids in the path, B's values in filters, query parameters and form fields, and B's ids
in bodies that refer to other objects. For every probe:

1. a request that addresses an object of B by its path is not answered 2xx;
2. no response (body or headers) holds anything of B that the request did not send itself:
   B's tag (in all of B's names, codes and emails), its ids, its opaque strings (hashes,
   sealed secrets, handles), its token ids in audit actors;
3. no response is a 500;

and after the case: every row of B, in every table that holds tenant data, is as it was;
A's rows hold nothing of B but what A sent; ``directory.integrity.check`` finds nothing.
"""

from __future__ import annotations

import html
import io
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import Connection, Engine, create_engine, select
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from directory import catalog, credentials, environment, groups, integrity, tables, tenants, users
from directory.audit import Actor
from scimd.admin.catalog import PATHS as CATALOG_PATHS
from scimd.admin.openapi import OPENAPI
from scimd.admin.views import contact_document
from scimd.app import create_app
from scimd.settings import Settings
from sso import flows
from tests.conftest import TEST_SECRET_KEY
from tests.scimd.accounts import PASSWORD, random_address
from tests.support.spreadsheets import csv_bytes

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ACCOUNT = "urn:scimd:schemas:extension:account:2.0:User"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _settings() -> Settings:
    # The installation default for logins (one active account per login across tenants);
    # B's logins carry B's tag, so no other test's tenant holds them.
    return Settings(
        secret_key=TEST_SECRET_KEY, job_runner=False, shared_logins=False, log_level="warning"
    )


ADMIN_ROLE: str | None = getattr(_settings(), "admin_role", None)


# --- the routes, read from the app -----------------------------------------------------------


@dataclass(frozen=True, order=True)
class Endpoint:
    path: str  # the whole template: "/admin/v1/users/{id}"
    method: str

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)(?::\w+)?\}", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    for route in routes:
        if isinstance(route, Mount) and hasattr(route.app, "routes"):
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Mount):  # an app of its own (static files): every path under it
            yield Endpoint(prefix + route.path + "/{path:path}", "GET")
        elif isinstance(route, Route):
            methods = set(route.methods or {"*"})  # None: every method, which no case knows
            if "GET" in methods:
                methods.discard("HEAD")  # Starlette's HEAD runs the GET endpoint: covered there
            for method in sorted(methods):
                yield Endpoint(prefix + route.path, method)
        else:  # a WebSocketRoute, a Host...: nothing here knows how to call it
            yield Endpoint(prefix + str(getattr(route, "path", route)), type(route).__name__)


def app_endpoints() -> list[Endpoint]:
    engine = create_engine("sqlite://")  # never connected: only the routing tree is read
    try:
        return sorted(set(_walk(create_app(_settings(), engine=engine).routes)))
    finally:
        engine.dispose()


ENDPOINTS = app_endpoints()

# Routes that carry no tenant's data: (method, template) -> (why, the path to call).
NO_TENANT_DATA: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/healthz"): ("liveness of the process and its database; names no tenant", "/healthz"),
    ("GET", "/metrics"): ("process counters by route template and status; no ids", "/metrics"),
    ("GET", "/scim/v2/ServiceProviderConfig"): (
        "SCIM discovery (RFC 7644 §4): the same for every tenant, served without a token",
        "/scim/v2/ServiceProviderConfig",
    ),
    ("GET", "/scim/v2/ResourceTypes"): ("SCIM discovery", "/scim/v2/ResourceTypes"),
    ("GET", "/scim/v2/ResourceTypes/{id}"): (
        "SCIM discovery: {id} names a resource type (User, Group), not a tenant's object",
        "/scim/v2/ResourceTypes/User",
    ),
    ("GET", "/scim/v2/Schemas"): ("SCIM discovery", "/scim/v2/Schemas"),
    ("GET", "/scim/v2/Schemas/{id:path}"): (
        "SCIM discovery: {id} names a schema URN, not a tenant's object",
        f"/scim/v2/Schemas/{USER}",
    ),
    ("GET", "/admin/v1/openapi.json"): (
        "the admin API's static description",
        "/admin/v1/openapi.json",
    ),
    ("GET", "/console/static/{path:path}"): (
        "the console's stylesheet and script, files shipped with scimd",
        "/console/static/console.css",
    ),
}

# How a request names its tenant, by mount.
TOKEN_MOUNTS = ("/scim/v2", "/admin/v1")  # its bearer credential's tenant
NAMED_MOUNTS = ("/auth", "/sso")  # a ``tenant`` parameter, or a secret (challenge, state)
COOKIE_MOUNTS = ("/console",)  # the signed-in admin's sealed session cookie
SESSION = "admin session"  # an A user holding the admin role, with a sign-in session
TOKEN_SCOPES = ("scim", "scim:read", "admin", *((SESSION,) if ADMIN_ROLE else ()))
CONSOLE = "console"
ANONYMOUS = "no token"
# Console routes that need no session (signing in).
CONSOLE_PUBLIC = {"/console/signin"}

# Path parameters: (the collection before it, its name) -> the kind of B's value it takes.
PATH_SOURCES: dict[tuple[str, str], str] = {
    ("Users", "id"): "scim_user_ids",
    ("Groups", "id"): "group_ids",
    ("Me", "rest"): "me_paths",
    ("users", "id"): "user_ids",
    ("sessions", "handle"): "session_handles",
    ("api-keys", "handle"): "api_key_handles",
    ("imports", "id"): "job_ids",
    ("snapshots", "id"): "snapshot_ids",
    ("providers", "name"): "providers",
    ("links", "provider"): "providers",
    ("links", "object_id"): "object_ids",
    ("sso", "provider"): "providers",
    ("import", "job_id"): "job_ids",
    ("users", "handle"): "handles",  # the console's /users/{id}/{kind}/{handle}
    **{(path, "code"): f"catalog:{kind}" for path, kind in CATALOG_PATHS.items()},
}
# Path parameters that name what to do or which format, not an object: every value (None: as
# the admin API's OpenAPI lists them; the console offers the same actions).
VERB_PARAMS: dict[tuple[str, str], list[str] | None] = {
    ("actions", "action"): None,
    ("bulk", "action"): None,
    ("users", "kind"): ["sessions", "api-keys"],
}
EXTENSIONS = ["csv", "xlsx", "jsonl", "json"]  # ``name.{kind}``: a file's format
# Routes where a name of B's in the path names A's own new object (names are per tenant).
UPSERTS = {("PUT", "/admin/v1/sso/providers/{name}"): "provider names are per tenant"}

# Query parameters that carry B's values (sent to every admin and console collection, and
# wherever the OpenAPI documents them), and the documented ones that name nothing.
QUERY_SOURCES = {
    "search": "searches",
    "licence": "catalog:licence",
    "userType": "catalog:user_type",
    "target": "targets",
    "actor": "actors",
    "provider": "providers",
}
NEUTRAL_QUERY = {
    "locked", "blocked", "pendingApproval", "mfaRequired", "mfaEnabled", "sort", "startIndex",
    "count", "columns", "confirm", "dateFormat", "status", "action", "result", "since", "until",
    "before",
}  # fmt: skip

# Tables without tenant_id, and why they hold no tenant's data.
INSTALLATION_TABLES = {
    "sign_in_throttle": "failures per login and client address, counted before a tenant is known",
}


class Unclassified(Exception):
    pass


def _collection(path: str, param: str) -> str:
    before = re.sub(r"\{[^}]*\}", "", path[: path.index("{" + param)])
    parts = [part for part in before.split("/") if part]
    return parts[-1] if parts else ""


def _mount(endpoint: Endpoint) -> str:
    for mount in TOKEN_MOUNTS + NAMED_MOUNTS + COOKIE_MOUNTS:
        if endpoint.path.startswith(mount + "/"):
            return mount
    raise Unclassified(f"{endpoint}: under no mount this test knows how to authenticate to")


def _openapi_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    if not endpoint.path.startswith("/admin/v1/"):
        return []
    item = OPENAPI["paths"].get(endpoint.path.removeprefix("/admin/v1"), {})
    operation = item.get(endpoint.method.lower(), {})
    return [*item.get("parameters", []), *operation.get("parameters", [])]


def _extension(endpoint: Endpoint, param: str) -> bool:
    """Whether the parameter is a file's extension (``users.{kind}``)."""
    return endpoint.path[: endpoint.path.index("{" + param)].endswith(".")


def _verbs(endpoint: Endpoint, param: str) -> list[str]:
    if _extension(endpoint, param):
        return EXTENSIONS
    listed = VERB_PARAMS.get((_collection(endpoint.path, param), param))
    if listed is not None:
        return listed
    # The admin API's route, or the one that ends alike (the console's verbs are the API's).
    tail = "/" + "/".join(endpoint.path.split("/")[-3:])
    for path, item in OPENAPI["paths"].items():
        if endpoint.path == "/admin/v1" + path or path.endswith(tail):
            for parameter in item.get("parameters", []):
                if parameter["name"] == param and parameter["in"] == "path":
                    return list(parameter["schema"]["enum"])
    raise Unclassified(f"{endpoint}: the OpenAPI lists no values of {{{param}}}")


def classify(endpoint: Endpoint) -> dict[str, str]:
    """Each path parameter's source of B's values; ``Unclassified`` when there is none."""
    if (endpoint.method, endpoint.path) in NO_TENANT_DATA:
        return {}
    if endpoint.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise Unclassified(f"{endpoint}: a method this test does not call")
    _mount(endpoint)
    sources = {}
    for param in endpoint.params:
        key = (_collection(endpoint.path, param), param)
        if key in VERB_PARAMS or _extension(endpoint, param):
            _verbs(endpoint, param)
            sources[param] = "verb"
        elif key in PATH_SOURCES:
            sources[param] = PATH_SOURCES[key]
        else:
            raise Unclassified(f"{endpoint}: no value of tenant B for {{{param}}} after {key[0]!r}")
    for parameter in _openapi_parameters(endpoint):
        name = parameter["name"]
        if parameter["in"] == "query" and name not in QUERY_SOURCES and name not in NEUTRAL_QUERY:
            raise Unclassified(f"{endpoint}: query parameter {name!r} is not classified")
    return sources


@dataclass(frozen=True)
class Case:
    endpoint: Endpoint
    scope: str

    def __str__(self) -> str:
        return f"{self.endpoint} [{self.scope}]"

    @property
    def refused_at_the_door(self) -> bool:
        """Whether the authenticator should refuse this credential before any handler runs (a
        SCIM token on the admin API, an admin credential on SCIM, a read-only token's write).
        Such cases share one tenant A per scope, and stop after their first probe (one that
        addresses B's object, where the route has one) when it is refused 401 or 403: the
        authenticator answers every request of the credential alike. Answered otherwise, they
        send every probe, checked as any other case's."""
        path, method = self.endpoint.path, self.endpoint.method
        if path.startswith("/admin/v1/"):
            return self.scope in ("scim", "scim:read")
        if path.startswith("/scim/v2/"):
            writes = method != "GET" and not path.endswith("/.search")
            return self.scope in ("admin", SESSION) or (self.scope == "scim:read" and writes)
        return False


def _cases() -> list[Case]:
    cases = []
    for endpoint in ENDPOINTS:
        if (endpoint.method, endpoint.path) in NO_TENANT_DATA:
            scopes: tuple[str, ...] = ("scim",)  # a token, which they do not need
        elif endpoint.path.startswith(tuple(m + "/" for m in TOKEN_MOUNTS)):
            scopes = TOKEN_SCOPES
        elif endpoint.path.startswith(tuple(m + "/" for m in COOKIE_MOUNTS)):
            scopes = (CONSOLE,)
        else:
            scopes = (ANONYMOUS,)
        cases += [Case(endpoint, scope) for scope in scopes]
    return cases


CASES = _cases()


def test_every_route_is_classified() -> None:
    """A new route fails here until its path parameters name a kind of tenant B's data (or it
    is listed, with its reason, as carrying none)."""
    problems = []
    for endpoint in ENDPOINTS:
        try:
            classify(endpoint)
        except Unclassified as exc:
            problems.append(str(exc))
    served = {(e.method, e.path) for e in ENDPOINTS}
    stale = (set(NO_TENANT_DATA) | set(EXTRAS) | set(UPSERTS)) - served
    problems += [f"{method} {path}: listed here, but not a route" for method, path in sorted(stale)]
    assert not problems, "\n".join(problems)
    assert {e.path.split("/")[1] for e in ENDPOINTS} >= {"scim", "admin", "auth", "sso"}


# --- tenant B ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: str
    user_name: str
    email: str


@dataclass
class TenantB:
    id: int
    name: str
    tag: str
    alice: Person  # admin-made: password, licence, type, roles and groups, a session, a key
    bob: Person  # admin-made, locked
    carol: Person  # SCIM-made, with an externalId
    dave: Person  # imported, with an HR resource
    erin: Person  # self-registered, waiting for approval
    external_id: str
    groups: list[str]
    group_names: list[str]
    codes: dict[str, str]  # catalog kind -> code
    resource: str
    provider: str
    object_ids: list[str]
    snapshot_id: int
    job_ids: list[int]
    session_handles: list[str]
    api_key_handles: list[str]
    token_ids: set[int] = field(default_factory=set)
    markers: list[str] = field(default_factory=list)

    def values(self, source: str) -> list[str]:
        """B's values of one kind (for path and query parameters)."""
        if source.startswith("catalog:"):
            return [self.codes[source.removeprefix("catalog:")]]
        by_source: dict[str, list[str]] = {
            "scim_user_ids": [self.alice.id, self.carol.id, self.erin.id],
            "user_ids": [self.alice.id, self.erin.id],
            "group_ids": self.groups,
            "me_paths": [f"/{self.alice.id}"],
            "session_handles": self.session_handles,
            "handles": self.session_handles + self.api_key_handles,
            "api_key_handles": self.api_key_handles,
            "job_ids": [str(job) for job in self.job_ids],
            "snapshot_ids": [str(self.snapshot_id)],
            "providers": [self.provider],
            "object_ids": self.object_ids,
            "searches": [self.tag, self.alice.id],
            "targets": [f"user:{self.alice.id}"],
            "actors": [f"admin-token:{max(self.token_ids)}"],
        }
        return by_source[source]


def _person(prefix: str, tag: str) -> tuple[str, str]:
    """A userName and an email, both carrying B's tag."""
    return f"{prefix}.{tag}@{tag}.example", f"{prefix}.mail.{tag}@{tag}.example"


class Api:
    """The app over HTTP, in process, for B's set-up: each call checks its status."""

    def __init__(self, http: TestClient, token: str | None) -> None:
        self.http = http
        self.token = token

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if "json" in response.headers.get("content-type", "") else None


def _build_b(engine: Engine, http: TestClient) -> TenantB:
    tag = "zq" + uuid.uuid4().hex[:10]
    name = f"iso-b-{tag}"
    with engine.begin() as conn:
        made = tenants.create_tenant(conn, name)
        scim_token, scim_info = tenants.create_token(conn, made.id)
        admin_token, admin_info = tenants.create_token(conn, made.id, scopes=("admin",))
    admin, scim, anyone = Api(http, admin_token), Api(http, scim_token), Api(http, None)
    a = "/admin/v1"
    admin("PUT", f"{a}/settings", 200, json={"self_registration": True})

    codes = {kind: f"{kind.replace('_', '-')}-{tag}" for kind in CATALOG_PATHS.values()}
    rules: dict[str, dict[str, Any]] = {
        "role": {"licences": [codes["licence"]], "userTypes": [codes["user_type"]]},
        "role_group": {"roles": [codes["role"]]},
        "resource_group": {"department": f"dept-{tag}", "currency": "GBP", "staff": True},
    }
    path_of = {kind: path for path, kind in CATALOG_PATHS.items()}
    first = ["licence", "user_type", "role"]  # what the rules of the others name
    for kind in first + [k for k in CATALOG_PATHS.values() if k not in first]:
        body = {"code": codes[kind], "name": f"{kind} of {tag}", **rules.get(kind, {})}
        admin("POST", f"{a}/{path_of[kind]}", 201, json=body)
    if ADMIN_ROLE:  # B's admins administer B through their own sessions too
        admin("POST", f"{a}/roles", 201, json={"code": ADMIN_ROLE})

    def account(prefix: str, **fields: Any) -> Person:
        user_name, email = _person(prefix, tag)
        body = {"userName": user_name, "email": email, "name": f"{prefix} {tag}", **fields}
        user_id = admin("POST", f"{a}/users", 201, json=body)["id"]
        admin("POST", f"{a}/users/{user_id}/actions/allow-login", 200, json={})
        password = {"password": PASSWORD}
        admin("POST", f"{a}/users/{user_id}/actions/set-password", 200, json=password)
        return Person(user_id, user_name, email)

    roles = [codes["role"], *([ADMIN_ROLE] if ADMIN_ROLE else [])]
    alice = account(
        "alice",
        mobile="+44 7700 900123",
        userType=codes["user_type"],
        accessLicence=codes["licence"],
        roles=roles,
        roleGroups=[codes["role_group"]],
        userGroups=[codes["user_group"]],
        dacGroups=[codes["dac_group"]],
    )
    bob = account("bob")
    admin("POST", f"{a}/users/{bob.id}/actions/lock", 200, json={"reason": f"locked {tag}"})

    carol_name, carol_email = _person("carol", tag)
    external_id = f"ext-{tag}"
    carol_id = scim(
        "POST",
        "/scim/v2/Users",
        201,
        json={
            "schemas": [USER],
            "userName": carol_name,
            "externalId": external_id,
            "displayName": f"Carol {tag}",
            "emails": [{"value": carol_email, "type": "work", "primary": True}],
        },
    )["id"]
    carol = Person(carol_id, carol_name, carol_email)
    group_names = [f"grp-{tag}", f"outer-{tag}"]
    members = [{"value": alice.id}, {"value": carol.id}]
    body = {"schemas": [GROUP], "displayName": group_names[0], "externalId": f"gext-{tag}"}
    inner = scim("POST", "/scim/v2/Groups", 201, json={**body, "members": members})["id"]
    members = [{"value": inner}, {"value": bob.id}]
    body = {"schemas": [GROUP], "displayName": group_names[1], "members": members}
    outer = scim("POST", "/scim/v2/Groups", 201, json=body)["id"]

    # A session and an API key of Alice's.
    login = {"login": alice.user_name, "password": PASSWORD, "tenant": name}
    assert anyone("POST", "/auth/login", 200, json=login)["status"] == "signed_in"
    admin("POST", f"{a}/users/{alice.id}/api-keys", 201, json={"name": f"key-{tag}"})
    sessions = admin("GET", f"{a}/users/{alice.id}/sessions", 200)["sessions"]
    api_keys = admin("GET", f"{a}/users/{alice.id}/api-keys", 200)["api-keys"]

    # An identity provider, a list of its users, links, and a sign-in started at it.
    provider = f"idp-{tag}"
    settings = {"kind": "oidc", "issuer": f"https://idp.{tag}.example",
                "clientId": f"client-{tag}", "clientSecret": f"secret-{tag}"}  # fmt: skip
    admin("PUT", f"{a}/sso/providers/{provider}", 200, json=settings)
    object_ids = [f"oid-{tag}-1", f"oid-{tag}-2"]
    listing = f"email,object_id\n{alice.email},{object_ids[0]}\n{bob.email},{object_ids[1]}\n"
    files = {"file": ("ids.csv", listing.encode(), "text/csv")}
    preview = admin("POST", f"{a}/sso/snapshots", 201, data={"provider": provider}, files=files)
    assert preview["counts"]["match"] == 2, preview
    choices = [
        {"action": "add", "objectId": row["objectId"], "userId": row["userId"]}
        for row in preview["rows"]
    ]
    admin("POST", f"{a}/sso/links/apply", 200, json={"provider": provider, "choices": choices})
    with engine.begin() as conn:
        state = secrets.token_urlsafe(24)  # never sent: B's sign-in, half way
        flow = {"state": state, "nonce": f"nonce-{tag}", "auth_uri": f"https://idp.{tag}.example"}
        flows.save(conn, made.id, provider, flows.SIGN_IN, flow)

    # Import jobs: one that ran, one dry run.
    dave_name, dave_email = _person("dave", tag)
    resource = f"res-{tag}"
    headers = ["Username", "Email", "Description", "Create resource", "Resource",
               "Resource group", "Department", "User groups"]  # fmt: skip
    row = [dave_name, dave_email, f"Dave {tag}", "TRUE", resource, codes["resource_group"],
           f"dept-{tag}", codes["user_group"]]  # fmt: skip
    files = {"file": (f"b-{tag}.csv", csv_bytes(headers, [row]), "text/csv")}
    job = admin("POST", f"{a}/imports", 201, files=files)
    assert job["status"] == "done" and job["report"]["created"] == 1, job
    dry_row = [f"dry.{tag}@{tag}.example", "", "", "", "", "", "", ""]
    files = {"file": (f"dry-{tag}.csv", csv_bytes(headers, [dry_row]), "text/csv")}
    dry = admin("POST", f"{a}/imports", 201, data={"dryRun": "true"}, files=files)
    [found] = admin("GET", f"{a}/users", 200, params={"search": dave_name})["users"]
    dave = Person(found["id"], dave_name, dave_email)

    # Someone waiting for approval.
    erin_name, erin_email = _person("erin", tag)
    body = {"tenant": name, "userName": erin_name, "password": PASSWORD, "email": erin_email,
            "name": f"Erin {tag}"}  # fmt: skip
    registered = anyone("POST", "/auth/register", 201, json=body)
    assert registered["status"] == "pending_approval", registered
    erin = Person(registered["userId"], erin_name, erin_email)

    b = TenantB(
        id=made.id,
        name=name,
        tag=tag,
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        erin=erin,
        external_id=external_id,
        groups=[inner, outer],
        group_names=group_names,
        codes=codes,
        resource=resource,
        provider=provider,
        object_ids=object_ids,
        snapshot_id=preview["snapshotId"],
        job_ids=[job["id"], dry["id"]],
        session_handles=[s["id"] for s in sessions],
        api_key_handles=[k["id"] for k in api_keys],
        token_ids={scim_info.id, admin_info.id},
    )
    b.markers = _markers(engine, b)
    # The detector sees B's data where it is: in B's own export, audit trail and approvals.
    for path in ("/admin/v1/exports/users.xlsx", "/admin/v1/audit", "/admin/v1/approvals"):
        response = http.get(path, headers={"Authorization": f"Bearer {admin_token}"})
        assert response.status_code == 200 and leaks(b, response_text(response), ""), path
    return b


_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _markers(engine: Engine, b: TenantB) -> list[str]:
    """Every string of B's rows that is B's alone, longest first: those with B's tag, B's ids,
    and opaque values (hashes, sealed secrets, states) of digits and letters and no space."""
    with integrity.snapshot(engine) as conn:
        rows = tenant_rows(conn, b.id)
    found = set()
    for text in _strings([[list(row) for row in table] for table in rows.values()]):
        opaque = (
            len(text) >= 24
            and not re.search(r"\s", text)
            and re.search(r"\d", text)
            and re.search(r"[a-zA-Z]", text)
            and not _ISO_MOMENT.match(text)
            and not text.startswith("urn:")
        )
        if b.tag in text or opaque:
            found.add(text.lower())
    found |= {row.id for row in rows["users"]} | {row.id for row in rows["groups"]}
    found |= {row.token_hash[: credentials.HANDLE_LENGTH] for row in rows["credentials"]}
    b.token_ids |= {row.id for row in rows["api_tokens"]}
    return sorted(found, key=len, reverse=True)


# --- what a tenant holds, and what leaked --------------------------------------------------


def tenant_rows(conn: Connection, tenant_id: int) -> dict[str, list[Any]]:
    """Every row of the tenant, table by table, in key order (its tenants row too)."""
    rows = {}
    for table in tables.Base.metadata.sorted_tables:
        if table.name == "tenants":
            query = select(table).where(table.c.id == tenant_id)
        elif "tenant_id" in table.c:
            query = select(table).where(table.c.tenant_id == tenant_id)
        else:
            assert table.name in INSTALLATION_TABLES, f"{table.name}: whose data is it?"
            continue
        rows[table.name] = list(conn.execute(query.order_by(*table.primary_key.columns)))
    return rows


def _differences(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    changed = []
    for name in before:
        gone = [row for row in before[name] if row not in after[name]]
        new = [row for row in after[name] if row not in before[name]]
        if gone or new:
            changed.append(f"{name}: rows before {gone[:3]!r}, after {new[:3]!r}")
    return changed


_ACTORS = re.compile(r"(?:admin|scim)-token:(\d+)")


def leaks(b: TenantB, text: str, sent: str) -> list[str]:
    """What of B is in ``text`` that ``sent`` (the request, as text) did not carry itself."""
    seen, sent = html.unescape(unquote(text)).lower(), sent.lower()  # echoes come encoded too
    for marker in b.markers:  # longest first: an echo is taken out whole
        if marker in sent:
            seen = seen.replace(marker, "")
    found = [marker for marker in b.markers if marker in seen]
    actors = [m[0] for m in _ACTORS.finditer(seen) if int(m[1]) in b.token_ids]
    found += [f"token {actor}" for actor in actors if not re.search(rf"{actor}\b", sent)]
    for echoed in re.findall(rf"[\w.@+-]*{b.tag}[\w.@+-]*", sent):  # e.g. `co "<tag>"`
        seen = seen.replace(echoed, "")
    at = seen.find(b.tag)
    if at >= 0:
        found.append(f"B's tag in ...{seen[max(0, at - 60) : at + 40]}...")
    return found


def response_text(response: Any) -> str:
    headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
    if response.headers.get("content-type", "").startswith(XLSX):
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        cells = [c for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                 for c in row]  # fmt: skip
        book.close()
        return headers + "\n" + json.dumps(cells, default=str, ensure_ascii=False)
    return headers + "\n" + response.text


# --- tenant A ------------------------------------------------------------------------------


@dataclass
class TenantA:
    id: int
    name: str
    bearer: str | None  # what the case's requests carry
    admin_token: str
    session: str  # a sign-in session of A's user (an admin, where ADMIN_ROLE is set)
    user_id: str
    user_name: str
    group_id: str
    csrf: str = ""  # the console session's form token
    pre: str = ""  # the console sign-in form's token


def _make_a(engine: Engine, scope: str) -> TenantA:
    """A fresh tenant A: a user (its admin, where there is an admin role), a group of it,
    self-registration open like B's, and a credential of ``scope``."""
    with engine.begin() as conn:
        made = tenants.create_tenant(conn, f"iso-a-{uuid.uuid4().hex[:10]}")
        admin_token, _ = tenants.create_token(conn, made.id, scopes=("admin",))
        tokens = {"admin": admin_token}
        for token_scope in ("scim", "scim:read"):
            tokens[token_scope], _ = tenants.create_token(conn, made.id, scopes=(token_scope,))
        user_name = f"own-{uuid.uuid4().hex[:8]}@a.example"
        document = contact_document({}, {"userName": user_name})
        user = users.create_user(conn, made.id, document, shared_logins=False)
        group = groups.create_group(
            conn, made.id, {"schemas": [GROUP], "displayName": "A's group"}, {user.id: None}
        )
        environment.put(conn, made.id, environment.Environment(self_registration=True))
        actor = Actor("test", "isolation")
        catalog.put_entry(conn, made.id, "user_group", {"code": "a-group"}, actor)
        catalog.set_grants(conn, made.id, user.id, "user_group", ["a-group"], actor)
        if ADMIN_ROLE:
            catalog.put_entry(conn, made.id, "role", {"code": ADMIN_ROLE}, actor)
            catalog.set_grants(conn, made.id, user.id, "role", [ADMIN_ROLE], actor)
        session, _ = credentials.new(conn, made.id, user.id, "session", timedelta(hours=1), None)
        tokens[SESSION] = session
    bearer = tokens.get(scope) if scope != CONSOLE else None
    return TenantA(made.id, made.name, bearer, admin_token, session, user.id, user_name, group.id)


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found is not None, f"no {name} field in {page[:500]}"
    return found[1]


def _console_sign_in(http: TestClient, a: TenantA, session: bool) -> None:
    """A's console: the sign-in form's token, and (``session``) A's admin signed in."""
    http.cookies.clear()
    a.pre = _hidden(http.get("/console/signin").text, "pre")
    if not session:
        return
    form = {"pre": a.pre, "method": "token", "token": a.admin_token, "next": "/console/users"}
    signed_in = http.post("/console/signin", data=form)
    assert signed_in.status_code == 303, signed_in.text
    a.csrf = _hidden(http.get("/console/users").text, "csrf")


# --- probes ----------------------------------------------------------------------------------


@dataclass
class Probe:
    method: str
    path: str
    refused: bool = False  # it addresses an object of B: any 2xx is a failure
    params: dict[str, str] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any], str | None] | None = None

    def sent(self) -> str:
        """The request as text, to tell B's values it sent from B's values it was answered."""
        files = [
            content.decode("utf-8", "replace") for _, content, _ in (self.files or {}).values()
        ]
        parts = [self.path, self.params, self.json, self.data, files, self.headers]
        return " ".join(json.dumps(part, default=str, ensure_ascii=False) for part in parts)

    def __str__(self) -> str:
        shown = {"params": self.params, "json": self.json, "data": self.data}
        return f"{self.method} {self.path} {json.dumps({k: v for k, v in shown.items() if v})}"


Probes = Callable[[TenantB, TenantA, str], list[Probe]]


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def _a_user(**fields: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": f"new-{uuid.uuid4().hex[:8]}@a.example", **fields}


def _user_filters(b: TenantB) -> list[str]:
    return [
        f'userName eq "{b.alice.user_name}"',
        f'emails.value eq "{b.carol.email}"',
        f'emails co "{b.tag}"',
        f'id eq "{b.alice.id}"',
        f'externalId eq "{b.external_id}"',
        f'groups.value eq "{b.groups[0]}"',
        f'userName co "{b.tag}"',
        f'displayName sw "Carol {b.tag}"',
        f'{ACCOUNT}:accessLicence eq "{b.codes["licence"]}"',
    ]


def _group_filters(b: TenantB) -> list[str]:
    return [
        f'displayName eq "{b.group_names[0]}"',
        f'id eq "{b.groups[1]}"',
        f'members.value eq "{b.alice.id}"',
        f'externalId eq "gext-{b.tag}"',
        f'displayName co "{b.tag}"',
    ]


def _searches(path: str, filters: list[str]) -> list[Probe]:
    return [Probe("POST", path, json={"schemas": [SEARCH], "filter": f}) for f in filters]


def _lists(path: str, filters: list[str]) -> list[Probe]:
    probes = [Probe("GET", path, params={"filter": f}) for f in filters]
    # Every attribute asked for, which takes the listing past the one-row point read.
    wanted = "id,userName,displayName,members,groups,emails"
    probes += [Probe("GET", path, params={"filter": f, "attributes": wanted}) for f in filters[:3]]
    return probes


def _bulk(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    """One bulk request per operation on B's objects (and on A's, naming B's), then all."""

    def add(member: str) -> dict[str, Any]:
        return _patch({"op": "add", "path": "members", "value": [{"value": member}]})

    rename = _patch({"op": "replace", "path": "displayName", "value": "A was here"})
    operations: list[dict[str, Any]] = [
        {"method": "PATCH", "path": f"/Groups/{b.groups[0]}", "data": add(a.user_id)},
        {"method": "PATCH", "path": f"/Users/{b.carol.id}", "data": rename},
        {"method": "PUT", "path": f"/Users/{b.carol.id}", "data": _a_user()},
        {"method": "PUT", "path": f"/Groups/{b.groups[1]}",
         "data": {"schemas": [GROUP], "displayName": "A's now"}},
        {"method": "DELETE", "path": f"/Users/{b.alice.id}"},
        {"method": "DELETE", "path": f"/Groups/{b.groups[0]}"},
        {"method": "PATCH", "path": f"/Groups/{a.group_id}", "data": add(b.alice.id)},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP], "displayName": "a-bulk", "members": [{"value": b.bob.id}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u",
         "data": {"schemas": [USER], "userName": b.alice.user_name}},
    ]  # fmt: skip
    b_ids = [b.alice.id, b.carol.id, *b.groups]

    def none_on_b(response: Any) -> str | None:
        for operation in response.json().get("Operations", []):
            on_b = any(i in operation.get("location", "") for i in b_ids)
            if on_b and str(operation.get("status", "")).startswith("2"):
                return f"a bulk operation on B's object answered {operation}"
        return None

    batches = [[operation] for operation in operations] + [operations]
    return [
        Probe("POST", path, json={"schemas": [BULK], "Operations": batch}, check=none_on_b)
        for batch in batches
    ]


def _import(rows: list[dict[str, str]], **options: str) -> Probe:
    headers = sorted({header for row in rows for header in row})
    data = csv_bytes(headers, [[row.get(h, "") for h in headers] for row in rows])
    files = {"file": ("a.csv", data, "text/csv")}
    return Probe("POST", "/admin/v1/imports", data=options or None, files=files)


def _imports(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    mine = f"imp-{uuid.uuid4().hex[:8]}@a.example"
    codes = {"User roles": b.codes["role"], "User groups": b.codes["user_group"],
             "DAC groups": b.codes["dac_group"], "User licenses": b.codes["licence"]}  # fmt: skip
    resource = {"Create resource": "TRUE", "Resource": b.resource,
                "Resource group": b.codes["resource_group"], "Manager": b.resource}  # fmt: skip
    return [
        _import([{"Username": b.alice.user_name, "Email": b.alice.email}], updateExisting="true"),
        _import([{"Username": b.carol.user_name}], skipErrors="true"),
        _import([{"Username": mine}], copyRolesFrom=b.alice.user_name),
        _import([{"Username": mine, **codes}], skipErrors="true"),
        _import([{"Username": mine, **resource}]),
        _import([{"Username": a.user_name, "Email": b.dave.email}], updateExisting="true"),
    ]


def _sign_in(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    """B's people signing in, with their passwords, to tenant A."""
    logins = (b.alice.user_name, b.alice.email, b.erin.user_name)
    bodies = [{"login": login, "password": PASSWORD, "tenant": a.name} for login in logins]
    bodies[0]["trustedDevice"] = b.session_handles[0]
    return [Probe("POST", path, refused=True, json=body) for body in bodies]


def _guesses(b: TenantB) -> list[str]:
    """What A could put where a secret of B's goes: what A may have seen of B's, or chance."""
    return [*b.session_handles, *b.api_key_handles, b.alice.id, secrets.token_urlsafe(32)]


def _secret(field_name: str, **extra: Any) -> Probes:
    def probes(b: TenantB, a: TenantA, path: str) -> list[Probe]:
        bodies = [{field_name: guess, **extra} for guess in _guesses(b)]
        return [Probe("POST", path, refused=True, json=body) for body in bodies]

    return probes


def _me(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    bearers = [a.admin_token, *_guesses(b)]
    return [
        Probe("GET", path, refused=True, headers={"Authorization": f"Bearer {bearer}"})
        for bearer in bearers
    ]


def _callback(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    states = [secrets.token_urlsafe(24), b.provider, f"nonce-{b.tag}"]
    return [Probe("GET", path, refused=True, params={"state": s, "code": "x"}) for s in states] + [
        Probe("POST", path, refused=True, data={"state": s, "code": "x"}) for s in states
    ]


def _catalog_posts(kind: str) -> Probes:
    def probes(b: TenantB, a: TenantA, path: str) -> list[Probe]:
        bodies: list[dict[str, Any]] = [{"code": b.codes[kind], "name": "A's own, same code"}]
        if kind == "role":
            bodies += [{"code": "a-role", "licences": [b.codes["licence"]]},
                       {"code": "a-role", "userTypes": [b.codes["user_type"]]}]  # fmt: skip
        if kind == "role_group":
            bodies.append({"code": "a-rg", "roles": [b.codes["role"]]})
        return [Probe("POST", path, json=body) for body in bodies]

    return probes


def _console_sign_ins(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    forms: list[dict[str, Any]] = [
        {"method": "password", "login": b.alice.email, "password": PASSWORD, "tenant": a.name}
    ]
    forms += [{"method": "token", "token": guess} for guess in _guesses(b)]
    forms += [{"step": "mfa", "challenge": guess, "code": "123456"} for guess in _guesses(b)]
    next_page = {"next": f"/console/users?search={b.alice.user_name}"}
    return [
        Probe("POST", path, refused=True, data={"pre": a.pre, **next_page, **form})
        for form in forms
    ]


def _provider_lists(b: TenantB, path: str) -> list[Probe]:
    """A provider's list naming B's people and object ids, under B's provider name and A's."""
    listing = f"email,object_id\n{b.alice.email},{b.object_ids[0]}\n{b.bob.user_name},a-2\n"
    files = {"file": ("ids.csv", listing.encode(), "text/csv")}
    return [
        Probe("POST", path, data={"provider": provider}, files=files)
        for provider in (b.provider, "a-idp")
    ]


def _console_form(b: TenantB, a: TenantA) -> dict[str, Any]:
    """Every field a console form takes that can name an object, naming B's (a handler ignores
    the fields it does not know): posted to every console form, so a new one gets it too."""
    choice = {"objectId": "a-oid", "userId": b.alice.id, "email": b.alice.email}
    return {
        "csrf": a.csrf,
        "ids": [b.alice.id, b.erin.id],
        "action": "approve",
        "approve": b.erin.id,
        "reject": b.erin.id,
        "confirm": "yes",
        "add": json.dumps(choice),
        "remove": b.object_ids[0],
        "provider": b.provider,
        "copyRolesFrom": b.alice.user_name,
        "fromUserId": b.alice.id,
        "roles": [b.codes["role"]],
        "userGroups": [b.codes["user_group"]],
        "userType": b.codes["user_type"],
        "accessLicence": b.codes["licence"],
    }


def _console_bulk(b: TenantB, a: TenantA, path: str) -> list[Probe]:
    forms = [
        {"csrf": a.csrf, "action": action, "ids": ids, **confirm}
        for action in ("lock", "unlock", "delete")
        for ids in ([b.alice.id, b.erin.id], [a.user_id, b.bob.id])
        for confirm in ({}, {"confirm": "yes"})
    ]
    return [Probe("POST", path, refused=True, data=form) for form in forms]


# Probes per route beyond the generated ones: B's values in bodies and filters, on A's paths.
EXTRAS: dict[tuple[str, str], Probes] = {
    ("GET", "/scim/v2/Users"): lambda b, a, p: _lists(p, _user_filters(b)),
    ("GET", "/scim/v2/Groups"): lambda b, a, p: _lists(p, _group_filters(b)),
    ("POST", "/scim/v2/Users/.search"): lambda b, a, p: _searches(p, _user_filters(b)),
    ("POST", "/scim/v2/Groups/.search"): lambda b, a, p: _searches(p, _group_filters(b)),
    ("POST", "/scim/v2/.search"): lambda b, a, p: _searches(
        p, _user_filters(b) + _group_filters(b)
    ),
    ("POST", "/scim/v2/Bulk"): _bulk,
    ("POST", "/scim/v2/Users"): lambda b, a, p: [
        Probe("POST", p, json=_a_user(**fields))
        for fields in (
            {"userName": b.alice.user_name},
            {"emails": [{"value": b.alice.email}]},
            {"externalId": b.external_id},
            {
                "schemas": [USER, ACCOUNT],
                ACCOUNT: {
                    "userRoles": [{"value": b.codes["role"]}],
                    "accessLicence": b.codes["licence"],
                },
            },
        )
    ],
    ("PATCH", "/scim/v2/Users/{id}"): lambda b, a, p: [
        Probe("PATCH", f"/scim/v2/Users/{a.user_id}", json=_patch(operation))
        for operation in (
            {"op": "replace", "path": f"{ACCOUNT}:accessLicence", "value": b.codes["licence"]},
            {"op": "add", "path": f"{ACCOUNT}:userRoles", "value": [{"value": b.codes["role"]}]},
            {"op": "replace", "path": "userName", "value": b.carol.user_name},
        )
    ],
    ("POST", "/scim/v2/Groups"): lambda b, a, p: [
        Probe("POST", p, json={"schemas": [GROUP], "displayName": "a", "members": [{"value": m}]})
        for m in (b.alice.id, b.groups[0])
    ],
    ("PUT", "/scim/v2/Groups/{id}"): lambda b, a, p: [
        Probe(
            "PUT",
            f"/scim/v2/Groups/{a.group_id}",
            json={"schemas": [GROUP], "displayName": "a", "members": [{"value": b.alice.id}]},
        ),
    ],
    ("PATCH", "/scim/v2/Groups/{id}"): lambda b, a, p: [
        Probe("PATCH", f"/scim/v2/Groups/{a.group_id}", json=_patch(operation))
        for operation in (
            {"op": "add", "path": "members", "value": [{"value": b.alice.id}]},
            {"op": "add", "path": "members", "value": [{"value": b.groups[0]}]},
            {"op": "replace", "path": "members", "value": [{"value": b.bob.id}]},
            {"op": "replace", "value": {"members": [{"value": b.carol.id}]}},
            {"op": "remove", "path": f'members[value eq "{b.alice.id}"]'},
            {"op": "replace", "path": f'members[value eq "{b.alice.id}"].display', "value": "x"},
        )
    ],
    ("POST", "/admin/v1/users"): lambda b, a, p: [
        Probe("POST", p, json={"userName": f"n-{uuid.uuid4().hex[:8]}@a.example", **fields})
        for fields in (
            {"roles": [b.codes["role"]]},
            {"roleGroups": [b.codes["role_group"]]},
            {"userGroups": [b.codes["user_group"]], "dacGroups": [b.codes["dac_group"]]},
            {"userType": b.codes["user_type"]},
            {"accessLicence": b.codes["licence"]},
            {"email": b.alice.email},
            {"userName": b.carol.user_name},
        )
    ],
    ("PATCH", "/admin/v1/users/{id}"): lambda b, a, p: (
        [
            Probe("PATCH", f"/admin/v1/users/{user}", refused=True, json=fields)
            for user in (b.alice.id, b.erin.id)
            for fields in ({"userGroups": ["a-group"]}, {"mfaRequired": True}, {"active": False})
        ]
        + [
            Probe("PATCH", f"/admin/v1/users/{a.user_id}", json=fields)
            for fields in (
                {"roles": [b.codes["role"]]},
                {"userGroups": [b.codes["user_group"]]},
                {"accessLicence": b.codes["licence"]},
                {"userName": b.alice.user_name},
                {"email": b.carol.email},
            )
        ]
    ),
    ("POST", "/admin/v1/users/{id}/actions/{action}"): lambda b, a, p: [
        Probe("POST", f"/admin/v1/users/{a.user_id}/actions/copy-access", json={"fromUserId": f})
        for f in (b.alice.id, b.dave.id)
    ],
    ("POST", "/admin/v1/users/bulk/{action}"): lambda b, a, p: [
        Probe(
            "POST", p.replace("{action}", action), refused=True, json={"ids": ids, "confirm": True}
        )
        for action in _verbs(Endpoint(p, "POST"), "action")
        for ids in ([b.alice.id, b.erin.id], [a.user_id, b.bob.id])
    ],
    ("POST", "/admin/v1/imports"): _imports,
    ("POST", "/admin/v1/sso/snapshots"): lambda b, a, p: _provider_lists(b, p),
    ("POST", "/admin/v1/sso/links/apply"): lambda b, a, p: [
        Probe("POST", p, json={"provider": b.provider, "choices": [choice]})
        for choice in (
            {"action": "remove", "objectId": b.object_ids[0]},
            {"action": "add", "objectId": "a-oid", "userId": b.alice.id},
            {"action": "add", "objectId": b.object_ids[1], "userId": a.user_id},
        )
    ],
    ("POST", "/auth/login"): _sign_in,
    ("POST", "/auth/register"): lambda b, a, p: [
        Probe("POST", p, json={"tenant": a.name, "password": PASSWORD, **fields})
        for fields in (
            {"userName": b.alice.user_name},
            {"userName": f"r-{uuid.uuid4().hex[:8]}@a.example", "email": b.erin.email},
        )
    ],
    ("POST", "/auth/mfa"): _secret("challenge", code="123456"),
    ("POST", "/auth/password"): _secret("challenge", newPassword="Another-horse-9-stapler"),
    ("POST", "/auth/reset"): _secret("token", newPassword="Another-horse-9-stapler"),
    ("GET", "/auth/me"): _me,
    ("GET", "/sso/azure/callback"): _callback,
    ("GET", "/sso/{provider}/callback"): _callback,
    ("POST", "/console/signin"): _console_sign_ins,
    ("POST", "/console/users/bulk"): _console_bulk,
    **{("POST", f"/admin/v1/{path}"): _catalog_posts(kind) for path, kind in CATALOG_PATHS.items()},
}


def _default(endpoint: Endpoint, a: TenantA, values: dict[str, str]) -> dict[str, Any]:
    """A plausible request of A's to the route, past validation to where it finds its object."""
    key = (endpoint.method, endpoint.path)
    actions: dict[str | None, dict[str, Any]] = {
        "set-password": {"password": "Another-horse-9-stapler"},
        "copy-access": {"fromUserId": a.user_id},
        "auto-reset-password": {"mode": "mail-link"},
        "lock": {"reason": "A"},
        "block-login": {"reason": "A"},
    }
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/scim/v2/Users"): _a_user(),
        ("PUT", "/scim/v2/Users/{id}"): _a_user(),
        ("PATCH", "/scim/v2/Users/{id}"): _patch(
            {"op": "replace", "path": "displayName", "value": "A was here"},
            {"op": "replace", "path": "active", "value": False},
        ),
        ("POST", "/scim/v2/Groups"): {"schemas": [GROUP], "displayName": "a group"},
        ("PUT", "/scim/v2/Groups/{id}"): {
            "schemas": [GROUP], "displayName": "A's now", "members": [{"value": a.user_id}]},
        ("PATCH", "/scim/v2/Groups/{id}"): _patch(
            {"op": "add", "path": "members", "value": [{"value": a.user_id}]},
            {"op": "remove", "path": "members"},
            {"op": "replace", "path": "displayName", "value": "A was here"},
        ),
        ("POST", "/scim/v2/Bulk"): {"schemas": [BULK], "Operations": []},
        ("POST", "/admin/v1/users"): {"userName": f"own-{uuid.uuid4().hex[:8]}@a.example"},
        ("PATCH", "/admin/v1/users/{id}"): {"name": "A was here", "mfaRequired": True},
        ("POST", "/admin/v1/users/{id}/actions/{action}"): actions.get(values.get("action"), {}),
        ("POST", "/admin/v1/users/bulk/{action}"): {"ids": [a.user_id], "confirm": True},
        ("POST", "/admin/v1/users/{id}/api-keys"): {"name": "A's key"},
        ("PUT", "/admin/v1/settings"): {"self_registration": True},
        ("PUT", "/admin/v1/sso/providers/{name}"): {
            "kind": "oidc", "issuer": "https://idp.a.example", "clientId": "a-client"},
        ("POST", "/admin/v1/sso/links/apply"): {
            "provider": "a-idp",
            "choices": [{"action": "add", "objectId": "a-1", "userId": a.user_id}]},
        ("POST", "/auth/login"): {"login": a.user_name, "password": PASSWORD, "tenant": a.name},
        ("POST", "/auth/register"): {
            "tenant": a.name, "userName": f"reg-{uuid.uuid4().hex[:8]}@a.example",
            "password": PASSWORD},
    }  # fmt: skip
    if key == ("POST", "/admin/v1/imports"):
        rows = [[f"own-{uuid.uuid4().hex[:8]}@a.example"]]
        return {"files": {"file": ("a.csv", csv_bytes(["Username"], rows), "text/csv")}}
    if key == ("POST", "/admin/v1/sso/snapshots"):
        listing = f"email,object_id\n{a.user_name},a-1\n".encode()
        return {"data": {"provider": "a-idp"}, "files": {"file": ("a.csv", listing, "text/csv")}}
    if key == ("DELETE", "/admin/v1/users/{id}"):
        return {"params": {"confirm": "true"}}
    if endpoint.path.startswith(COOKIE_MOUNTS):  # forms, with the session's token
        return {"data": {"csrf": a.csrf, "pre": a.pre}} if endpoint.method != "GET" else {}
    if endpoint.path.startswith(NAMED_MOUNTS):  # the tenant named is A
        if endpoint.method == "GET":
            return {"params": {"tenant": a.name}}
        return {"json": bodies.get(key, {"tenant": a.name})}
    if endpoint.method in ("POST", "PUT", "PATCH"):
        return {"json": bodies.get(key, {"schemas": [SEARCH]} if "search" in key[1] else {})}
    return {}


def _query_probes(endpoint: Endpoint, b: TenantB) -> list[Probe]:
    """B's values in each query parameter that carries data, one at a time: on every admin and
    console collection (a new list route gets them too: unknown parameters are ignored), and
    wherever the OpenAPI documents one."""
    names = set()
    if endpoint.path.startswith(("/admin/v1/", *COOKIE_MOUNTS)) and not endpoint.params:
        names = set(QUERY_SOURCES)
    for parameter in _openapi_parameters(endpoint):
        if parameter["in"] == "query" and parameter["name"] in QUERY_SOURCES:
            names.add(parameter["name"])
    return [
        Probe(endpoint.method, endpoint.path, params={name: value})
        for name in sorted(names)
        for value in b.values(QUERY_SOURCES[name])
    ]


def probes_for(endpoint: Endpoint, b: TenantB, a: TenantA, *, every: bool = True) -> list[Probe]:
    """The route's probes: its path with B's values (each combination), then (``every``) B's
    values in bodies, filters and query parameters."""
    exempt = NO_TENANT_DATA.get((endpoint.method, endpoint.path))
    if exempt is not None:
        return [Probe(endpoint.method, exempt[1])]
    sources = classify(endpoint)
    choices = {
        param: _verbs(endpoint, param) if source == "verb" else b.values(source)
        for param, source in sources.items()
    }
    addresses_b = any(source != "verb" for source in sources.values())
    refused = addresses_b and (endpoint.method, endpoint.path) not in UPSERTS
    probes = []
    for combination in product(*choices.values()):
        values = dict(zip(choices, combination, strict=True))
        path = endpoint.path
        for param, value in values.items():
            path = re.sub(r"\{" + param + r"(:\w+)?\}", value, path)
        probes.append(Probe(endpoint.method, path, refused, **_default(endpoint, a, values)))
    if endpoint.path.startswith(COOKIE_MOUNTS) and endpoint.method == "POST":
        probes.append(Probe("POST", probes[0].path, refused, data=_console_form(b, a)))
    if not every:
        return probes
    extras = EXTRAS.get((endpoint.method, endpoint.path))
    if extras is not None:
        probes += extras(b, a, endpoint.path)
    if endpoint.method == "GET":
        probes += _query_probes(endpoint, b)
    return probes


# --- the test ------------------------------------------------------------------------------


@dataclass
class World:
    engine: Engine
    http: TestClient
    b: TenantB
    b_rows: dict[str, list[Any]]  # B as built: every case must leave it so
    shared: dict[str, TenantA] = field(default_factory=dict)

    def tenant_a(self, case: Case) -> TenantA:
        """A fresh tenant A for the case, or the scope's shared one for a case the
        authenticator refuses at the door."""
        if case.refused_at_the_door:
            if case.scope not in self.shared:
                self.shared[case.scope] = _make_a(self.engine, case.scope)
            return self.shared[case.scope]
        a = _make_a(self.engine, case.scope)
        if case.scope == CONSOLE:
            _console_sign_in(self.http, a, case.endpoint.path not in CONSOLE_PUBLIC)
        return a


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    """Tenant B, built once per backend, and the app that A's requests go to."""
    app = create_app(_settings(), engine=engine)
    address = random_address()  # sign-in throttling counts per address: one of its own
    with TestClient(
        app, base_url="http://testserver", client=(address, 50000), follow_redirects=False
    ) as http:
        b = _build_b(engine, http)
        with integrity.snapshot(engine) as conn:
            assert integrity.check(conn, b.id) == []
            rows = tenant_rows(conn, b.id)
        yield World(engine, http, b, rows)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_tenant_a_reads_and_changes_nothing_of_tenant_b(world: World, case: Case) -> None:
    b = world.b
    if case.scope != CONSOLE:
        world.http.cookies.clear()
    a = world.tenant_a(case)
    try:
        # An admin's session is only another way to name A: once the authenticator has taken
        # it for A (B's objects in the path tell), the handlers are the admin token's.
        probes = probes_for(case.endpoint, b, a, every=case.scope != SESSION)
    except Unclassified as exc:
        pytest.fail(str(exc))
    problems: list[str] = []
    sent: list[str] = []
    reached = wrote = False
    for number, probe in enumerate(probes):
        if number == 1 and case.refused_at_the_door and not reached:
            break  # refused before any handler ran, as is every request of this credential
        headers = dict(probe.headers)
        if a.bearer is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {a.bearer}"
        response = world.http.request(
            probe.method,
            probe.path,
            params=probe.params,
            json=probe.json,
            data=probe.data,
            files=probe.files,
            headers=headers,
        )
        sent.append(probe.sent())
        status = response.status_code
        reached |= status not in (401, 403)
        # Sign-in refusals commit their bookkeeping; elsewhere a refused write leaves nothing.
        named = not case.endpoint.path.startswith(TOKEN_MOUNTS)
        wrote |= named or (probe.method != "GET" and status < 400)
        if status == 500:
            problems.append(f"{probe}: 500 {response.text[:300]}")
        if probe.refused and 200 <= status < 300:
            problems.append(f"{probe}: {status} for an object of tenant B: {response.text[:300]}")
        found = leaks(b, response_text(response), probe.sent())
        if found:
            problems.append(f"{probe}: {status} answers B's {found[:5]}: {response.text[:500]}")
        if probe.check is not None and 200 <= status < 300:
            failed = probe.check(response)
            if failed:
                problems.append(f"{probe}: {failed}")
    with integrity.snapshot(world.engine) as conn:
        after = tenant_rows(conn, b.id)
        changes = _differences(world.b_rows, after)
        if changes:  # reported by this case only: the next ones compare with B as it is now
            problems += [f"B changed: {change}" for change in changes]
            problems += [f"B's integrity: {p}" for p in integrity.check(conn, b.id)]
            world.b_rows = after
        if reached:  # a refusal at the door reads and writes nothing of A's
            copied = leaks(b, json.dumps(tenant_rows(conn, a.id), default=str), " ".join(sent))
            problems += [f"A's rows hold B's {copied[:5]}"] if copied else []
        if wrote:
            problems += [f"A's integrity: {p}" for p in integrity.check(conn, a.id)]
    assert probes, "no probe was sent"
    assert not problems, "\n".join(problems)
