"""Signing in to the console: with an admin token, with an account holding the admin role
(through MFA), refusals, the session cookie, CSRF and sign-out."""

from __future__ import annotations

import pyotp
import pytest

from scimd.app import create_app
from scimd.console.session import COOKIE
from scimd.settings import Settings
from tests.scimd.accounts import PASSWORD, admin_token, new_user, ready_user
from tests.scimd.console.pages import (
    browser,
    hidden,
    post_form,
    sign_in_with_password,
    sign_in_with_token,
)


def test_an_admin_token_signs_in_and_lands_on_the_users(app, engine, tenant):
    with browser(app) as web:
        landed = sign_in_with_token(web, admin_token(engine, tenant))
        assert landed.status_code == 200
        assert str(landed.url).endswith("/console/users")
        assert "<h1>Users" in landed.text
        cookie = next(c for c in web.cookies.jar if c.name == COOKIE)
        assert cookie.path == "/console" and cookie.has_nonstandard_attr("HttpOnly")
        assert admin_token(engine, tenant) not in cookie.value  # sealed, not merely signed


def test_a_scim_token_or_nonsense_is_refused_with_a_readable_reason(app, engine, tenant):
    with browser(app) as web:
        for token in (tenant.token, "not-a-token"):
            refused = sign_in_with_token(web, token)
            assert refused.status_code in (401, 403)
            assert "cannot administer this directory" in refused.text
            assert not any(c.name == COOKIE for c in web.cookies.jar)


def test_pages_without_a_session_redirect_to_sign_in_and_back(app, engine, tenant):
    with browser(app) as web:
        asked = web.get("/console/users?search=zed")
        assert "/console/signin" in str(asked.url)
        page = asked.text
        landed = web.post(
            "/console/signin",
            data={
                "pre": hidden(page, "pre"),
                "method": "token",
                "token": admin_token(engine, tenant),
                "next": hidden(page, "next"),
            },
        )
        assert str(landed.url).endswith("/console/users?search=zed")


def test_next_never_leads_off_the_console(app, engine, tenant):
    with browser(app) as web:
        page = web.get("/console/signin").text
        for target in ("https://evil.example/", "//evil.example/console/", "/console\\@evil"):
            web.cookies.clear()
            page = web.get("/console/signin").text
            landed = web.post(
                "/console/signin",
                data={
                    "pre": hidden(page, "pre"),
                    "method": "token",
                    "token": admin_token(engine, tenant),
                    "next": target,
                },
                follow_redirects=False,
            )
            assert landed.headers["location"] == "/console/users"


def test_an_account_with_the_admin_role_signs_in_through_mfa(app, engine, tenant, admin):
    assert admin.post("/roles", json={"code": "admin"}).status_code == 201
    person = ready_user(admin, roles=["admin"], mfaRequired=True)
    with browser(app) as web:
        step = sign_in_with_password(web, person["userName"], PASSWORD, next="/console/users")
        assert "authenticator app" in step.text
        seed = step.text.split('<code class="secret">')[1].split("<")[0]
        landed = web.post(
            "/console/signin",
            data={
                "pre": hidden(step.text, "pre"),
                "method": "password",
                "step": "mfa",
                "challenge": hidden(step.text, "challenge"),
                "code": pyotp.TOTP(seed).now(),
                "next": "/console/users",
            },
        )
        assert "<h1>Users" in landed.text and person["userName"] in landed.text
        # What the admin does through the console is theirs in the audit log.
        target = new_user(admin)
        fields = {"action": "lock", "ids": target["id"], "confirm": "yes"}
        post_form(web, landed.text, "/console/users/bulk", fields)
    [event] = admin.get(
        "/audit", params={"target": f"user:{target['id']}", "action": "account.lock"}
    ).json()["events"]
    assert event["actor"] == f"user:{person['id']}"


def test_signing_out_ends_an_account_s_session_on_the_server_too(app, admin, auth):
    assert admin.post("/roles", json={"code": "admin"}).status_code == 201
    person = ready_user(admin, roles=["admin"])
    with browser(app) as web:
        grid = sign_in_with_password(web, person["userName"], PASSWORD).text
        assert len(admin.get(f"/users/{person['id']}/sessions").json()["sessions"]) == 1
        post_form(web, grid, "/console/signout", {})
    assert admin.get(f"/users/{person['id']}/sessions").json()["sessions"] == []


def test_an_account_without_the_admin_role_cannot_use_the_console(app, admin):
    person = ready_user(admin)
    with browser(app) as web:
        refused = sign_in_with_password(web, person["userName"], PASSWORD)
        assert refused.status_code in (401, 403)
        assert "cannot administer this directory" in refused.text


def test_a_wrong_password_says_so_and_starts_no_session(app, admin):
    person = ready_user(admin)
    with browser(app) as web:
        refused = sign_in_with_password(web, person["userName"], "wrong")
        assert refused.status_code == 401
        assert not any(c.name == COOKIE for c in web.cookies.jar)


def test_a_sign_in_form_without_its_cookie_is_refused(app, engine, tenant):
    with browser(app) as web:
        refused = web.post(
            "/console/signin",
            data={"pre": "forged", "method": "token", "token": admin_token(engine, tenant)},
        )
        assert refused.status_code == 403


def test_a_form_without_the_csrf_token_or_from_another_site_changes_nothing(
    app, engine, tenant, admin
):
    user = new_user(admin)
    with browser(app) as web:
        grid = sign_in_with_token(web, admin_token(engine, tenant)).text
        fields = {"action": "lock", "ids": user["id"], "confirm": "yes"}
        assert web.post("/console/users/bulk", data=fields).status_code == 403
        assert web.post("/console/users/bulk", data={**fields, "csrf": "x" * 43}).status_code == 403
        other_site = web.post(
            "/console/users/bulk",
            data={"csrf": hidden(grid, "csrf"), **fields},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403
    assert admin.get(f"/users/{user['id']}").json()["locked"] is False


def test_a_tampered_cookie_is_no_session(app, engine, tenant):
    with browser(app) as web:
        sign_in_with_token(web, admin_token(engine, tenant))
        cookie = next(c for c in web.cookies.jar if c.name == COOKIE)
        value = cookie.value
        web.cookies.clear()
        web.cookies.set(
            COOKIE, value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"), path="/console"
        )
        assert "/console/signin" in str(web.get("/console/users").url)
        web.cookies.clear()
        web.cookies.set(COOKIE, '{"bearer": "x"}', path="/console")  # unsealed
        assert "/console/signin" in str(web.get("/console/users").url)


def test_signing_out_ends_the_session(app, engine, tenant):
    with browser(app) as web:
        grid = sign_in_with_token(web, admin_token(engine, tenant)).text
        out = post_form(web, grid, "/console/signout", {})
        assert "You are signed out" in out.text
        assert "/console/signin" in str(web.get("/console/users").url)


def test_pages_carry_a_strict_content_security_policy(app, engine, tenant):
    with browser(app) as web:
        page = sign_in_with_token(web, admin_token(engine, tenant))
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text  # no inline script: the policy forbids it


def test_without_a_server_key_the_console_says_what_to_set(database_url, engine, tenant):
    if not database_url.startswith("postgresql"):
        pytest.skip("an SQLite store always has a key: its key file is made on first start")
    app = create_app(Settings(database_url=database_url, job_runner=False), engine=engine)
    with browser(app) as web:
        page = web.get("/console/signin")
        assert page.status_code == 503 and "SCIMD_SECRET_KEY" in page.text
        refused = web.post("/console/signin", data={"method": "token", "token": tenant.token})
        assert refused.status_code == 503
