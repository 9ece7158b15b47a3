"""One user's console page: status, editing (only what changed is sent), the account actions,
the roles picker limited by licence and user type, sessions and API keys, and delete — each
through the admin API."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.scimd.accounts import act, admin_token, events, login, new_user, ready_user
from tests.scimd.console.pages import browser, post_form, sign_in_with_token


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


class _Form(HTMLParser):
    """What a browser would submit from the form with ``id``: enabled fields, ticked boxes,
    chosen options."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def _add(self, name: str | None, value: str) -> None:
        if name:
            self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input":
            kind = a.get("type") or "text"
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a.get("name"), a.get("value") or "on")
            else:
                self._add(a.get("name"), a.get("value") or "")
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select:
            self.options.append((a.get("value") or "", "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [v for v, selected in self.options if selected] or [self.options[0][0]]
            self._add(self.select, chosen[0])
            self.select = None


def form_of(html: str, form_id: str = "edit") -> dict[str, Any]:
    parser = _Form(form_id)
    parser.feed(html)
    return {
        name: values if len(values) > 1 else values[0] for name, values in parser.fields.items()
    }


def tick(fields: dict[str, Any], name: str, value: str) -> None:
    current = fields.get(name, [])
    fields[name] = [*([current] if isinstance(current, str) else current), value]


def status_of(html: str) -> dict[str, str]:
    block = re.search(r'<dl class="fields" id="status">(.*?)</dl>', html, re.S)
    assert block, "no status on the page"
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block.group(1), re.S)
    return {name: re.sub(r"\s+", " ", value).strip() for name, value in pairs}


def _catalog(admin) -> None:
    for path, body in (
        ("/licences", {"code": "basic", "name": "Basic"}),
        ("/licences", {"code": "pro", "name": "Professional"}),
        ("/user-types", {"code": "staff"}),
        ("/roles", {"code": "viewer", "name": "Viewer"}),
        ("/roles", {"code": "approver", "name": "Approver", "licences": ["pro"]}),
        ("/role-groups", {"code": "finance", "roles": ["viewer", "approver"]}),
        ("/user-groups", {"code": "emea"}),
        ("/dac-groups", {"code": "uk-data"}),
    ):
        response = admin.post(path, json=body)
        assert response.status_code == 201, response.text


def test_a_user_page_shows_contact_and_every_status_field(web, admin):
    user = new_user(admin, name="Ada Lovelace", email="ada@example.com", mobile="+44 20 7946 0000")
    act(admin, user["id"], "lock", reason="left the building")
    page = web.get(f"/console/users/{user['id']}")
    assert page.status_code == 200
    assert page.text.count("<h1>") == 1
    for section in ("Contact", "Status", "Access", "Sessions and API keys", "Actions"):
        assert f">{section}</h2>" in page.text
    status = status_of(page.text)
    assert status["Locked"] == "yes" and status["Reason"] == "left the building"
    assert status["Locked date"].endswith("UTC")
    assert status["Access"].startswith("locked out")
    assert status["Failed tries"] == "0" and status["Last login"] == "never"
    assert status["MFA enabled"] == "no" and status["MFA required"] in ("yes", "no")
    assert status["Force password change"] == "no"
    assert status["Login date window"] == "any time to any time"
    fields = form_of(page.text)
    assert fields["email"] == "ada@example.com" and fields["mobile"] == "+44 20 7946 0000"
    # Every input has a label.
    for found in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', page.text):
        assert f'for="{found}"' in page.text, found


def test_an_unknown_user_is_a_readable_404(web):
    page = web.get("/console/users/no-such-user")
    assert page.status_code == 404 and 'role="alert"' in page.text


def test_editing_sends_only_the_changed_fields_and_the_api_holds_them(web, admin):
    _catalog(admin)
    user = new_user(admin, name="Before", email="before@example.com")
    page = web.get(f"/console/users/{user['id']}").text
    # Someone else changes the mobile meanwhile: this form did not touch it, so it stays.
    admin.patch(f"/users/{user['id']}", json={"mobile": "+1 555 0100"})
    fields = form_of(page)
    fields.update(
        name="After",
        email="after@example.com",
        accessLicence="pro",
        userType="staff",
        loginAllowedFrom="2030-01-02T09:30",
        forcePasswordChange="on",
    )
    tick(fields, "roles", "approver")  # allowed by the licence chosen in the same save
    tick(fields, "userGroups", "emea")
    saved = web.post(f"/console/users/{user['id']}", data=fields)
    assert saved.status_code == 200 and "Saved." in saved.text
    held = admin.get(f"/users/{user['id']}").json()
    assert (held["name"], held["email"], held["mobile"]) == (
        "After",
        "after@example.com",
        "+1 555 0100",
    )
    assert (held["accessLicence"], held["userType"]) == ("pro", "staff")
    assert held["loginAllowedFrom"].startswith("2030-01-02T09:30:00")
    assert held["forcePasswordChange"] is True
    assert held["roles"] == ["approver"] and held["userGroups"] == ["emea"]
    updates = events(admin, action="user.update", target=f"user:{user['id']}")
    assert sorted(sorted(event["detail"]) for event in updates) == [["email", "name"], ["mobile"]]
    # Saving the page as it is sends nothing.
    again = web.post(f"/console/users/{user['id']}", data=form_of(saved.text))
    assert "Nothing to save" in again.text


def test_blocking_login_with_a_reason_shows_it_and_is_audited(web, admin):
    user = ready_user(admin)
    page = web.get(f"/console/users/{user['id']}").text
    refused = post_form(web, page, f"/console/users/{user['id']}/actions/block-login", {})
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert "needs a reason" in refused.text
    done = post_form(
        web, page, f"/console/users/{user['id']}/actions/block-login", {"reason": "HR hold"}
    )
    assert "Login access is blocked." in done.text
    status = status_of(done.text)
    assert status["Login access"] == "blocked" and status["Reason"] == "HR hold"
    assert admin.get(f"/users/{user['id']}").json()["loginAllowed"] is False
    [event] = events(admin, action="account.block_login", target=f"user:{user['id']}")
    assert event["detail"] == {"reason": "HR hold"}


def test_lock_then_unlock(web, admin):
    user = ready_user(admin)
    page = web.get(f"/console/users/{user['id']}").text
    locked = post_form(web, page, f"/console/users/{user['id']}/actions/lock", {"reason": "audit"})
    assert "The user is locked." in locked.text and status_of(locked.text)["Locked"] == "yes"
    assert admin.get(f"/users/{user['id']}").json()["locked"] is True
    unlocked = post_form(web, locked.text, f"/console/users/{user['id']}/actions/unlock", {})
    assert status_of(unlocked.text)["Locked"] == "no"
    assert admin.get(f"/users/{user['id']}").json()["locked"] is False


def test_set_password_with_a_forced_change_and_readable_refusals(web, admin):
    user = new_user(admin, email="pw@example.com")
    page = web.get(f"/console/users/{user['id']}").text
    path = f"/console/users/{user['id']}/actions/set-password"
    short = post_form(web, page, path, {"password": "x", "forceChange": "on"})
    assert short.status_code == 400 and 'role="alert"' in short.text
    assert 'value="x"' not in short.text  # a password is never echoed back
    done = post_form(web, page, path, {"password": "Correct-horse-9-battery", "forceChange": "on"})
    assert "The password is set." in done.text
    assert status_of(done.text)["Password"] == "set"
    assert status_of(done.text)["Force password change"] == "yes"
    # Mail is not configured in the tests: the API's 503 is shown as it says it.
    mailed = post_form(
        web, page, f"/console/users/{user['id']}/actions/auto-reset-password", {"mode": "mail-link"}
    )
    assert mailed.status_code == 503 and "No SMTP server is configured" in mailed.text
    assert '<option value="mail-link" selected>' in mailed.text


def test_copy_access_from_a_user_found_by_search(web, admin):
    _catalog(admin)
    source = new_user(admin, userName="source-person@example.com", roles=["viewer"])
    admin.patch(f"/users/{source['id']}", json={"userGroups": ["emea"], "dacGroups": ["uk-data"]})
    target = new_user(admin)
    picker = web.get(f"/console/users/{target['id']}", params={"copySearch": "source-"}).text
    assert f'name="fromUserId" value="{source["id"]}"' in picker
    assert f'name="fromUserId" value="{target["id"]}"' not in picker
    fields = form_of(picker, "action-copy-access")
    fields["fromUserId"] = source["id"]
    copied = web.post(f"/console/users/{target['id']}/actions/copy-access", data=fields)
    assert "The access is copied." in copied.text
    held = admin.get(f"/users/{target['id']}").json()
    assert (held["roles"], held["userGroups"], held["dacGroups"]) == (
        ["viewer"],
        ["emea"],
        ["uk-data"],
    )


def test_a_disallowed_role_is_disabled_and_forcing_it_shows_the_refusal(web, admin):
    _catalog(admin)
    user = new_user(admin, name="Basic Person", accessLicence="basic")
    page = web.get(f"/console/users/{user['id']}").text
    approver = re.search(r'<input type="checkbox"[^>]*value="approver"[^>]*>', page, re.S)
    assert approver and " disabled" in approver.group(0)
    assert "needs one of the licences pro; the account has basic" in page
    finance = re.search(r'<input type="checkbox"[^>]*value="finance"[^>]*>', page, re.S)
    assert finance and " disabled" in finance.group(0)
    viewer = re.search(r'<input type="checkbox"[^>]*value="viewer"[^>]*>', page, re.S)
    assert viewer and " disabled" not in viewer.group(0)
    # A hand-made POST with the role: the API refuses, the page says why and keeps the input.
    fields = form_of(page)
    fields["name"] = "Renamed"
    tick(fields, "roles", "approver")
    refused = web.post(f"/console/users/{user['id']}", data=fields)
    assert refused.status_code == 400
    alert = re.search(r'<p class="problem" role="alert">(.*?)</p>', refused.text, re.S)
    assert alert and "licences pro" in alert.group(1)
    assert form_of(refused.text)["name"] == "Renamed"
    kept = re.search(r'<input type="checkbox"[^>]*value="approver"[^>]*>', refused.text, re.S)
    assert kept and " checked" in kept.group(0)
    held = admin.get(f"/users/{user['id']}").json()
    assert (held["name"], held["roles"]) == ("Basic Person", [])


def test_sessions_are_listed_and_ended_and_a_new_api_key_is_shown_once(web, admin, auth):
    user = ready_user(admin)
    assert login(auth, user["userName"]).status_code == 200
    [session] = admin.get(f"/users/{user['id']}/sessions").json()["sessions"]
    page = web.get(f"/console/users/{user['id']}").text
    revoke = f"/console/users/{user['id']}/sessions/{session['id']}/revoke"
    assert f'action="{revoke}"' in page
    ended = post_form(web, page, revoke, {})
    assert "The session is ended." in ended.text
    assert admin.get(f"/users/{user['id']}/sessions").json()["sessions"] == []

    made = post_form(web, page, f"/console/users/{user['id']}/api-keys", {"name": "backup"})
    key = re.search(r'<code class="secret" id="new-key">([^<]+)</code>', made.text)
    assert key
    [listed] = admin.get(f"/users/{user['id']}/api-keys").json()["api-keys"]
    assert listed["name"] == "backup"
    later = web.get(f"/console/users/{user['id']}").text
    assert key.group(1) not in later and "backup" in later
    revoked = post_form(
        web, later, f"/console/users/{user['id']}/api-keys/{listed['id']}/revoke", {}
    )
    assert "The API key is revoked." in revoked.text
    assert admin.get(f"/users/{user['id']}/api-keys").json()["api-keys"] == []


def test_deleting_asks_for_confirmation_first(web, admin):
    user = new_user(admin, name="Doomed")
    page = web.get(f"/console/users/{user['id']}").text
    asked = post_form(web, page, f"/console/users/{user['id']}/delete", {})
    assert "Delete the user" in asked.text and "cannot be undone" in asked.text
    assert admin.get(f"/users/{user['id']}").status_code == 200
    done = post_form(web, asked.text, f"/console/users/{user['id']}/delete", {"confirm": "yes"})
    assert "The user is deleted." in done.text and str(done.url).endswith("notice=user_deleted")
    assert admin.get(f"/users/{user['id']}").status_code == 404
