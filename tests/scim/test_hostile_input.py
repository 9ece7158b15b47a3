"""Hostile input over HTTP, property-based (hypothesis), on both backends.

Properties, whatever a client sends:

1. JSON bodies POSTed, PUT or PATCHed to /Users and /Groups never get a 5xx;
   every 4xx is SCIM Error JSON, and a 4xx leaves the tenant's store (and the
   target resource, ``meta.version`` included) unchanged.
2. Filters: never a 5xx; an invalid one is 400 invalidFilter; a valid one is a
   consistent ListResponse. For grammar-generated filters, the ids scimd
   returns are those scim2-models' ``ScimFilter.match`` selects in Python.
3. Raw bodies (invalid UTF-8, truncated or deeply nested JSON, oversized
   bodies, non-JSON media types) are a quick 4xx SCIM Error.
4. Grammar-generated PATCH documents never get a 5xx, and a 4xx changes nothing.

The properties are fed everything, the inputs of the bugs they found included;
each of those bugs also has a minimal regression test at the end of the file.
The differential leaves out only the comparisons where scimd and scim2-models
are known to part ways (``difference``): on purpose (D8-D10, D13...), each
pinned by a test of scimd's choice, or not settled yet (``OPEN_DIFFERENCES``,
strict xfail). ``SCIMD_HOSTILE_SCALE=10`` runs ten times as many examples.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import (
    HealthCheck,
    currently_in_test_context,
    example,
    given,
    settings,
)
from hypothesis import event as hypothesis_event
from hypothesis import note as hypothesis_note
from hypothesis import strategies as st
from scim2_models import EnterpriseUser, InvalidFilterException, ScimFilter, User
from sqlalchemy import Engine, text

from tests.scim.helpers import (
    ENTERPRISE,
    ERROR,
    GROUP_SCHEMA,
    LIST,
    PATCH_OP,
    USER_SCHEMA,
    group,
    patch,
    unique,
    user,
)

USER_MODEL: Any = User[EnterpriseUser]
SCALE = int(os.environ.get("SCIMD_HOSTILE_SCALE", "1"))
SCIM_JSON = {"content-type": "application/scim+json"}
MAX_SECONDS = 2.0


def examples(n: int, **more: Any) -> settings:
    return settings(
        **more,
        max_examples=n * SCALE,
        deadline=None,
        database=None,
        derandomize=SCALE == 1,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def note(text_: str) -> None:
    if currently_in_test_context():  # the helpers also serve plain tests
        hypothesis_note(text_)


def event(text_: str) -> None:
    if currently_in_test_context():
        hypothesis_event(text_)


# --- JSON values ---------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def has_surrogate(s: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in s)


# --- checking responses ----------------------------------------------------------


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_error(caplog: pytest.LogCaptureFixture) -> str:
    """The last exception the SCIM layer logged: its last product frames and its message."""
    for record in reversed(caplog.records):
        if record.name == "scimd.scim" and record.exc_info:
            exc = record.exc_info[1]
            frames = [
                f"{os.path.relpath(frame.filename, REPO)}:{frame.lineno} {frame.name}: {frame.line}"
                for frame in traceback.extract_tb(record.exc_info[2])
                if frame.filename.startswith(REPO) and "/.venv/" not in frame.filename
            ]
            message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return "\n".join([*frames[-3:], message[:600]])
    return "(no server exception logged)"


def check(response: Any, caplog: pytest.LogCaptureFixture) -> int:
    """Never a 5xx; a 4xx is SCIM Error JSON with ``status`` the HTTP status as a string."""
    status: int = response.status_code
    assert status < 500, f"{status} {response.text[:300]}\n{server_error(caplog)}"
    if status >= 400:
        assert response.headers["content-type"].startswith("application/scim+json"), (
            response.headers
        )
        body = response.json()
        assert body["schemas"] == [ERROR], body
        assert body["status"] == str(status), body
        assert isinstance(body.get("detail", ""), str), body
    return status


def store(engine: Engine, tenant_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the tenant owns in the directory's tables."""
    snapshot = {}
    with engine.connect() as conn:
        for table in ("users", "groups", "memberships", "user_emails"):
            rows = conn.execute(
                text(f"SELECT * FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
            ).all()
            snapshot[table] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def send_json(scim: Any, method: str, url: str, body: Any, **headers: str) -> Any:
    """``body`` as ASCII JSON, so that lone surrogates travel as ``\\ud800`` escapes."""
    content = json.dumps(body, ensure_ascii=True).encode()
    return scim.request(method, url, content=content, headers={**SCIM_JSON, **headers})


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """Put the ids of real resources where a strategy left ``@user`` / ``@group``."""
    if isinstance(value, str):
        for token, id in ids.items():
            value = value.replace(token, id)
        return value
    if isinstance(value, dict):
        return {substitute(k, ids): substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    return value


# --- strategies: JSON ------------------------------------------------------------


def case_variants(s: str) -> st.SearchStrategy[str]:
    return st.sampled_from([s, s.lower(), s.upper(), s.swapcase()])


TRICKY_STRINGS = [
    "",
    " ",
    "@user",
    "@group",
    "null",
    "true",
    "2011-05-13T04:42:34Z",
    "x" * 257,
    "x" * 321,
    "ß" * 200,
    "e\u0301",
    "\u202egnp.exe",
    "🙂",
    "ǅ",
    "%_\\",
    '"',
    "'; DROP TABLE users; --",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "İ" * 200,
]
KNOWN_KEYS = [
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "nickName",
    "title",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "addresses",
    "groups",
    "roles",
    "x509Certificates",
    "members",
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "givenName",
    "department",
    "manager",
    ENTERPRISE,
    USER_SCHEMA,
    GROUP_SCHEMA,
    f"{ENTERPRISE}:department",
    "name.givenName",
]

# Any text, lone surrogates included (they travel as \ud800 escapes).
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)
strings = st.one_of(
    st.text(max_size=12), st.text(max_size=12), st.sampled_from(TRICKY_STRINGS), any_text
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS).flatmap(case_variants), st.text(max_size=8))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=12,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A well-typed value three times out of four, otherwise any JSON."""
    return st.one_of(good, good, good, json_values)


entry = st.fixed_dictionaries(
    {},
    optional={
        "value": mostly(strings),
        "type": mostly(st.sampled_from(["work", "home", "other", "WORK"])),
        "primary": mostly(st.booleans()),
        "display": mostly(strings),
    },
)
entries = mostly(st.lists(entry, max_size=3) | entry)  # a lone object, OneLogin style
user_schemas = st.one_of(
    st.just([USER_SCHEMA]),
    st.just([USER_SCHEMA, ENTERPRISE]),
    st.lists(st.sampled_from([USER_SCHEMA, ENTERPRISE, "urn:x:unknown"]).flatmap(case_variants)),
    json_values,
)
user_shapes = st.fixed_dictionaries(
    {"schemas": user_schemas, "userName": mostly(strings)},
    optional={
        "id": mostly(strings),
        "externalId": mostly(strings),
        "displayName": mostly(strings),
        "nickName": mostly(strings),
        "title": mostly(strings),
        "active": mostly(st.sampled_from([True, False, "true", "False", "yes", 1, 0])),
        "name": mostly(
            st.fixed_dictionaries({}, optional={"givenName": strings, "familyName": strings})
        ),
        "emails": entries,
        "phoneNumbers": entries,
        "addresses": entries,
        "groups": mostly(st.lists(st.fixed_dictionaries({"value": st.just("@group")}))),
        "roles": entries,
        "password": mostly(strings),
        "meta": json_values,
        "profileUrl": mostly(strings),
        ENTERPRISE: mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "department": mostly(strings),
                    "employeeNumber": mostly(strings),
                    "manager": mostly(
                        st.fixed_dictionaries(
                            {"value": st.just("@user")},
                            optional={"$ref": st.just("https://example.com/Users/@user")},
                        )
                    ),
                },
            )
        ),
    },
)
members = mostly(
    st.lists(
        st.fixed_dictionaries(
            {"value": st.one_of(st.sampled_from(["@user", "@group"]), strings)},
            optional={
                "type": mostly(st.sampled_from(["User", "Group", "user"])),
                "display": mostly(strings),
                "$ref": mostly(strings),
            },
        ),
        max_size=3,
    )
)
group_shapes = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([GROUP_SCHEMA]), user_schemas),
        "displayName": mostly(strings),
    },
    optional={"members": members, "externalId": mostly(strings), "id": mostly(strings)},
)
BODIES = {
    "Users": st.one_of(json_values, user_shapes, user_shapes, user_shapes),
    "Groups": st.one_of(json_values, group_shapes, group_shapes, group_shapes),
}


# --- property 1: JSON bodies ------------------------------------------------------


@pytest.fixture
def targets(scim) -> dict[str, str]:
    """A user and a group (the user a member) to PUT/PATCH, as ``@user``/``@group`` ids."""
    user_id = scim.post("/Users", json=user(displayName="Target")).json()["id"]
    group_id = scim.post("/Groups", json=group(unique("g"), user_id)).json()["id"]
    return {"@user": user_id, "@group": group_id}


def _write(scim, engine, tenant, targets, caplog, method, endpoint, body, **headers) -> int:
    """Send ``body``; check no 5xx, SCIM errors, and that a 4xx changed nothing."""
    caplog.clear()
    body = substitute(body, targets)
    target = targets["@user" if endpoint == "Users" else "@group"]
    url = f"/{endpoint}" if method == "POST" else f"/{endpoint}/{target}"
    note(f"{method} {url} {json.dumps(body, ensure_ascii=True)[:3000]}")
    before = store(engine, tenant.id)
    resource_before = scim.get(f"/{endpoint}/{target}").json()
    response = send_json(scim, method, url, body, **headers)
    status = check(response, caplog)
    event(f"{status} {response.json().get('scimType', '') if status >= 400 else ''}".strip())
    if status >= 400:
        assert store(engine, tenant.id) == before, response.text
        assert scim.get(f"/{endpoint}/{target}").json() == resource_before, response.text
    elif method != "POST":
        assert response.json() == scim.get(f"/{endpoint}/{target}").json()
    return status


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@examples(40)
@given(data=st.data())
def test_json_bodies_never_5xx_and_4xx_changes_nothing(
    scim, engine, tenant, targets, caplog, method, endpoint, data
):
    body = data.draw(BODIES[endpoint], label="body")
    _write(scim, engine, tenant, targets, caplog, method, endpoint, body)


# --- property 2: filters ------------------------------------------------------------

FILTER_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
CORE_USER_PATHS = [
    "id",
    "externalId",
    "userName",
    "displayName",
    "nickName",
    "title",
    "userType",
    "locale",
    "profileUrl",
    "active",
    "password",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "emails.display",
    "phoneNumbers",
    "phoneNumbers.value",
    "phoneNumbers.type",
    "addresses.locality",
    "addresses.type",
    "groups",
    "groups.value",
    "groups.display",
    "roles.value",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "meta.version",
    "meta.location",
]
ENTERPRISE_PATHS = ["department", "employeeNumber", "manager.value", "manager.displayName"]
USER_PATHS = [
    *CORE_USER_PATHS,
    *(f"{USER_SCHEMA}:{path}" for path in ("userName", "name.givenName", "emails.value")),
    *(f"{ENTERPRISE}:{path}" for path in ENTERPRISE_PATHS),
    "department",  # an extension attribute without its URN
    "unknownAttr",
    "name.unknown",
]
SUB_ATTRIBUTES = {
    "emails": ["value", "type", "primary", "display"],
    "phoneNumbers": ["value", "type", "primary"],
    "addresses": ["type", "locality", "primary"],
    "groups": ["value", "display", "type"],
    "roles": ["value", "primary"],
}
ODD_DATES = [
    "2020-01-01",
    "2020-01-01T00:00:00",
    "2020-01-01T00:00:00+05:00",
    "2020-01-01T00:00:00.123456789Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "20200101T000000Z",
    "2020-02-30T00:00:00Z",
]


def literal(value: Any) -> st.SearchStrategy[str]:
    """A filter literal for ``value``: JSON, with ASCII or raw strings, any-case keywords."""
    if isinstance(value, bool) or value is None:
        return case_variants(json.dumps(value))
    if isinstance(value, str) and not has_surrogate(value):
        return st.sampled_from([json.dumps(value), json.dumps(value, ensure_ascii=False)])
    return st.just(json.dumps(value))


def filter_values(pool: list[Any]) -> st.SearchStrategy[str]:
    values = st.one_of(
        st.sampled_from(pool).flatmap(
            lambda v: case_variants(v) if isinstance(v, str) else st.just(v)
        ),
        st.sampled_from(pool),
        st.sampled_from(ODD_DATES),
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    )
    return values.flatmap(literal)


# Where scimd and scim2-models' in-memory evaluator part ways, by the comparison
# (``path op literal``, or ``path pr``) that makes them. On purpose, each pinned by
# a test below: D8-D10, D13, text no backend can store, and the leniency of an
# extension attribute without its URN. Not settled, with a strict xfail test:
# meta.location (its value depends on the URL the client used).
UNKNOWN_PATHS = {"unknownattr", "name.unknown"}  # D10
DATETIME_PATHS = {"meta.created", "meta.lastmodified"}  # D8
BOOLEAN_PATHS = {"active", "primary", *(f"{a}.primary" for a in SUB_ATTRIBUTES)}
NULL_OPS = {"eq", "ne"}  # D9: the only operators scimd takes null with
WITHOUT_URN = {"department"}  # the enterprise extension's, read without its URN
UNFILTERABLE_META = {"meta.location"}  # depends on the base URL the request used


def _value(literal_: str) -> Any:
    try:
        keyword = literal_.lower() in ("true", "false", "null")
        return json.loads(literal_.lower() if keyword else literal_)
    except ValueError:
        return ...  # not JSON: refused by both


def _datetime(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        return moment and moment.astimezone(UTC)  # out of range once in UTC: an error
    except (ValueError, OverflowError):
        return None


def ill_typed(path: str, op: str, value: Any) -> bool:
    """D13: a value or an operator the attribute's type does not take."""
    if path in BOOLEAN_PATHS:
        return op not in NULL_OPS or not isinstance(value, bool)
    if path in DATETIME_PATHS:
        return op in ("co", "sw", "ew") or _datetime(value) is None
    return not isinstance(value, str)


