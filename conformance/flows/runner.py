"""Replay a recorded IdP request sequence against a live SCIM server and check each response.

A flow is a list of ``Step``s. Each step is one HTTP request as the IdP sends it (method,
path with query string, JSON body, headers) and what the IdP expects back (status, and
checks on the JSON body). Strings anywhere in a step may hold ``{placeholders}``:

- ``{run}`` is a fresh hex id per ``run_flow`` call, so a flow can be replayed on the same
  server and tenant again and again (user names, group names, external ids include it);
- any name a previous step captured from its response (``capture={"user_id": "/id"}``).

A placeholder may carry one filter: ``{user_name|q}`` percent-encodes the value for a query
string, ``{user_name|upper}`` upper-cases it. JSON locations are JSON Pointers (RFC 6901),
e.g. ``/Resources/0/id`` or ``/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias
from urllib.parse import quote

import httpx

Json: TypeAlias = Any
"""A decoded JSON value (``None``, bool, int, float, str, list or dict)."""

JsonType = Literal["integer", "string", "boolean", "array", "object"]

SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class Step:
    """One request an IdP sends, and what it needs back."""

    name: str
    method: str
    path: str
    """Relative to the SCIM base URL, with the query string exactly as the IdP encodes it."""
    body: Json = None
    status: int | tuple[int, ...] = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    authorization: str | None = None
    """The literal ``Authorization`` header; ``None`` sends ``Bearer <token>``."""
    equals: Mapping[str, Json] = field(default_factory=dict)
    """JSON Pointer -> expected value (type-exact: ``1`` is not ``True``, ``"1"`` is not ``1``)."""
    present: tuple[str, ...] = ()
    """Pointers that must resolve to a non-null value."""
    absent: tuple[str, ...] = ()
    """Pointers that must not resolve, or resolve to null."""
    contains: Mapping[str, Json] = field(default_factory=dict)
    """Pointer to a list -> an element it must hold (a dict matches any element with those keys)."""
    excludes: Mapping[str, Json] = field(default_factory=dict)
    """Pointer to a list (or nothing) -> an element it must not hold."""
    count: Mapping[str, int] = field(default_factory=dict)
    """Pointer to a list -> its length (a missing or null list counts as 0)."""
    types: Mapping[str, JsonType] = field(default_factory=dict)
    """Pointer -> the JSON type its value must have."""
    capture: Mapping[str, str] = field(default_factory=dict)
    """Placeholder name -> pointer whose (string) value later steps can use."""
    max_ms: float | None = None
    """Upper bound on the response time, for IdPs that time out."""


@dataclass(frozen=True)
class StepResult:
    step: Step
    method: str
    url: str
    request_body: Json
    status: int | None
    response_text: str
    elapsed_ms: float
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        """The request and response, for a failure report."""
        lines = [f"{self.method} {self.url}"]
        if self.request_body is not None:
            lines.append(json.dumps(self.request_body, indent=2))
        lines.append(f"-> {self.status} ({self.elapsed_ms:.0f} ms)")
        if self.response_text:
            lines.append(self.response_text[:4000])
        lines.extend(f"FAILED: {failure}" for failure in self.failures)
        return "\n".join(lines)


class _Missing:
    pass


MISSING = _Missing()
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|(q|upper))?\}")
_FILTERS: dict[str, Callable[[str], str]] = {
    "q": lambda value: quote(value, safe=""),
    "upper": str.upper,
}


_FILLED = ("path", "body", "headers", "authorization", "equals", "contains", "excludes")
"""The fields of a Step whose strings may hold placeholders."""


class UnknownPlaceholder(KeyError):
    pass


def fill(value: Json, variables: Mapping[str, str]) -> Json:
    """``value`` with every ``{placeholder}`` in its strings (and dict keys) replaced."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, filter_name = match.group(1), match.group(2)
            if name not in variables:
                raise UnknownPlaceholder(name)
            text = variables[name]
            return _FILTERS[filter_name](text) if filter_name else text

        return _PLACEHOLDER.sub(substitute, value)
    if isinstance(value, list):
        return [fill(item, variables) for item in value]
    if isinstance(value, dict):
        return {fill(key, variables): fill(item, variables) for key, item in value.items()}
    return value


def resolve(document: Json, pointer: str) -> Json | _Missing:
    """The value at a JSON Pointer (RFC 6901), or ``MISSING``."""
    if pointer == "":
        return document
    current = document
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return MISSING
    return current


