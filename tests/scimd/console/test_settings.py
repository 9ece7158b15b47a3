"""The console's settings page: the tenant's environment defaults shown and saved through the
admin API, a refused value shown with the admin's input kept."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from directory import environment
from scimd.console.settings import FIELDS
from tests.scimd.accounts import admin_token
from tests.scimd.console.pages import browser, hidden, sign_in_with_token


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


def form_of(html: str) -> dict[str, str | bool]:
    """What the browser would post back unchanged."""
    values: dict[str, str | bool] = {}
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None or name.group(1) == "csrf":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                values[name.group(1)] = "on"
        else:
            value = re.search(r'value="([^"]*)"', tag)
            values[name.group(1)] = value.group(1) if value else ""
    return values


def save(web, html: str, **changes: str | None):
    data = {**form_of(html), **changes}
    data = {name: value for name, value in data.items() if value is not None}
    return web.post("/console/settings", data={"csrf": hidden(html, "csrf"), **data})


def test_every_setting_has_a_labelled_input(web):
    page = web.get("/console/settings").text
    assert page.count("<h1>") == 1
    names = {f.name for f in fields(environment.Environment) if f.name != "password"}
    names |= {f.name for f in fields(environment.PasswordPolicy)}
    assert {field.name for field in FIELDS} == names
    for name in names:
        assert f'<label for="{name}"' in page and f'id="{name}"' in page
    assert 'name="max_failed_tries" value="5" min="1" max="100"' in page
    assert (
        'name="approval_required" value="on" aria-describedby="approval_required-hint" checked'
        in page
    )


def test_the_inputs_limits_are_the_apis():
    for field in FIELDS:
        if field.kind == "number":
            assert (field.low, field.high) == environment._LIMITS[field.name], field.name


def test_saving_changes_what_the_api_shows(web, admin):
    page = web.get("/console/settings").text
    done = save(
        web,
        page,
        mfa_required="on",
        approval_required=None,  # unticked
        max_failed_tries="7",
        min_length="16",
        history="2",
        default_country_code="de",
    )
    assert done.status_code == 200 and "Saved." in done.text
    shown = admin.get("/settings").json()
    assert shown["mfa_required"] is True and shown["approval_required"] is False
    assert shown["max_failed_tries"] == 7 and shown["default_country_code"] == "DE"
    assert shown["password"] == {"min_length": 16, "min_classes": 3, "history": 2}
    assert 'name="min_length" value="16"' in done.text
    unticked = re.search(r'<input type="checkbox" id="approval_required"[^>]*>', done.text)
    assert unticked and "checked" not in unticked.group(0)


def test_a_value_the_api_refuses_is_shown_with_the_admins_input(web, admin):
    page = web.get("/console/settings").text
    refused = save(web, page, max_failed_tries="500", session_hours="9", sso_jit="on")
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert "Failed sign-ins before locking: must be a whole number from 1 to 100." in refused.text
    assert 'name="max_failed_tries" value="500"' in refused.text
    assert 'name="session_hours" value="9"' in refused.text
    assert re.search(r'id="sso_jit" name="sso_jit" value="on"[^>]* checked', refused.text)
    assert admin.get("/settings").json()["session_hours"] == 12


def test_a_country_the_api_does_not_know_is_said_plainly(web, admin):
    page = web.get("/console/settings").text
    refused = save(web, page, default_country_code="XX")
    assert refused.status_code == 400
    assert "is not an ISO 3166 country code" in refused.text
    assert admin.get("/settings").json()["default_country_code"] == "GB"


def test_a_number_that_is_not_one_is_refused_before_the_api(web, admin):
    page = web.get("/console/settings").text
    refused = save(web, page, history="two")
    assert refused.status_code == 400
    assert "Earlier passwords that may not be reused must be a whole number." in refused.text
    assert 'name="history" value="two"' in refused.text
    assert admin.get("/settings").json()["password"]["history"] == 5