def difference(path: str, op: str | None = None, literal_: str | None = None) -> str | None:
    """Which known difference ``path op literal`` (``path pr`` when no op) falls in."""
    with_urn = path.lower().startswith("urn:")
    path = path.rpartition(":")[2].lower() if with_urn else path.lower()
    if path in UNKNOWN_PATHS:
        return "D10"
    if path in WITHOUT_URN and not with_urn:
        return "without its URN"
    if path in UNFILTERABLE_META:
        return "D3"
    if op is None or literal_ is None:
        return None
    op, value = op.lower(), _value(literal_)
    if value is None:
        return None if op in NULL_OPS else "D9"
    if value is ...:
        return None
    if isinstance(value, str) and ("\x00" in value or has_surrogate(value)):
        return "unstorable"  # 400 invalidFilter, as a body holding it is 400 invalidValue
    if path in DATETIME_PATHS and isinstance(value, str) and naive_datetime(value):
        return "D8"
    return "D13" if ill_typed(path, op, value) else None


def naive_datetime(value: str) -> bool:
    """A dateTime without an offset (``2020-01-01``, ``2020-01-01T00:00:00``)."""
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def grammar_filters(pool: list[Any], *, agreeing: bool = False) -> st.SearchStrategy[str]:
    """Filters from the RFC 7644 grammar over the User schema, values from ``pool``.

    ``agreeing``: without the comparisons where scimd and scim2-models are known
    to part ways (``difference``).
    """
    value = filter_values(pool)
    op = st.sampled_from(FILTER_OPS).flatmap(case_variants)

    def atoms(paths: list[str]) -> st.SearchStrategy[str]:
        path = st.sampled_from(paths).flatmap(case_variants)
        triples = st.tuples(path, op, value)
        if agreeing:
            path = path.filter(lambda p: difference(p) is None)
            triples = triples.filter(lambda t: difference(*t) is None)
        comparison = triples.map(" ".join)
        return st.one_of(comparison, comparison, path.map(lambda p: f"{p} pr"))

    def logic(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, st.sampled_from(["and", "or", "AND", "Or"]), children).map(
                " ".join
            ),
            children.map(lambda f: f"not ({f})"),
            children.map(lambda f: f"({f})"),
        )

    value_path = st.sampled_from(sorted(SUB_ATTRIBUTES)).flatmap(
        lambda attr: st.recursive(atoms(SUB_ATTRIBUTES[attr]), logic, max_leaves=2).map(
            lambda inner: f"{attr}[{inner}]"
        )
    )
    return st.recursive(st.one_of(atoms(USER_PATHS), value_path), logic, max_leaves=4)


