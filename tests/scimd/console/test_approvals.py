"""The console's pending approvals: listed with a choice per row and for many at once, each
decision made through the admin API, and refusals said in words."""

from __future__ import annotations

import re

import pytest

from directory import accounts
from directory.audit import SYSTEM
from tests.scimd.accounts import act, admin_token, new_user
from tests.scimd.console.pages import browser, post_form, sign_in_with_token


@pytest.fixture
def waiting(admin, engine, tenant):
    """Three users waiting for approval, and one that is not."""
    made = [new_user(admin, name=f"Waiting {n}") for n in range(3)]
    with engine.begin() as conn:
        for user in made:
            accounts.mark_pending(conn, tenant.id, user["id"], SYSTEM)
    new_user(admin, userName="not-waiting@example.com")
    return made


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


def listed(html: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" name="ids" value="([^"]+)"', html))


def test_the_page_lists_only_the_users_waiting(web, waiting):
    page = web.get("/console/approvals")
    assert page.status_code == 200
    assert listed(page.text) == {u["id"] for u in waiting}
    assert "not-waiting@example.com" not in page.text
    assert page.text.count("<h1>") == 1 and '<th scope="col">User name</th>' in page.text
    for user in waiting:
        assert f'name="approve" value="{user["id"]}"' in page.text
        assert f'aria-label="Reject {user["userName"]}"' in page.text


def test_a_rows_own_button_approves_that_user(web, admin, waiting):
    page = web.get("/console/approvals")
    done = post_form(web, page.text, "/console/approvals", {"approve": waiting[0]["id"]})
    assert done.status_code == 200 and "Approved." in done.text
    assert str(done.url).endswith("/console/approvals?notice=approved")
    shown = admin.get(f"/users/{waiting[0]['id']}").json()
    assert shown["approval"] == "approved" and shown["loginAllowed"] is True
    assert listed(done.text) == {waiting[1]["id"], waiting[2]["id"]}


def test_the_ticked_users_are_rejected_together(web, admin, waiting):
    page = web.get("/console/approvals")
    chosen = [waiting[1]["id"], waiting[2]["id"]]
    done = post_form(web, page.text, "/console/approvals", {"action": "reject", "ids": chosen})
    assert "Rejected." in done.text
    assert all(admin.get(f"/users/{i}").json()["approval"] == "rejected" for i in chosen)
    assert listed(done.text) == {waiting[0]["id"]}


def test_deciding_for_a_user_decided_meanwhile_changes_nothing_and_says_why(web, admin, waiting):
    page = web.get("/console/approvals")
    act(admin, waiting[0]["id"], "approve")  # another admin, first
    chosen = [waiting[0]["id"], waiting[1]["id"]]
    refused = post_form(web, page.text, "/console/approvals", {"action": "approve", "ids": chosen})
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text and "Nothing was changed" in refused.text
    assert f"No longer waiting for approval: {waiting[0]['userName']}." in refused.text
    assert admin.get(f"/users/{waiting[1]['id']}").json()["approval"] == "pending"
    assert listed(refused.text) == {waiting[1]["id"], waiting[2]["id"]}


def test_deciding_for_a_user_deleted_meanwhile_says_so(web, admin, waiting):
    page = web.get("/console/approvals")
    admin.delete(f"/users/{waiting[2]['id']}", params={"confirm": "true"})
    chosen = [waiting[1]["id"], waiting[2]["id"]]
    refused = post_form(web, page.text, "/console/approvals", {"action": "reject", "ids": chosen})
    assert refused.status_code == 409 and "Deleted meanwhile: 1 user." in refused.text
    assert admin.get(f"/users/{waiting[1]['id']}").json()["approval"] == "pending"


def test_a_decision_with_nobody_ticked_says_so(web, waiting):
    page = web.get("/console/approvals")
    answer = post_form(web, page.text, "/console/approvals", {"action": "approve"})
    assert answer.status_code == 400 and "Select at least one user first." in answer.text
    assert listed(answer.text) == {u["id"] for u in waiting}


def test_an_empty_list_says_nobody_waits(web):
    page = web.get("/console/approvals")
    assert page.status_code == 200 and "Nobody is waiting for approval." in page.text


def test_a_decision_without_the_forms_token_is_refused(web, admin, waiting):
    answer = web.post("/console/approvals", data={"csrf": "forged", "approve": waiting[0]["id"]})
    assert answer.status_code == 403
    assert admin.get(f"/users/{waiting[0]['id']}").json()["approval"] == "pending"