def _same(expected: Json, actual: Json) -> bool:
    """JSON equality that keeps types apart (``True`` is not ``1``, ``1`` is ``1.0``)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_same(expected[key], actual[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def _matches(element: Json, wanted: Json) -> bool:
    if isinstance(wanted, dict):
        return isinstance(element, dict) and all(
            key in element and _same(value, element[key]) for key, value in wanted.items()
        )
    return _same(wanted, element)


_JSON_TYPES: dict[str, Callable[[Json], bool]] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def check(step: Step, status: int, document: Json | _Missing, elapsed_ms: float) -> list[str]:
    """Every way the response falls short of what the step expects (empty when it passes).

    ``step`` must already be filled in (no placeholders left).
    """
    failures: list[str] = []
    allowed = step.status if isinstance(step.status, tuple) else (step.status,)
    if status not in allowed:
        failures.append(f"status {status}, expected {' or '.join(map(str, allowed))}")
    if step.max_ms is not None and elapsed_ms > step.max_ms:
        failures.append(f"took {elapsed_ms:.0f} ms, more than {step.max_ms:.0f} ms")
    wants_body = any(
        (step.equals, step.present, step.contains, step.count, step.types, step.capture)
    )
    if isinstance(document, _Missing):
        if wants_body:
            failures.append("no JSON body to check")
        return failures

    for pointer, expected in step.equals.items():
        actual = resolve(document, pointer)
        if isinstance(actual, _Missing) or not _same(expected, actual):
            shown = "nothing" if isinstance(actual, _Missing) else json.dumps(actual)
            failures.append(f"{pointer} is {shown}, expected {json.dumps(expected)}")
    for pointer in step.present:
        if resolve(document, pointer) in (MISSING, None):
            failures.append(f"{pointer} is missing")
    for pointer in step.absent:
        actual = resolve(document, pointer)
        if not isinstance(actual, _Missing) and actual is not None:
            failures.append(f"{pointer} is {json.dumps(actual)}, expected it absent")
    for pointer, wanted in step.contains.items():
        actual = resolve(document, pointer)
        if not isinstance(actual, list) or not any(_matches(item, wanted) for item in actual):
            shown = "nothing" if isinstance(actual, _Missing) else json.dumps(actual)
            failures.append(f"{pointer} is {shown}, expected it to hold {json.dumps(wanted)}")
    for pointer, unwanted in step.excludes.items():
        actual = resolve(document, pointer)
        if isinstance(actual, list) and any(_matches(item, unwanted) for item in actual):
            failures.append(f"{pointer} still holds {json.dumps(unwanted)}")
    for pointer, length in step.count.items():
        actual = resolve(document, pointer)
        size = len(actual) if isinstance(actual, list) else 0 if actual in (MISSING, None) else -1
        if size != length:
            failures.append(f"{pointer} has {size} elements, expected {length}")
    for pointer, json_type in step.types.items():
        actual = resolve(document, pointer)
        if isinstance(actual, _Missing) or not _JSON_TYPES[json_type](actual):
            shown = "nothing" if isinstance(actual, _Missing) else json.dumps(actual)
            failures.append(f"{pointer} is {shown}, expected a JSON {json_type}")
    for name, pointer in step.capture.items():
        if not isinstance(resolve(document, pointer), str):
            failures.append(f"cannot capture {name}: {pointer} is not a string")
    return failures


def run_step(
    client: httpx.Client, base_url: str, token: str, step: Step, variables: dict[str, str]
) -> StepResult:
    """Send one step (filling its placeholders), check the response, capture its values."""
    method = step.method.upper()
    try:
        filled = replace(step, **{name: fill(getattr(step, name), variables) for name in _FILLED})
    except UnknownPlaceholder as missing:
        reason = f"no value for {{{missing.args[0]}}} (an earlier step did not capture it)"
        return StepResult(step, method, step.path, step.body, None, "", 0.0, (reason,))
    url = base_url.rstrip("/") + filled.path
    headers = {"Accept": SCIM_JSON, **filled.headers}
    headers["Authorization"] = filled.authorization or f"Bearer {token}"
    content = None if filled.body is None else json.dumps(filled.body).encode()
    if content is not None:
        headers.setdefault("Content-Type", SCIM_JSON)
    started = time.perf_counter()
    try:
        response = client.request(method, url, content=content, headers=headers)
    except httpx.HTTPError as error:
        elapsed = (time.perf_counter() - started) * 1000
        return StepResult(
            step, method, url, filled.body, None, "", elapsed, (f"request failed: {error!r}",)
        )
    elapsed = (time.perf_counter() - started) * 1000
    document: Json | _Missing = MISSING
    if response.content:
        try:
            document = response.json()
        except ValueError:
            pass
    failures = check(filled, response.status_code, document, elapsed)
    for name, pointer in filled.capture.items():
        value = resolve(document, pointer)
        if isinstance(value, str):  # even if another check failed: later steps can still run
            variables[name] = value
    return StepResult(
        step,
        method,
        url,
        filled.body,
        response.status_code,
        response.text,
        elapsed,
        tuple(failures),
    )


def run_flow(
    base_url: str,
    token: str,
    steps: Sequence[Step],
    *,
    variables: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> list[StepResult]:
    """Send every step in order to the SCIM server at ``base_url``; one result per step.

    Keeps going after a failure, so one report shows every step that fails; a step that
    needs a value an earlier failed step should have captured fails with that reason.
    """
    state = {"run": uuid.uuid4().hex[:12], **(variables or {})}
    with httpx.Client(timeout=timeout) as client:
        return [run_step(client, base_url, token, step, state) for step in steps]