FILTER_TOKENS = [
    "userName",
    "emails",
    "emails.value",
    "name.givenName",
    "meta.created",
    f"{ENTERPRISE}:department",
    "urn:",
    "[",
    "]",
    "(",
    ")",
    ".",
    ":",
    "and",
    "or",
    "not",
    "eq",
    "co",
    "pr",
    "gt",
    '"x"',
    '"',
    "\\",
    '"\\u00e9"',
    "'x'",
    "true",
    "null",
    "1.5e3",
    "-0",
    "1e999",
    " ",
    "\t",
]
random_filters = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(FILTER_TOKENS), min_size=1, max_size=8).map(" ".join),
    st.lists(st.sampled_from(FILTER_TOKENS), min_size=1, max_size=8).map("".join),
)


class People:
    """The users of ``people``, and filters over them (a short repr for hypothesis' reports)."""

    def __init__(self, ids: dict[str, str], resources: list[Any], pool: list[Any]):
        self.ids, self.resources = ids, resources
        self.filters = grammar_filters(pool)  # the whole grammar
        self.comparable = grammar_filters(pool, agreeing=True)  # but known differences
        self.focused = focused_filters(pool)  # values that select some users
        self.models = [USER_MODEL.model_validate(resource) for resource in resources]
        self.names = {id: name for name, id in ids.items()}

    def __repr__(self) -> str:
        return "people"


@pytest.fixture
def people(scim) -> People:
    """Five users that differ in case, presence, types and dates, and a group."""
    bodies = {
        "ann": user(
            "Ann.Lee@Example.com",
            externalId="EXT-Ann",
            displayName="Ann Lee",
            nickName="annie",
            title="CTO",
            active=True,
            name={"givenName": "Ann", "familyName": "Lee"},
            emails=[
                {
                    "value": "Ann@Corp.example",
                    "type": "work",
                    "primary": True,
                    "display": "Ann at work",
                },
                {"value": "ann@home.example", "type": "home"},
            ],
            phoneNumbers=[{"value": "+1 555 0100", "type": "work"}],
            addresses=[{"locality": "Paris", "type": "work"}],
            roles=[{"value": "admin"}],
            **{ENTERPRISE: {"department": "Sales", "employeeNumber": "001"}},
        ),
        "bob": user(
            "bob",
            externalId="ext-ann",
            displayName="BOB RAY",
            active=False,
            emails=[{"value": "bob@corp.example", "type": "WORK", "primary": False}],
            **{
                ENTERPRISE: {
                    "department": "sales",
                    "manager": {"value": "ann", "$ref": "https://example.com/Users/ann"},
                }
            },
        ),
        "cat": user("cat"),
        "dan": user(
            "Straße",
            displayName="STRASSE ß",
            title="Ünïcödé",
            name={"givenName": "É"},
            emails=[{"value": "dan@corp.example"}],
        ),
        "eve": user("eve", nickName="ANNIE", title="", locale="fr-FR"),
    }
    made = {key: scim.post("/Users", json=body) for key, body in bodies.items()}
    assert all(response.status_code == 201 for response in made.values()), made
    ids = {key: response.json()["id"] for key, response in made.items()}
    group_id = scim.post("/Groups", json=group("Admins", ids["ann"], ids["bob"])).json()["id"]
    resources = [scim.get(f"/Users/{id}").json() for id in ids.values()]
    created = [r["meta"]["created"] for r in resources]
    pool: list[Any] = [
        *(s for body in bodies.values() for s in _strings(body) if not s.startswith("urn:")),
        *ids.values(),
        group_id,
        "Admins",
        "User",
        "direct",
        'W/"1"',
        "ann",
        "lee",
        "corp.example",
        "strasse",
        "ss",
        "ß",
        "",
        *created,
        "2000-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
    ]
    pool = sorted(set(pool), key=repr)
    return People(ids, resources, pool)


