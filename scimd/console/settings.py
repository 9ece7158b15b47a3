"""The tenant's environment defaults (what its accounts get unless an admin says otherwise),
read and saved through ``GET`` / ``PUT /admin/v1/settings``.

The API is the judge of every value; the limits here only set the inputs' ``min`` and
``max``, so a browser can say so before the round trip (a test keeps them the API's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from scimd.console.api import ApiProblem
from scimd.console.pages import Console, Page


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    hint: str
    kind: str  # "flag", "number" or "country"
    group: str | None = None  # the JSON object it sits in ("password"), or None at the top
    low: int | None = None
    high: int | None = None


FIELDS = (
    Field("mfa_required", "Require a second factor", "New accounts sign in with TOTP.", "flag"),
    Field(
        "max_failed_tries",
        "Failed sign-ins before locking",
        "Failed tries in a row that lock the account.",
        "number",
        low=1,
        high=100,
    ),
    Field(
        "trusted_device_days",
        "Days a trusted device skips the second factor",
        "0 turns trusted devices off.",
        "number",
        low=0,
        high=365,
    ),
    Field(
        "session_hours",
        "Session length, hours",
        "How long a sign-in lasts.",
        "number",
        low=1,
        high=720,
    ),
    Field(
        "min_length",
        "Minimum password length",
        "Characters.",
        "number",
        "password",
        low=8,
        high=256,
    ),
    Field(
        "min_classes",
        "Character classes a password mixes",
        "Of lower case, upper case, digits, other characters.",
        "number",
        "password",
        low=1,
        high=4,
    ),
    Field(
        "history",
        "Earlier passwords that may not be reused",
        "0 allows reuse.",
        "number",
        "password",
        low=0,
        high=24,
    ),
    Field(
        "self_registration",
        "People may register themselves",
        "At /auth/register.",
        "flag",
    ),
    Field(
        "approval_required",
        "Self-made accounts wait for approval",
        "Registrations and first single sign-ons wait on the Approvals page.",
        "flag",
    ),
    Field(
        "sso_auto_link",
        "Link single sign-on by email",
        "A first sign-in links itself to the one account with its email.",
        "flag",
    ),
    Field(
        "sso_jit",
        "Create accounts at first single sign-on",
        "When no account has the email (waiting for approval if required).",
        "flag",
    ),
    Field(
        "default_country_code",
        "Default country",
        "ISO 3166 code of imported HR records that name none, e.g. GB.",
        "country",
    ),
)
SECTIONS = (
    ("Sign-in", ("mfa_required", "max_failed_tries", "trusted_device_days", "session_hours")),
    ("Passwords", ("min_length", "min_classes", "history")),
    ("Registration", ("self_registration", "approval_required")),
    ("Single sign-on", ("sso_auto_link", "sso_jit")),
    ("Imports", ("default_country_code",)),
)


def _values(settings: dict[str, Any]) -> dict[str, Any]:
    """The form's values from the API's document (flattened: the password policy's too)."""
    return {
        field.name: (settings.get(field.group) or {} if field.group else settings).get(field.name)
        for field in FIELDS
    }


def _document(form: Any) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The API's document from the form, the form's values as typed (to show them again),
    and the first value the page could not read as what it must be."""
    document: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    problem: str | None = None
    for field in FIELDS:
        value: Any
        if field.kind == "flag":
            value = form.get(field.name) is not None
            typed[field.name] = value
        else:
            text = str(form.get(field.name) or "").strip()
            typed[field.name] = text
            value = text
            if field.kind == "number":
                try:
                    value = int(text)
                except ValueError:
                    problem = problem or f"{field.label} must be a whole number."
                    continue
        target = document.setdefault(field.group, {}) if field.group else document
        target[field.name] = value
    return document, typed, problem


class SettingsPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    def _render(
        self, page: Page, values: dict[str, Any], status_code: int = 200, problem: str | None = None
    ) -> Response:
        return page.render(
            "settings.html",
            status_code,
            values=values,
            fields={field.name: field for field in FIELDS},
            sections=SECTIONS,
            problem=problem,
        )

    async def show(self, page: Page) -> Response:
        return self._render(page, _values(await page.api("GET", "/settings")))

    async def save(self, page: Page) -> Response:
        assert page.form is not None
        document, typed, problem = _document(page.form)
        if problem is not None:
            return self._render(page, typed, 400, problem)
        try:
            await page.api("PUT", "/settings", json=document)
        except ApiProblem as refused:
            if refused.status != 400:
                raise
            return self._render(page, typed, 400, _readable(refused.detail))
        return page.redirect("/settings", "saved")

    def routes(self) -> list[Route]:
        page = self.console.page
        return [
            Route("/settings", page(self.show), methods=["GET"]),
            Route("/settings", page(self.save), methods=["POST"]),
        ]


def _readable(detail: str) -> str:
    """The API names settings by their JSON names; the page by their labels."""
    for field in FIELDS:
        if detail.startswith(field.name + " "):
            return f"{field.label}: {detail[len(field.name) + 1 :]}."
    return detail
