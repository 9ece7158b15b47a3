"""The console's SSO link wizard: a CSV provider's list or an Azure AD directory (app-only, or
after logging in to Azure AD against the fake authority), the rows with their match status,
links added and removed by ticking, and the per-row result of apply (a refusal too)."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest

from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.scimd.accounts import admin_token, assert_error, new_user
from tests.scimd.console.pages import browser, hidden, sign_in_with_token
from tests.support.spreadsheets import csv_bytes

PROVIDER = "onelogin"


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


@pytest.fixture
def azure_web(engine, tenant, authority, admin):
    """The console of an app that trusts the fake authority, with an Azure AD provider."""
    body = {
        "kind": "azure_ad",
        "clientId": authority.client_id,
        "clientSecret": authority.client_secret,
        "authority": authority.authority,
        "graphUrl": authority.graph_url,
    }
    assert admin.put("/sso/providers/azure_ad", json=body).status_code == 200
    settings = Settings(
        shared_logins=True,
        secret_key=TEST_SECRET_KEY,
        job_runner=False,
        sso_ca_file=authority.ca_path,
        public_url="http://testserver",
    )
    with browser(create_app(settings, engine=engine)) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


def email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}@example.com"


def person(admin, name: str) -> dict[str, Any]:
    """A user whose email is its user name."""
    address = email(name)
    return new_user(admin, userName=address, email=address)


def upload(web, data: bytes, provider: str = PROVIDER):
    page = web.get("/console/sso").text
    return web.post(
        "/console/sso/snapshots",
        data={"csrf": hidden(page, "csrf"), "provider": provider},
        files={"file": ("people.csv", data, "text/csv")},
    )


def rows(page: str) -> dict[str, str]:
    """Each row's object id and status, as the list shows them."""
    found = re.findall(
        r'<td class="status-[\w-]+">([^<]+)(?:<br>.*?)?</td>.*?<code>([^<]+)</code>', page, re.S
    )
    return {object_id: status for status, object_id in found}


def boxes(page: str, name: str) -> list[str]:
    """The values of the checkboxes called ``name``, asserting none is ticked already."""
    found = re.findall(rf'<input type="checkbox" name="{name}" value="([^"]*)"([^>]*)>', page)
    assert all("checked" not in rest for _, rest in found)
    return [html.unescape(value) for value, _ in found]


def apply(web, page: str, **ticked: list[str]) -> Any:
    action = html.unescape(re.search(r'<form method="post" action="([^"]*/apply[^"]*)"', page)[1])
    return web.post(action, data={"csrf": hidden(page, "csrf"), **ticked})


def links(admin, provider: str = PROVIDER) -> dict[str, str]:
    found = admin.get("/sso/links", params={"provider": provider}).json()["links"]
    return {link["objectId"]: link["userId"] for link in found}


def test_a_csv_list_is_linked_and_unlinked_by_ticking_rows(web, admin):
    ann = new_user(admin, userName=email("ann"), email=email("ann-mail"))
    bob = person(admin, "bob")
    linked = {"action": "add", "objectId": "obj-bob", "userId": bob["id"]}
    assert admin.post(
        "/sso/links/apply", json={"provider": PROVIDER, "choices": [linked]}
    ).is_success
    data = csv_bytes(
        ["email", "object_id"],
        [[ann["email"], "obj-ann"], [bob["userName"], "obj-bob"], [email("x"), "x"]],
    )
    listed = upload(web, data)
    assert listed.status_code == 200, listed.text
    assert re.search(r"/console/sso/snapshots/\d+\?notice=sso_listed$", str(listed.url))
    assert rows(listed.text) == {"obj-ann": "Match", "obj-bob": "Linked", "x": "No local user"}
    assert ann["userName"] in listed.text  # the matched account, by its user name
    [add] = boxes(listed.text, "add")
    assert boxes(listed.text, "remove") == ["obj-bob"]
    only_matches = web.get(str(listed.url).split("?")[0], params={"status": "match"}).text
    assert (
        rows(only_matches) == {"obj-ann": "Match"} and 'aria-current="page">Match' in only_matches
    )

    nothing = apply(web, listed.text)
    assert nothing.status_code == 400 and "at least one row" in nothing.text
    done = apply(web, listed.text, add=[add], remove=["obj-bob"])
    assert done.status_code == 200, done.text
    assert "Links applied" in done.text and "All 2 changes made" in done.text
    assert re.search(r'class="result-linked">\s*Linked', done.text)
    assert re.search(r'class="result-unlinked">\s*Unlinked', done.text)
    assert links(admin) == {"obj-ann": ann["id"]}
    again = web.get(str(listed.url).split("?")[0]).text
    assert rows(again)["obj-ann"] == "Linked" and rows(again)["obj-bob"] == "Match"