def _list(scim, caplog, filter_text: str) -> Any:
    caplog.clear()
    note(f"filter={filter_text!r}")
    response = scim.get("/Users", params={"filter": filter_text, "count": "1000"})
    status = check(response, caplog)
    body = response.json()
    if status == 200:
        assert body["schemas"] == [LIST], body
        assert body["totalResults"] == len(body["Resources"]), body
        event("200")
    else:
        assert status == 400 and body.get("scimType") == "invalidFilter", body
        event("400 invalidFilter")
    return response


@examples(150)
@given(filter_text=random_filters)
@example("active pr")  # were 500s on PostgreSQL before the filter rewrite
@example("meta.created pr")
@example('meta.created co "2020-01-01"')
@example('userName eq "\\ud800"')  # were 500s (lone surrogate, NUL, out of range in UTC)
@example('title co "\\u0000"')
@example('meta.created gt "0001-01-01T00:00:00+01:00"')
@example("(" * 60 + 'userName eq "x"' + ")" * 60)
@example('userName eq "' + "x" * 20_000 + '"')
def test_random_filters_are_a_list_or_400_invalid_filter(scim, people, caplog, filter_text):
    _list(scim, caplog, filter_text)


@examples(150)
@given(data=st.data())
def test_grammar_filters_are_a_list_or_400_invalid_filter(scim, people, caplog, data):
    filter_text = data.draw(people.filters, label="filter")
    _list(scim, caplog, filter_text)


def python_match(people: People, filter_text: str) -> set[str] | None:
    """The users scim2-models' ``ScimFilter.match`` selects; None when it refuses the filter."""
    try:
        parsed = ScimFilter[USER_MODEL](filter_text)
    except (ValueError, TypeError, InvalidFilterException):
        return None
    return {people.names[str(model.id)] for model in people.models if parsed.match(model)}


def server_match(scim, people: People, caplog, filter_text: str) -> set[str] | None:
    """The users scimd returns; None when it answers 400 invalidFilter."""
    response = _list(scim, caplog, filter_text)
    if response.status_code != 200:
        return None
    return {people.names[resource["id"]] for resource in response.json()["Resources"]}


FOCUSED_SINGLE_VALUED = [
    "userName",
    "displayName",
    "nickName",
    "title",
    "locale",
    "name.givenName",
    "name.familyName",
    "meta.resourceType",
    f"{USER_SCHEMA}:userName",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:employeeNumber",
]
FOCUSED_CASE_EXACT = ["id", "externalId", f"{ENTERPRISE}:manager.value"]
FOCUSED_MULTI_VALUED = [
    "emails",
    "emails.value",
    "emails.type",
    "emails.display",
    "phoneNumbers.value",
    "phoneNumbers.type",
    "addresses.locality",
    "roles.value",
    "groups.display",
]
FOCUSED_BOOLEANS = ["active", "emails.primary"]
FOCUSED_VALUE_FILTERS = {
    "emails": ["value", "type", "display", "primary"],
    "phoneNumbers": ["value", "type"],
    "addresses": ["locality", "type"],
    "groups": ["display"],
}


def focused_filters(pool: list[Any]) -> st.SearchStrategy[str]:
    """Well-typed filters whose values come from the users, so that they select some.

    Every operator a type takes, ``eq``/``ne null`` and booleans included, on
    single- and multi-valued attributes, caseExact ones and value filters.
    """
    text_values = sorted({v for v in pool if isinstance(v, str) and v}, key=repr)
    string = st.sampled_from(text_values).flatmap(case_variants).flatmap(literal)
    boolean = st.booleans().flatmap(literal)
    null = case_variants("null")
    op = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
    op = op.flatmap(case_variants)
    eq_ne = st.sampled_from(["eq", "ne", "EQ", "Ne"])
    strings_ = st.sampled_from(
        [*FOCUSED_SINGLE_VALUED, *FOCUSED_CASE_EXACT, *FOCUSED_MULTI_VALUED]
    ).flatmap(case_variants)
    booleans = st.sampled_from(FOCUSED_BOOLEANS).flatmap(case_variants)
    any_path = st.one_of(strings_, booleans)

    def element_filter(attr: str) -> st.SearchStrategy[str]:
        sub = st.sampled_from([s for s in FOCUSED_VALUE_FILTERS[attr] if s != "primary"])
        atom = st.one_of(
            st.tuples(sub, op, string).map(" ".join),
            st.tuples(st.sampled_from(FOCUSED_VALUE_FILTERS[attr]), eq_ne, null).map(" ".join),
            st.sampled_from(FOCUSED_VALUE_FILTERS[attr]).map(lambda name: f"{name} pr"),
        )
        if "primary" in FOCUSED_VALUE_FILTERS[attr]:
            atom = st.one_of(atom, boolean.map(lambda b: f"primary eq {b}"))
        inner = st.recursive(
            atom,
            lambda c: st.one_of(
                st.tuples(c, st.sampled_from(["and", "or"]), c).map(" ".join),
                c.map(lambda f: f"not ({f})"),
            ),
            max_leaves=2,
        )
        return inner.map(lambda f: f"{attr}[{f}]")

    comparison = st.tuples(strings_, op, string).filter(lambda t: difference(*t) is None)
    atoms = st.one_of(
        comparison.map(" ".join),
        comparison.map(" ".join),
        st.tuples(booleans, eq_ne, boolean).map(" ".join),
        st.tuples(any_path, eq_ne, null).filter(lambda t: difference(*t) is None).map(" ".join),
        any_path.map(lambda path: f"{path} pr"),
        st.sampled_from(sorted(FOCUSED_VALUE_FILTERS)).flatmap(element_filter),
    )

    def logic(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, st.sampled_from(["and", "or", "AND"]), children).map(" ".join),
            children.map(lambda f: f"not ({f})"),
            children.map(lambda f: f"({f})"),
        )

    return st.recursive(atoms, logic, max_leaves=4)


def _names(matched: set[str] | None) -> str:
    return "400 invalidFilter" if matched is None else str(sorted(matched))


def _differential(scim, people, caplog, filter_text: str) -> None:
    expected = python_match(people, filter_text)
    actual = server_match(scim, people, caplog, filter_text)
    if expected is None and actual is not None:
        # scim2-models checks values against the bound model (an emails.value
        # must be an address); scimd parses unbound on purpose (partial values).
        event("scim2-models refuses, scimd answers: not compared")
        return
    event("refused by both" if expected is None else f"{len(expected)} match")
    assert actual == expected, (
        f"{filter_text!r}: scimd {_names(actual)}, scim2-models {_names(expected)}"
    )


@examples(120)
@given(data=st.data())
def test_grammar_filters_select_what_scim2_models_selects(scim, people, caplog, data):
    """Differential, over well-typed filters that select some of the users."""
    _differential(scim, people, caplog, data.draw(people.focused, label="filter"))


@examples(60)
@given(data=st.data())
def test_all_grammar_filters_select_what_scim2_models_selects(scim, people, caplog, data):
    """Differential, over the whole grammar but its known differences (``difference``)."""
    _differential(scim, people, caplog, data.draw(people.comparable, label="filter"))


