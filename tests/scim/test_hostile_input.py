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

Inputs that trip a known bug are kept out of the properties (see ``KNOWN``)
and each such bug has its own minimal ``xfail`` reproducer below, so that a
property failing means a *new* bug. ``SCIMD_HOSTILE_SCALE=10`` runs ten times
as many examples; ``SCIMD_HOSTILE_KNOWN=off`` feeds the known-bug inputs to
the properties too (to check a fix).
"""

from __future__ import annotations

import json
import os
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import (
    HealthCheck,
    Phase,
    assume,
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


# --- known bugs: inputs the properties leave to the xfail reproducers ------------


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


def lower_grows_past_limit(s: str) -> bool:
    """Lower-casing makes it longer than a 256/320-wide column (``İ`` -> ``i̇``)."""
    return len(s) <= 320 < len(s.lower()) or len(s) <= 256 < len(s.lower())


KNOWN: dict[str, Callable[[str], bool]] = {
    # F1: a lone surrogate (``"\ud800"`` in the JSON) reaches the database / encoder.
    "lone surrogate": has_surrogate,
    # F2: NUL is refused by PostgreSQL text and jsonb.
    "NUL": lambda s: "\x00" in s,
    # F3: the comparison key outgrows the column on PostgreSQL.
    "lower() outgrows the column": lower_grows_past_limit,
}


def known_bug(value: Any) -> str | None:
    """The known bug a value trips, if any (never, with ``SCIMD_HOSTILE_KNOWN=off``)."""
    if os.environ.get("SCIMD_HOSTILE_KNOWN") == "off":
        return None
    for s in _strings(value):
        for name, trips in KNOWN.items():
            if trips(s):
                return name
    return None


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
    assume(known_patch_bug(endpoint, body) is None)
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


def grammar_filters(pool: list[Any]) -> st.SearchStrategy[str]:
    """Filters from the RFC 7644 grammar over the User schema, values from ``pool``."""
    value = filter_values(pool)
    op = st.sampled_from(FILTER_OPS).flatmap(case_variants)

    def atoms(paths: list[str]) -> st.SearchStrategy[str]:
        path = st.sampled_from(paths).flatmap(case_variants)
        comparison = st.tuples(path, op, value).map(" ".join)
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

    def __init__(self, ids: dict[str, str], resources: list[Any], filters: Any, agreed: Any):
        self.ids, self.resources, self.filters, self.agreed = ids, resources, filters, agreed
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
                {"value": "Ann@Corp.example", "type": "work", "primary": True},
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
    return People(ids, resources, grammar_filters(pool), agreed_filters(pool))


def known_filter_bug(text_: str) -> str | None:
    """The known bug a filter trips, if any (see the reproducers)."""
    if os.environ.get("SCIMD_HOSTILE_KNOWN") == "off":
        return None
    lowered = text_.lower()
    if "\x00" in text_ or "\\u0000" in lowered:
        return "NUL"
    if re.search(r"\\ud[89a-f]", lowered) or has_surrogate(text_):
        return "lone surrogate"
    if re.search(r'"(0001-01-01|9999-12-31)t[^"]*[+-]\d\d:\d\d"', lowered):
        return "dateTime out of range once in UTC"
    return None


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
def test_random_filters_are_a_list_or_400_invalid_filter(scim, people, caplog, filter_text):
    assume(known_filter_bug(filter_text) is None)
    _list(scim, caplog, filter_text)


@examples(150)
@given(data=st.data())
def test_grammar_filters_are_a_list_or_400_invalid_filter(scim, people, caplog, data):
    filter_text = data.draw(people.filters, label="filter")
    assume(known_filter_bug(filter_text) is None)
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


AGREED_SINGLE_VALUED = [
    "userName",
    "displayName",
    "nickName",
    "title",
    "name.givenName",
    "name.familyName",
    f"{USER_SCHEMA}:userName",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:employeeNumber",
]
AGREED_MULTI_VALUED = [
    "emails",
    "emails.value",
    "emails.type",
    "phoneNumbers.value",
    "phoneNumbers.type",
    "addresses.locality",
    "roles.value",
    "groups.display",
]
AGREED_VALUE_FILTERS = {
    "emails": ["value", "type"],
    "phoneNumbers": ["value", "type"],
    "addresses": ["locality", "type"],
    "groups": ["display"],
}


def agreed_filters(pool: list[Any]) -> st.SearchStrategy[str]:
    """The part of the grammar where scimd and scim2-models are meant to agree today.

    Left out, each for a row of ``DISAGREEMENTS``: null, boolean, number and
    non-ASCII values (D2, D4, D5, D9), ``ne`` on multi-valued attributes (D7),
    co/sw/ew on caseExact attributes (D1), ``active``, ``emails.primary`` and
    ``meta`` (D3, D5, D6, D8), unknown attributes (D10), ``emails.display`` (D11).
    """
    ascii_strings = sorted({v for v in pool if isinstance(v, str) and v.isascii() and v})
    value = st.sampled_from(ascii_strings).flatmap(case_variants).map(json.dumps)
    op = st.sampled_from(["eq", "co", "sw", "ew", "gt", "ge", "lt", "le"]).flatmap(case_variants)
    single = st.sampled_from(AGREED_SINGLE_VALUED).flatmap(case_variants)
    multi = st.sampled_from(AGREED_MULTI_VALUED).flatmap(case_variants)

    def element_filter(attr: str) -> st.SearchStrategy[str]:
        sub = st.sampled_from(AGREED_VALUE_FILTERS[attr])
        atom = st.one_of(
            st.tuples(sub, op, value).map(" ".join), sub.map(lambda name: f"{name} pr")
        )
        inner = st.recursive(
            atom,
            lambda c: st.one_of(
                st.tuples(c, st.sampled_from(["and", "or"]), c).map(" ".join),
                c.map(lambda f: f"not ({f})"),
            ),
            max_leaves=2,
        )
        return inner.map(lambda f: f"{attr}[{f}]")

    atoms = st.one_of(
        st.tuples(single, op, value).map(" ".join),
        st.tuples(single, st.just("ne"), value).map(" ".join),
        single.map(lambda path: f"{path} pr"),
        st.tuples(multi, op, value).map(" ".join),
        multi.map(lambda path: f"{path} pr"),
        st.tuples(
            st.sampled_from(["id", "externalId", f"{ENTERPRISE}:manager.value"]),
            st.sampled_from(["eq", "ne", "gt", "le"]),
            value,
        ).map(" ".join),
        st.sampled_from(sorted(AGREED_VALUE_FILTERS)).flatmap(element_filter),
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
    """Differential, over the part of the grammar both sides are meant to agree on."""
    _differential(scim, people, caplog, data.draw(people.agreed, label="filter"))


@pytest.mark.xfail(strict=False, reason="see DISAGREEMENTS: they are common in the full grammar")
@examples(60, phases=[Phase.generate])  # DISAGREEMENTS holds the minimal examples
@given(data=st.data())
def test_all_grammar_filters_select_what_scim2_models_selects(scim, people, caplog, data):
    filter_text = data.draw(people.filters, label="filter")
    assume(known_filter_bug(filter_text) is None)
    _differential(scim, people, caplog, filter_text)


def xfail_on(request: pytest.FixtureRequest, engine: Engine, backend: str | None, why: str):
    """Mark the running test xfail (non-strict) on ``backend`` (every backend when None)."""
    if backend is None or engine.dialect.name == backend:
        request.applymarker(pytest.mark.xfail(strict=False, reason=why))


# Minimal filters on which scimd and scim2-models' ScimFilter.match disagree
# over the users of ``people`` (ann, bob, cat, dan, eve): (filter, backend, why).
# Not listed, on purpose: scimd's leniencies (`department eq "Sales"` without
# the extension URN, `manager eq "id"` for manager.value, values scim2-models
# refuses for a bound model such as a partial emails.value).
DISAGREEMENTS = {
    "D1-like-ignores-caseExact": (
        'externalId sw "EXT-Ann"',
        "sqlite",
        "D1 (SQLite): co/sw/ew use LIKE, which folds ASCII case, so a caseExact attribute "
        "(externalId, id, manager.value) matches in any case: scimd [ann, bob]",
    ),
    "D2-sql-lower-is-ascii-only": (
        'name.givenName eq "é"',
        "sqlite",
        "D2 (SQLite): document attributes are folded with SQL lower(), ASCII-only on SQLite, "
        "while the value is folded in Python: 'É' never matches 'é': scimd []",
    ),
    "D3-meta-not-filterable": (
        'meta.resourceType eq "User"',
        None,
        "D3: meta.resourceType, meta.location and meta.version are not in the stored "
        "document, so no comparison ever matches (and `ne`/`eq null` match everyone)",
    ),
    "D4-multi-valued-eq-null": (
        "emails eq null",
        None,
        "D4: `eq null` on a multi-valued attribute matches nothing; scim2-models matches the "
        "resources without a value [cat, eve]",
    ),
    "D5-active-eq-null": (
        "active eq null",
        None,
        "D5: an absent `active` is stored as true (and not returned): `active eq null` "
        "matches nothing; scim2-models [cat, dan, eve]",
    ),
    "D5-active-eq-true": (
        "active eq true",
        None,
        "D5: an absent `active` is stored as true (and not returned): scimd [ann, cat, dan, "
        "eve], scim2-models [ann]",
    ),
    "D6-absent-primary": (
        "emails.primary eq false",
        None,
        "D6: an absent emails.primary is stored as false (and not returned): scimd [ann, bob, "
        "dan], scim2-models [bob]; `emails.primary pr` likewise",
    ),
    "D7-ne-on-multi-valued": (
        'emails.value ne "Ann@Corp.example"',
        None,
        "D7: `ne` on a multi-valued attribute is 'some value differs' in scimd [ann, bob, "
        "dan] and 'no value equals' in scim2-models [bob, cat, dan, eve]",
    ),
    "D8-date-only-value": (
        'meta.created gt "2020-01-01"',
        None,
        "D8: a date-only (or offset-less) value: scimd reads it as UTC midnight and matches "
        "everyone; scim2-models matches nothing",
    ),
    "D9-null-with-an-ordering-operator": (
        "userName co null",
        None,
        "D9: co/sw/ew/gt/ge/lt/le null: 400 invalidFilter from scimd; no match in scim2-models",
    ),
    "D10-unknown-attribute": (
        "unknownAttr pr",
        None,
        "D10: an unknown attribute: 400 invalidFilter from scimd; no match in scim2-models "
        "(RFC 7644 3.4.2.1 has several-type endpoints evaluate it to false)",
    ),
    "D11-emails-display": (
        "emails.display pr",
        None,
        "D11: emails.display (kept in the document, not in the emails side table): 400 "
        "invalidFilter from scimd (`filtering on 'display' here is not supported`)",
    ),
}


@pytest.mark.parametrize("case", DISAGREEMENTS)
def test_filter_disagreement(request, engine, scim, people, caplog, case):
    filter_text, backend, why = DISAGREEMENTS[case]
    xfail_on(request, engine, backend, why)
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
# JSON Python reads (NaN, 1e999999 -> inf), or a media type read as absent: a
# .search ignores unknown keys, a user may be created.
MAY_SUCCEED = {"utf-16 with BOM", "NaN literal", "huge exponent", "garbage media type"}
# F4: json.loads raises RecursionError (not a ValueError) past ~1000 levels.
TOO_DEEP = pytest.mark.xfail(
    strict=False,
    reason="F4: JSON nested deeper than ~1000 levels: json.loads raises RecursionError, not a "
    "ValueError, so scim/http.py read_json lets it through: a 500",
)


def _raw_targets(scim) -> dict[str, str]:
    user_id = scim.post("/Users", json=user()).json()["id"]
    return {
        "POST /Users": "/Users",
        "POST /Groups": "/Groups",
        "POST /Users/.search": "/Users/.search",
        "PUT /Users/{id}": f"/Users/{user_id}",
        "PATCH /Users/{id}": f"/Users/{user_id}",
    }


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=TOO_DEEP) if name.startswith("depth") else name
        for name in RAW_BODIES
    ],
)
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


def known_patch_bug(endpoint: str, document: Any) -> str | None:
    """The known bug a PATCH document trips, if any (see the reproducers)."""
    if os.environ.get("SCIMD_HOSTILE_KNOWN") == "off":
        return None
    operations = (
        next(
            (v for k, v in document.items() if str(k).lower() == "operations"),
            None,
        )
        if isinstance(document, dict)
        else None
    )
    if endpoint == "Groups" and isinstance(operations, list):
        for operation in operations:
            if isinstance(operation, dict) and any(
                key.lower() == "path" and value == "" for key, value in operation.items()
            ):
                return "F7: empty path in a group PATCH"
    return known_bug(document)


@pytest.mark.parametrize("endpoint", ["Users", "Groups"])
@examples(120)
@given(data=st.data())
def test_grammar_patches_never_5xx_and_4xx_changes_nothing(
    scim, engine, tenant, targets, caplog, endpoint, data
):
    document = data.draw(patch_documents(endpoint), label="patch")
    assume(known_patch_bug(endpoint, document) is None)
    target = targets["@user" if endpoint == "Users" else "@group"]
    version = scim.get(f"/{endpoint}/{target}").headers["etag"]
    if_match = data.draw(st.sampled_from([None, version, 'W/"999"', "*", "garbage"]), "If-Match")
    headers = {"If-Match": if_match} if if_match else {}
    _write(scim, engine, tenant, targets, caplog, "PATCH", endpoint, document, **headers)


# --- known bugs: minimal reproducers -------------------------------------------------
# What the properties find once their carve-outs (KNOWN, known_filter_bug,
# known_patch_bug, the TOO_DEEP raw bodies) are lifted, minimised. xfail on the
# backends a bug affects (non-strict): an XPASS means it is fixed.


def _refused_and_unchanged(scim, engine, tenant, caplog, method, url, body) -> None:
    before = store(engine, tenant.id)
    response = send_json(scim, method, url, body)
    status = check(response, caplog)
    assert 400 <= status < 500, response.text
    assert store(engine, tenant.id) == before
    assert scim.get("/Users").status_code == 200  # the tenant can still list its users


def _user_with(attribute: str, value: str) -> dict[str, Any]:
    return user(value) if attribute == "userName" else user(**{attribute: value})


F1 = (
    "F1: a lone surrogate (JSON \\ud800) is a 500: UnicodeEncodeError binding a column, "
    "invalid json for jsonb (PostgreSQL), or on SQLite, for an attribute kept only in the "
    "document, UnicodeEncodeError rendering the response AFTER the commit: the user is "
    "stored and every later response that includes it (GET, list) is a 500"
)


@pytest.mark.parametrize("attribute", ["userName", "title"])
def test_f1_lone_surrogate_in_a_user_is_400_and_stores_nothing(
    request, scim, engine, tenant, caplog, attribute
):
    xfail_on(request, engine, None, F1)
    body = _user_with(attribute, "\ud800")
    _refused_and_unchanged(scim, engine, tenant, caplog, "POST", "/Users", body)


def test_f1_lone_surrogate_in_a_patch_is_400_and_changes_nothing(
    request, scim, engine, tenant, caplog
):
    xfail_on(request, engine, None, F1)
    id = scim.post("/Users", json=user()).json()["id"]
    body = patch({"op": "replace", "path": "title", "value": "\ud800"})
    _refused_and_unchanged(scim, engine, tenant, caplog, "PATCH", f"/Users/{id}", body)


def test_f1_lone_surrogate_in_a_filter_is_400(request, scim, engine, caplog):
    xfail_on(request, engine, None, F1)
    response = scim.get("/Users", params={"filter": 'userName eq "\\ud800"'})
    assert check(response, caplog) == 400


F2 = (
    "F2 (PostgreSQL): NUL is a 500: 'PostgreSQL text fields cannot contain NUL (0x00) bytes' "
    "for a column or a filter value, 'unsupported Unicode escape sequence' for jsonb"
)


@pytest.mark.parametrize("attribute", ["userName", "title"])
def test_f2_nul_in_a_user_is_stored_or_400(request, scim, engine, caplog, attribute):
    xfail_on(request, engine, "postgresql", F2)
    response = send_json(scim, "POST", "/Users", _user_with(attribute, "a\x00b"))
    assert check(response, caplog) in (201, 400), response.text


def test_f2_nul_in_a_filter_is_not_a_500(request, scim, engine, caplog):
    xfail_on(request, engine, "postgresql", F2)
    check(scim.get("/Users", params={"filter": 'userName eq "\\u0000"'}), caplog)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/Users", user("İ" * 200)),
        ("/Users", user(displayName="İ" * 200)),
        ("/Groups", group("İ" * 200)),
    ],
    ids=["userName", "displayName", "group displayName"],
)
def test_f3_names_whose_lower_case_is_longer_are_stored_or_400(
    request, scim, engine, caplog, endpoint, body
):
    xfail_on(
        request,
        engine,
        "postgresql",
        "F3 (PostgreSQL): 200 'İ' pass the 256-character check, but the comparison key "
        "(lower case, 400 characters) overflows its varchar(256): StringDataRightTruncation",
    )
    response = scim.post(endpoint, json=body)
    assert check(response, caplog) in (201, 400), response.text


# F4 (deep JSON) is TOO_DEEP in test_raw_bodies_are_a_quick_4xx_scim_error.


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_f5_datetime_out_of_range_in_utc(request, scim, engine, caplog, value):
    xfail_on(
        request,
        engine,
        None,
        "F5: a dateTime that leaves datetime's range once converted to UTC: OverflowError "
        "from directory.clock.as_utc (scim/filters.py _typed catches ValueError only)",
    )
    response = scim.get("/Users", params={"filter": f'meta.created gt "{value}"'})
    assert check(response, caplog) in (200, 400)


def test_f6_start_index_past_64_bits(request, scim, engine, caplog):
    xfail_on(
        request,
        engine,
        None,
        "F6: startIndex is not bounded before the SQL OFFSET: 'Python int too large to "
        "convert to SQLite INTEGER' / PostgreSQL 'bigint out of range'",
    )
    response = scim.get("/Users", params={"startIndex": str(10**20)})
    assert check(response, caplog) in (200, 400)


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_f7_group_patch_with_an_empty_path(request, scim, engine, tenant, targets, caplog, op):
    xfail_on(
        request,
        engine,
        None,
        'F7: a group PATCH operation with "path": "" (scim2-models reads it as a path of '
        "no parts): IndexError in scim/members.py _is_members (path.parts[0])",
    )
    body = patch({"op": op, "path": "", "value": {"displayName": "x"}})
    _write(scim, engine, tenant, targets, caplog, "PATCH", "Groups", body)