def test_a_refused_apply_changes_nothing_and_says_why_per_row(web, admin):
    cy, dee = person(admin, "cy"), person(admin, "dee")
    listed = upload(
        web, csv_bytes(["email", "object_id"], [[cy["userName"], "obj-cy"], [dee["userName"], "d"]])
    )
    ticked = boxes(listed.text, "add")
    assert len(ticked) == 2
    # Meanwhile, someone links Cy's account to another object id.
    meanwhile = {"action": "add", "objectId": "obj-other", "userId": cy["id"]}
    assert admin.post(
        "/sso/links/apply", json={"provider": PROVIDER, "choices": [meanwhile]}
    ).is_success
    refused = apply(web, listed.text, add=ticked)
    assert refused.status_code == 409
    assert "Links not applied" in refused.text and 'role="alert"' in refused.text
    assert "<strong>Failed:</strong> the account is already linked" in refused.text
    assert "not made, as another failed" in refused.text  # Dee's, rolled back
    assert links(admin) == {"obj-other": cy["id"]}


def test_a_bad_csv_is_shown_on_the_form(web):
    refused = upload(web, csv_bytes(["mail", "id"], [["a@example.com", "1"]]))
    assert refused.status_code == 400
    assert 'class="problem" role="alert"' in refused.text and "object_id" in refused.text
    assert 'value="onelogin"' in refused.text  # the provider typed is kept
    bad_name = upload(web, csv_bytes(["email", "object_id"], [["a@example.com", "1"]]), "a b")
    assert bad_name.status_code == 400 and "provider is a name" in bad_name.text


def _graph_user(n: int, mail: str | None = None) -> dict[str, Any]:
    return {
        "id": f"obj-{n}",
        "displayName": f"User {n}",
        "mail": mail,
        "userPrincipalName": f"user{n}@tenant.onmicrosoft.com",
        "otherMails": [],
    }


def test_azure_ad_app_only_lists_the_directory(azure_web, admin, authority):
    gus = person(admin, "gus")
    authority.graph_users = [_graph_user(1, gus["userName"]), _graph_user(2)]
    page = azure_web.get("/console/sso").text
    assert "Log in to Azure AD" in page and "List app-only" in page
    listed = azure_web.post(
        "/console/sso/providers/azure_ad/snapshots", data={"csrf": hidden(page, "csrf")}
    )
    assert listed.status_code == 200, listed.text
    assert rows(listed.text) == {"obj-1": "Match", "obj-2": "No local user"}
    assert "azure_ad users" in listed.text and "User 1" in listed.text
    done = apply(azure_web, listed.text, add=boxes(listed.text, "add"))
    assert "Links applied" in done.text
    assert links(admin, "azure_ad") == {"obj-1": gus["id"]}


def test_a_provider_failure_is_readable(azure_web, admin, authority):
    body = {
        "kind": "azure_ad",
        "clientId": authority.client_id,
        "clientSecret": "wrong",
        "authority": authority.authority,
        "graphUrl": authority.graph_url,
    }
    assert admin.put("/sso/providers/azure_ad", json=body).status_code == 200
    page = azure_web.get("/console/sso").text
    failed = azure_web.post(
        "/console/sso/providers/azure_ad/snapshots", data={"csrf": hidden(page, "csrf")}
    )
    assert failed.status_code == 502
    assert 'class="problem" role="alert"' in failed.text and "Log in to Azure AD" in failed.text


def test_logging_in_to_azure_ad_returns_to_the_list(azure_web, admin, authority):
    hal = person(admin, "hal")
    authority.graph_users = [_graph_user(7, hal["userName"])]
    page = azure_web.get("/console/sso").text
    going = azure_web.post(
        "/console/sso/providers/azure_ad/login", data={"csrf": hidden(page, "csrf")}
    )
    assert going.status_code == 200, going.text
    auth_uri = html.unescape(re.search(r'<a href="([^"]+)" data-navigate', going.text)[1])
    assert auth_uri.startswith(authority.authority)
    back = authority.sign_in(auth_uri)
    called_back = azure_web.post("/sso/azure/callback", data=back, follow_redirects=False)
    assert called_back.status_code == 303
    returned = called_back.headers["location"]
    snapshot = re.fullmatch(r"/console/sso/return\?snapshot=(\d+)", returned)[1]
    # The browser arrives without its SameSite=Strict cookie: the page needs none, and
    # sends it on to the list (a same-site navigation: the cookie goes with it).
    kept = dict(azure_web.cookies)
    azure_web.cookies.clear()
    bounce = azure_web.get(returned)
    assert bounce.status_code == 200 and hal["userName"] not in bounce.text
    target = html.unescape(re.search(r'<a href="([^"]+)" data-navigate', bounce.text)[1])
    assert target == f"/console/sso/snapshots/{snapshot}?notice=sso_listed"
    azure_web.cookies.update(kept)
    listed = azure_web.get(target)
    assert rows(listed.text) == {"obj-7": "Match"} and hal["userName"] in listed.text
    assert (
        azure_web.get("/console/sso/return?snapshot=x", follow_redirects=False).status_code == 303
    )


def test_the_wizard_login_returns_only_to_the_console(admin):
    for where in ("https://evil.example/", "//evil.example/x", "/console/../x", "/auth/me", 7):
        refused = admin.post("/sso/providers/azure_ad/login", json={"returnTo": where})
        assert_error(refused, 400, "invalid_value")