# Minimal filters on which scimd once disagreed with scim2-models' ScimFilter.match,
# over the users of ``people`` (ann, bob, cat, dan, eve): the users both select.
# Not listed, on purpose: scimd's leniencies (`department eq "Sales"` without
# the extension URN, `manager eq "id"` for manager.value, values scim2-models
# refuses for a bound model such as a partial emails.value).
AGREEMENTS = {
    # co/sw/ew on a caseExact attribute are case-sensitive (SQLite's LIKE folds ASCII).
    "like-keeps-caseExact": ('externalId sw "EXT-Ann"', {"ann"}),
    "like-keeps-caseExact-lower": ('externalId co "ann"', {"bob"}),
    # Document attributes fold all of Unicode on SQLite too (its lower() is ASCII-only).
    "unicode-folding": ('name.givenName eq "é"', {"dan"}),
    "unicode-folding-title": ('title sw "ÜNÏ"', {"dan"}),
    "meta-resourceType": ('meta.resourceType eq "User"', {"ann", "bob", "cat", "dan", "eve"}),
    "multi-valued-eq-null": ("emails eq null", {"cat", "eve"}),
    "multi-valued-ne-null": ("emails ne null", {"ann", "bob", "dan"}),
    # An absent `active` / `emails.primary` stays absent: neither true nor false.
    "active-eq-null": ("active eq null", {"cat", "dan", "eve"}),
    "active-eq-true": ("active eq true", {"ann"}),
    "active-ne-false": ("active ne false", {"ann", "cat", "dan", "eve"}),
    "absent-primary": ("emails.primary eq false", {"bob"}),
    "absent-primary-pr": ("emails.primary pr", {"ann", "bob"}),
    # `ne` on a multi-valued attribute: no value equals (not "some value differs").
    "ne-on-multi-valued": ('emails.value ne "Ann@Corp.example"', {"bob", "cat", "dan", "eve"}),
    # Email sub-attributes the side table lacks are read from the document.
    "emails-display": ("emails.display pr", {"ann"}),
    "emails-display-value-filter": ('emails[display co "WORK"]', {"ann"}),
}


def test_filters_scimd_and_scim2_models_once_disagreed_on(scim, people, caplog):
    wrong = []
    for case, (filter_text, names) in AGREEMENTS.items():
        expected = python_match(people, filter_text)
        actual = server_match(scim, people, caplog, filter_text)
        if not actual == expected == names:
            wrong.append(
                f"{case}: {filter_text!r}: scimd {_names(actual)}, scim2-models "
                f"{_names(expected)}, meant {_names(names)}"
            )
    assert not wrong, "\n".join(wrong)


# --- filters: where scimd departs from scim2-models ------------------------------------


def _invalid_filter(response: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert check(response, caplog) == 400, response.text
    assert response.json()["scimType"] == "invalidFilter", response.text


def test_d8_a_date_only_or_offset_less_datetime_is_read_as_utc(scim, people, caplog):
    # D8: scim2-models compares it with the offset-aware meta.created and matches nothing.
    created = people.resources[0]["meta"]["created"]
    assert created.endswith("Z"), created
    day, naive = created[:10], created.removesuffix("Z")
    assert server_match(scim, people, caplog, f'meta.created ge "{day}"') == set(people.ids)
    assert server_match(scim, people, caplog, f'meta.lastModified lt "{day}"') == set()
    for naive_value, utc_value in [(day, f"{day}T00:00:00Z"), (naive, created)]:
        for op in ("eq", "gt", "ge", "lt", "le"):
            assert server_match(
                scim, people, caplog, f'meta.created {op} "{naive_value}"'
            ) == server_match(scim, people, caplog, f'meta.created {op} "{utc_value}"'), op
    assert "ann" in server_match(scim, people, caplog, f'meta.created eq "{naive}"')


@pytest.mark.parametrize("path", ["userName", "emails.value", "title", "active"])
def test_d9_null_with_an_ordering_or_substring_operator_is_400(scim, caplog, path):
    # D9: scim2-models lets the comparison match nothing; null is only defined for eq/ne.
    for op in ("co", "sw", "ew", "gt", "ge", "lt", "le"):
        _invalid_filter(scim.get("/Users", params={"filter": f"{path} {op} null"}), caplog)
        _invalid_filter(scim.get("/Groups", params={"filter": f"members[value {op} null]"}), caplog)


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@pytest.mark.parametrize(
    "filter_text", ["unknownAttr pr", 'name.unknown eq "x"', 'urn:x:unknown:attr eq "x"']
)
def test_d10_an_unknown_attribute_is_400_on_a_resource_endpoint(
    scim, caplog, endpoint, filter_text
):
    # D10: scim2-models evaluates an unknown attribute to false; one type's endpoint says so.
    _invalid_filter(scim.get(f"/{endpoint}", params={"filter": filter_text}), caplog)
    _invalid_filter(scim.post(f"/{endpoint}/.search", json={"filter": filter_text}), caplog)


def _root_search(scim, caplog, filter_text: str) -> list[tuple[str, str]]:
    response = scim.post("/.search", json={"filter": filter_text, "count": 1000})
    assert check(response, caplog) == 200, response.text
    body = response.json()
    assert body["totalResults"] == len(body["Resources"]), body
    return sorted((r["meta"]["resourceType"], r["id"]) for r in body["Resources"])


def test_d10_at_root_search_an_attribute_a_type_lacks_matches_none_of_it(scim, people, caplog):
    # D10: several types at once (RFC 7644 §3.4.3): what one type lacks is false for it.
    group_id = scim.get("/Groups").json()["Resources"][0]["id"]
    assert _root_search(scim, caplog, 'userName eq "BOB"') == [("User", people.ids["bob"])]
    assert _root_search(scim, caplog, "members pr") == [("Group", group_id)]
    assert _root_search(scim, caplog, 'displayName eq "admins"') == [("Group", group_id)]
    assert _root_search(scim, caplog, "unknownAttr pr") == []
    assert _root_search(scim, caplog, f'{ENTERPRISE}:department eq "sales"') == sorted(
        [("User", people.ids["ann"]), ("User", people.ids["bob"])]
    )


def test_root_search_for_a_user_name_returns_the_user_and_no_error_for_groups(scim, caplog):
    scim.post("/Groups", json=group("x"))
    id = scim.post("/Users", json=user("x")).json()["id"]
    scim.post("/Users", json=user("y"))
    assert _root_search(scim, caplog, 'userName eq "x"') == [("User", id)]


@pytest.mark.parametrize(
    "filter_text",
    [
        "userName co 0",
        "title sw 1.5",
        "id ew false",
        "emails.value co true",
        "emails[type eq 1] or userName pr",
        'active eq "yes"',
        "active gt true",
        "emails.primary co true",
        'meta.created co "2020"',
        'meta.created gt "ann"',
        "meta.lastModified eq 5",
    ],
)
def test_d13_a_value_or_operator_the_attribute_type_does_not_take_is_400(scim, caplog, filter_text):
    # D13: scim2-models refuses some of these (`userName eq 1`), evaluates the rest to false.
    _invalid_filter(scim.get("/Users", params={"filter": filter_text}), caplog)


def test_an_enterprise_attribute_without_its_urn_is_read_as_the_extension_s(scim, people, caplog):
    # A leniency: scim2-models reads a bare `department` as a core attribute: no match.
    for filter_text in ('department eq "SALES"', "department pr", 'not (department sw "s")'):
        with_urn = filter_text.replace("department", f"{ENTERPRISE}:department")
        expected = {"ann", "bob"} if "not" not in filter_text else {"cat", "dan", "eve"}
        assert server_match(scim, people, caplog, with_urn) == expected
        assert server_match(scim, people, caplog, filter_text) == expected


# Differences not settled: scimd and scim2-models disagree, and neither reading is
# pinned yet. Each is left out of the differential grammars (``difference``).
# Filter -> what scimd selects today, what scim2-models selects.
OPEN_DIFFERENCES = {
    # meta.location is the URL the client reached the resource at; scimd does not
    # store it, so `meta.location` filters match nothing.
    'meta.location co "/Users/"': "[], everyone",
}

# Settled since they were found (D3, D12, D14): scimd and scim2-models agree.
SETTLED_DIFFERENCES = [
    "meta.version pr",
    "meta.version eq null",
    'meta.resourceType eq "user"',
    'meta.resourceType eq "User"',
    'meta.resourceType gt "active"',
    "emails.primary eq null",
    "emails.primary ne null",
    "title eq null",
    "title ne null",
]


@pytest.mark.parametrize("filter_text", SETTLED_DIFFERENCES)
def test_settled_difference(scim, people, caplog, filter_text):
    expected = python_match(people, filter_text)
    assert server_match(scim, people, caplog, filter_text) == expected


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="not settled: OPEN_DIFFERENCES")
@pytest.mark.parametrize("filter_text", OPEN_DIFFERENCES)
def test_open_difference(scim, people, caplog, filter_text):
    expected = python_match(people, filter_text)
    actual = server_match(scim, people, caplog, filter_text)
    assert actual == expected, f"scimd {_names(actual)}, scim2-models {_names(expected)}"


# --- property 3: raw bodies ----------------------------------------------------------

ELEVEN_MB = 11 * 1024 * 1024
_USER_PREFIX = b'{"schemas":["' + USER_SCHEMA.encode() + b'"],"userName":"raw",'
RAW_BODIES = {
    "empty": (b"", "application/scim+json"),
    "invalid utf-8": (b'{"userName": "\xff\xfe"}', "application/scim+json"),
    "lone continuation bytes": (b"\x80\x80\x80", "application/scim+json"),
    "latin-1 declared utf-8": ('{"userName": "é"}'.encode("latin-1"), "application/json"),
    "truncated object": (_USER_PREFIX, "application/scim+json"),
    "truncated string": (b'{"userName": "abc', "application/scim+json"),
    "trailing garbage": (b'{"userName": "a"} x', "application/scim+json"),
    "NaN literal": (_USER_PREFIX + b'"title": NaN}', "application/scim+json"),
    "huge exponent": (_USER_PREFIX + b'"title": 1e999999}', "application/scim+json"),
    "5000-digit integer": (_USER_PREFIX + b'"title": ' + b"9" * 5000 + b"}", "application/json"),
    "utf-16 with BOM": ('{"userName": "u16"}'.encode("utf-16"), "application/scim+json"),
    "json null": (b"null", "application/scim+json"),
    "json string": (b'"Users"', "application/scim+json"),
    "depth 100000 arrays": (b"[" * 100_000, "application/scim+json"),
    "depth 100000 objects": (b'{"a":' * 100_000, "application/scim+json"),
    "depth 5000 closed arrays": (b"[" * 5000 + b"]" * 5000, "application/scim+json"),
    "depth 5000 in an attribute": (
        _USER_PREFIX + b'"title":' + b"[" * 5000 + b"]" * 5000 + b"}",
        "application/scim+json",
    ),
    "11 MB": (_USER_PREFIX + b'"title":"' + b"a" * ELEVEN_MB + b'"}', "application/scim+json"),
    "text/plain": (b'{"userName": "x"}', "text/plain"),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="userName"\r\n\r\nx\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "form": (b"userName=x", "application/x-www-form-urlencoded"),
    "xml": (b"<User><userName>x</userName></User>", "application/xml"),
    "garbage media type": (b'{"userName": "x"}', ";;;/"),
}
# JSON Python reads (1e999999 -> inf), or a media type read as absent: a
# .search ignores unknown keys, a user may be created.
MAY_SUCCEED = {"utf-16 with BOM", "huge exponent", "garbage media type"}
# Refused while the JSON is read, whatever the endpoint makes of it.
INVALID_SYNTAX = {
    name
    for name in RAW_BODIES
    if name.startswith(("depth", "truncated", "invalid", "lone", "latin"))
    or name in ("empty", "trailing garbage", "NaN literal", "5000-digit integer")
}


def _raw_targets(scim) -> dict[str, str]:
    user_id = scim.post("/Users", json=user()).json()["id"]
    return {
        "POST /Users": "/Users",
        "POST /Groups": "/Groups",
        "POST /Users/.search": "/Users/.search",
        "PUT /Users/{id}": f"/Users/{user_id}",
        "PATCH /Users/{id}": f"/Users/{user_id}",
    }


@pytest.mark.parametrize("name", RAW_BODIES)
def test_raw_bodies_are_a_quick_4xx_scim_error(scim, engine, tenant, caplog, name):
    content, content_type = RAW_BODIES[name]
    failures = []
    for label, url in _raw_targets(scim).items():
        caplog.clear()
        before = store(engine, tenant.id)
        started = time.monotonic()
        response = scim.request(
            label.split()[0], url, content=content, headers={"content-type": content_type}
        )
        elapsed = time.monotonic() - started
        try:
            status = check(response, caplog)
            if name not in MAY_SUCCEED:
                assert 400 <= status < 500, f"{status} {response.text[:200]}"
                assert store(engine, tenant.id) == before
            if name in INVALID_SYNTAX:
                assert status == 400, response.text[:200]
                assert response.json().get("scimType") == "invalidSyntax", response.text[:200]
            assert elapsed < MAX_SECONDS, f"took {elapsed:.2f}s"
        except AssertionError as exc:
            failures.append(f"{label}: {exc}")
    assert not failures, "\n".join(failures)


def test_an_11_mb_body_without_content_length_is_413(scim, caplog):
    """Chunked upload: no Content-Length for the early check, the read is what is bounded."""
    chunk = b"a" * (1024 * 1024)
    body = iter([_USER_PREFIX + b'"title":"', *([chunk] * 11), b'"}'])
    started = time.monotonic()
    response = scim.post("/Users", content=body, headers=SCIM_JSON)
    assert check(response, caplog) == 413, response.text
    assert time.monotonic() - started < MAX_SECONDS


@examples(60)
@given(content=st.binary(max_size=200))
def test_random_bytes_never_5xx(scim, caplog, content):
    caplog.clear()
    note(repr(content))
    response = scim.post("/Users", content=content, headers=SCIM_JSON)
    check(response, caplog)


# --- property 4: PATCH documents from a grammar ----------------------------------------

PATCH_FILTERS = [
    'type eq "work"',
    'TYPE EQ "WORK"',
    'value co "@"',
    "primary eq true",
    'type eq "work" and primary eq true',
    'not (type eq "home")',
    'value eq "nobody"',
    "value pr",
]
USER_PATCH_PATHS = [
    "userName",
    "displayName",
    "nickName",
    "title",
    "active",
    "externalId",
    "name",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "phoneNumbers",
    "addresses",
    "roles",
    "groups",
    "members",
    "password",
    "id",
    "meta",
    "meta.version",
    "schemas",
    "locale",
    "profileUrl",
    "x509Certificates",
    ENTERPRISE,
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{USER_SCHEMA}:userName",
    f"{USER_SCHEMA}:name.givenName",
    "urn:x:unknown:attr",
    "unknownAttr",
    "name.unknown",
]
GROUP_PATCH_PATHS = [
    "displayName",
    "externalId",
    "members",
    "members.value",
    "members.display",
    'members[value eq "@user"]',
    'members[value eq "@user"].display',
    'members[value eq "@group"]',
    'members[value eq "nobody"]',
    'members[type eq "User"]',
    "id",
    "meta",
    "schemas",
    f"{GROUP_SCHEMA}:displayName",
    f"{GROUP_SCHEMA}:members",
    "userName",
    "unknownAttr",
]
BROKEN_PATHS = [
    "",
    " ",
    ".",
    "emails[",
    "emails]",
    "emails[type eq]",
    'emails[type eq "work"][0]',
    "name..givenName",
    "urn:",
    ":",
    "[]",
    'emails[type eq "work"].value.x',
    "emails.value.x",
    '"userName"',
]


def _filtered_paths() -> st.SearchStrategy[str]:
    return st.builds(
        lambda attr, inner, sub: f"{attr}[{inner}]{sub}",
        st.sampled_from(["emails", "phoneNumbers", "addresses", "roles"]),
        st.sampled_from(PATCH_FILTERS),
        st.sampled_from(["", ".value", ".type", ".primary", ".display", ".locality", ".nope"]),
    )


PATCH_PATHS = {
    "Users": st.one_of(
        st.sampled_from(USER_PATCH_PATHS).flatmap(case_variants),
        st.sampled_from(USER_PATCH_PATHS),
        _filtered_paths(),
        st.sampled_from(BROKEN_PATHS),
    ),
    "Groups": st.one_of(
        st.sampled_from(GROUP_PATCH_PATHS).flatmap(case_variants),
        st.sampled_from(GROUP_PATCH_PATHS),
        st.sampled_from(BROKEN_PATHS),
    ),
}
PATHLESS_KEYS = [
    "displayName",
    "nickName",
    "active",
    "title",
    "name.givenName",
    "name.familyName",
    "emails",
    'emails[type eq "work"].value',
    "externalId",
    "members",
    "userName",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:manager",
    ENTERPRISE,
    f"{USER_SCHEMA}:nickName",
    f"{GROUP_SCHEMA}:displayName",
    "urn:x:unknown:attr",
    "a.b.c",
    "meta.version",
    "id",
]
patch_values = st.one_of(
    strings,
    st.booleans(),
    st.sampled_from(["True", "false", "@user", "@group", "Sales", "work"]),
    entries,
    members,
    st.fixed_dictionaries({}, optional={"givenName": strings, "familyName": strings}),
    st.dictionaries(
        st.sampled_from(PATHLESS_KEYS).flatmap(case_variants),
        st.one_of(strings, st.booleans(), members, entries, json_values),
        max_size=4,
    ),
    json_values,
)
valid_ops = st.sampled_from(["add", "replace", "remove"]).flatmap(case_variants)
ops = st.one_of(
    valid_ops,
    valid_ops,
    valid_ops,
    st.sampled_from(["move", "copy", "test", "", " add", "delete"]),
    json_values,
)


def _operation(endpoint: str) -> st.SearchStrategy[dict[str, Any]]:
    key = case_variants
    return st.builds(
        lambda op_key, op, path, value: {
            op_key: op,
            **({path[0]: path[1]} if path else {}),
            **({value[0]: value[1]} if value else {}),
        },
        st.one_of(st.just("op"), key("op")),
        ops,
        st.one_of(st.none(), st.tuples(st.sampled_from(["path", "Path"]), PATCH_PATHS[endpoint])),
        st.one_of(st.none(), st.tuples(st.sampled_from(["value", "Value"]), patch_values)),
    )


def patch_documents(endpoint: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda schemas, operations_key, operations: {
            "schemas": schemas,
            operations_key: operations,
        },
        st.one_of(*[st.just([PATCH_OP])] * 3, st.just([PATCH_OP.lower()]), json_values),
        st.sampled_from(["Operations", "operations", "OPERATIONS"]),
        st.one_of(*[st.lists(_operation(endpoint), max_size=3)] * 3, json_values),
    )


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@examples(120)
@given(data=st.data())
def test_grammar_patches_never_5xx_and_4xx_changes_nothing(
    scim, engine, tenant, targets, caplog, endpoint, data
):
    document = data.draw(patch_documents(endpoint), label="patch")
    target = targets["@user" if endpoint == "Users" else "@group"]
    version = scim.get(f"/{endpoint}/{target}").headers["etag"]
    if_match = data.draw(st.sampled_from([None, version, 'W/"999"', "*", "garbage"]), "If-Match")
    headers = {"If-Match": if_match} if if_match else {}
    _write(scim, engine, tenant, targets, caplog, "PATCH", endpoint, document, **headers)


# --- regressions: the bugs the properties found, minimised ---------------------------
# Each was a 500 (a lone surrogate on SQLite could also store a user that no later
# response could render); each is now an answer that leaves the store as it was.


def _refused(scim, engine, tenant, caplog, method, url, body, scim_type: str) -> Any:
    before = store(engine, tenant.id)
    response = send_json(scim, method, url, body)
    assert check(response, caplog) == 400, response.text
    assert response.json().get("scimType") == scim_type, response.text
    assert store(engine, tenant.id) == before
    assert scim.get("/Users").status_code == 200  # the tenant can still list its users
    return response


def _user_with(attribute: str, value: str) -> dict[str, Any]:
    if attribute == "userName":
        return user(value)
    if attribute == "key":
        return {**user(), value: "x"}
    if attribute == "department":
        return user(**{ENTERPRISE: {"department": value}})
    return user(**{attribute: value})


# Text no backend can store: not UTF-8 encodable, or refused by PostgreSQL's text/jsonb.
UNSTORABLE = {"lone surrogate": "\ud800", "lone low surrogate": "x\udfffy", "NUL": "a\x00b"}


@pytest.mark.parametrize("text_", UNSTORABLE.values(), ids=list(UNSTORABLE))
@pytest.mark.parametrize("attribute", ["userName", "title", "department", "key"])
def test_lone_surrogate_or_nul_in_a_user_is_400_and_stores_nothing(
    scim, engine, tenant, caplog, attribute, text_
):
    body = _user_with(attribute, text_)
    _refused(scim, engine, tenant, caplog, "POST", "/Users", body, "invalidValue")


@pytest.mark.parametrize("text_", UNSTORABLE.values(), ids=list(UNSTORABLE))
def test_lone_surrogate_or_nul_in_a_group_is_400_and_stores_nothing(
    scim, engine, tenant, caplog, text_
):
    id = scim.post("/Users", json=user()).json()["id"]
    body = {**group(text_), "members": [{"value": id, "display": text_}]}
    _refused(scim, engine, tenant, caplog, "POST", "/Groups", body, "invalidValue")


@pytest.mark.parametrize("text_", UNSTORABLE.values(), ids=list(UNSTORABLE))
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_lone_surrogate_or_nul_in_an_update_is_400_and_changes_nothing(
    scim, engine, tenant, caplog, method, text_
):
    id = scim.post("/Users", json=user()).json()["id"]
    before = scim.get(f"/Users/{id}").json()
    if method == "PUT":
        body = user(before["userName"], title=text_)
    else:
        body = patch({"op": "replace", "path": "title", "value": text_})
    _refused(scim, engine, tenant, caplog, method, f"/Users/{id}", body, "invalidValue")
    assert scim.get(f"/Users/{id}").json() == before


@pytest.mark.parametrize("escape", ["\\ud800", "x\\udfffy", "\\u0000"])
@pytest.mark.parametrize(
    "filter_text", ['userName eq "{}"', 'title co "{}"', 'emails[value sw "{}"]']
)
def test_lone_surrogate_or_nul_in_a_filter_is_400_invalid_filter(scim, caplog, filter_text, escape):
    filter_text = filter_text.replace("{}", escape)
    _invalid_filter(scim.get("/Users", params={"filter": filter_text}), caplog)
    _invalid_filter(send_json(scim, "POST", "/.search", {"filter": filter_text}), caplog)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/Users", user("İ" * 129)),
        ("/Users", user(displayName="İ" * 129)),
        ("/Groups", group("İ" * 129)),
    ],
    ids=["userName", "displayName", "group displayName"],
)
def test_a_name_that_outgrows_its_column_once_lower_cased_is_400_and_stores_nothing(
    scim, engine, tenant, caplog, endpoint, body
):
    # 129 "İ" pass the 256-character check; lower-cased ("i̇", two characters) they do not.
    _refused(scim, engine, tenant, caplog, "POST", endpoint, body, "invalidValue")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [("/Users", user("İ" * 128)), ("/Groups", group("İ" * 128))],
    ids=["userName", "group displayName"],
)
def test_a_name_that_fills_its_column_once_lower_cased_is_stored(scim, caplog, endpoint, body):
    response = scim.post(endpoint, json=body)
    assert check(response, caplog) == 201, response.text
    name = "userName" if endpoint == "/Users" else "displayName"
    found = scim.get(endpoint, params={"filter": f'{name} eq "{"i̇" * 128}"'}).json()
    assert [r["id"] for r in found["Resources"]] == [response.json()["id"]]


# JSON nested past the recursion limit (was a RecursionError, a 500): 400
# invalidSyntax at every endpoint, in test_raw_bodies_are_a_quick_4xx_scim_error.


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("path", ["meta.created", "meta.lastModified"])
def test_a_datetime_out_of_range_once_in_utc_is_400_invalid_filter(scim, caplog, path, value):
    _invalid_filter(scim.get("/Users", params={"filter": f'{path} gt "{value}"'}), caplog)
    _invalid_filter(scim.get("/Groups", params={"filter": f'{path} lt "{value}"'}), caplog)


@pytest.mark.parametrize("endpoint", ["/Users", "/Groups", "/.search"])
def test_a_start_index_past_64_bits_is_an_empty_page(scim, caplog, endpoint):
    scim.post("/Groups", json=group("g", scim.post("/Users", json=user()).json()["id"]))
    huge = str(10**20)
    if endpoint == "/.search":
        response = scim.post(endpoint, json={"startIndex": huge})
        everything = scim.post(endpoint, json={"count": huge})
    else:
        response = scim.get(endpoint, params={"startIndex": huge})
        everything = scim.get(endpoint, params={"count": huge})
    assert check(response, caplog) == 200, response.text
    assert check(everything, caplog) == 200, everything.text
    total = 2 if endpoint == "/.search" else 1
    assert response.json()["Resources"] == []
    assert response.json()["totalResults"] == total
    assert len(everything.json()["Resources"]) == everything.json()["totalResults"] == total


def test_a_filter_too_long_or_too_deep_is_400_invalid_filter(scim, caplog):
    too_much = [
        "not (" * 60 + "userName pr" + ")" * 60,  # scim2-models' parser stops at 32 levels
        "not (" * 1990 + "userName pr" + ")" * 1990,
        'title eq "' + "x" * 10_000 + '"',  # past 10,000 characters
        " or ".join(f'userName eq "{i:08}"' for i in range(500)),
    ]
    for filter_text in too_much:
        _invalid_filter(scim.post("/Users/.search", json={"filter": filter_text}), caplog)
    id = scim.post("/Users", json=user()).json()["id"]
    for filter_text in (
        "not (" * 15 + "not (userName pr)" + ")" * 15,
        "(" * 4990 + "userName pr" + ")" * 4990,  # parentheses alone do not nest
        " or ".join(["userName pr"] * 600),
    ):
        response = scim.post("/Users/.search", json={"filter": filter_text})
        assert check(response, caplog) == 200, response.text
        assert [r["id"] for r in response.json()["Resources"]] == [id], filter_text[:50]


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@pytest.mark.parametrize("op", ["add", "replace"])
def test_an_empty_patch_path_is_read_as_no_path(
    scim, engine, tenant, targets, caplog, endpoint, op
):
    # A group PATCH with "path": "" was an IndexError in scim/members.py.
    target = f"/{endpoint}/{targets['@user' if endpoint == 'Users' else '@group']}"
    before = scim.get(target).json()
    body = patch({"op": op, "path": "", "value": {"displayName": "Renamed"}})
    assert _write(scim, engine, tenant, targets, caplog, "PATCH", endpoint, body) == 200
    after = scim.get(target).json()
    assert after["displayName"] == "Renamed"
    assert after.get("members") == before.get("members")
    assert after.get("userName") == before.get("userName")


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
def test_remove_with_an_empty_patch_path_is_400_invalid_path(
    scim, engine, tenant, targets, caplog, endpoint
):
    target = f"/{endpoint}/{targets['@user' if endpoint == 'Users' else '@group']}"
    body = patch({"op": "remove", "path": "", "value": {"displayName": "x"}})
    _refused(scim, engine, tenant, caplog, "PATCH", target, body, "invalidPath")
