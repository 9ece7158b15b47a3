"""Automatic password resets, mailed through a real SMTP server on loopback."""

from __future__ import annotations

import re

import pytest

from scimd.app import create_app
from scimd.settings import Settings
from tests.scimd.accounts import (
    act,
    admin_token,
    assert_error,
    client,
    events,
    login,
    random_address,
    ready_user,
)
from tests.support.smtp import smtp_server


@pytest.fixture
def inbox():
    with smtp_server() as server:
        yield server


@pytest.fixture
def mailing(engine, tenant, inbox):
    """The admin API and /auth of an app that mails through ``inbox``."""
    app = create_app(
        Settings(smtp_host="127.0.0.1", smtp_port=inbox.port, public_url="https://id.example"),
        engine=engine,
    )
    with (
        client(app, "/admin/v1", admin_token(engine, tenant)) as admin,
        client(app, "/auth", address=random_address()) as auth,
    ):
        yield admin, auth


def _body(message) -> str:
    return message.get_payload(decode=True).decode()


def test_mail_password_sends_a_temporary_password_to_change_at_sign_in(mailing, inbox):
    admin, auth = mailing
    user = ready_user(admin, email="reset.me@example.com")
    shown = act(admin, user["id"], "auto-reset-password", mode="mail-password")
    assert shown["forcePasswordChange"] is True
    [message] = inbox.to("reset.me@example.com")
    temporary = re.search(r"Temporary password: (\S+)", _body(message)).group(1)
    assert_error(login(auth, user["userName"]), 401, "invalid_credentials")  # the old one is gone
    step = login(auth, user["userName"], temporary).json()
    assert step["status"] == "password_change_required"
    done = auth.post(
        "/password", json={"challenge": step["challenge"], "newPassword": "Mine-from-now-77"}
    )
    assert done.json()["status"] == "signed_in"
    # Once the user chose their own, the mailed one no longer works.
    assert_error(login(auth, user["userName"], temporary), 401, "invalid_credentials")
    trail = str(events(admin, target=f"user:{user['id']}"))
    assert temporary not in trail and "mail-password" in trail


def test_mail_link_resets_once(mailing, inbox):
    admin, auth = mailing
    user = ready_user(admin, email="link.me@example.com")
    act(admin, user["id"], "auto-reset-password", mode="mail-link")
    [message] = inbox.to("link.me@example.com")
    token = re.search(r"https://id\.example/auth/reset#token=(\S+)", _body(message)).group(1)
    assert_error(
        auth.post("/reset", json={"token": token, "newPassword": "weak"}), 400, "invalid_value"
    )
    reset = auth.post("/reset", json={"token": token, "newPassword": "Linked-new-pass-88"})
    assert reset.status_code == 200, reset.text
    assert login(auth, user["userName"], "Linked-new-pass-88").json()["status"] == "signed_in"
    again = auth.post("/reset", json={"token": token, "newPassword": "Other-new-pass-99"})
    assert_error(again, 401, "invalid_credentials")


def test_resets_need_a_mode_an_address_and_a_mail_server(mailing, admin):
    mailer_admin, _ = mailing
    user = ready_user(mailer_admin)  # no email
    assert_error(
        mailer_admin.post(f"/users/{user['id']}/actions/auto-reset-password", json={"mode": "x"}),
        400,
        "invalid_value",
    )
    assert_error(
        mailer_admin.post(
            f"/users/{user['id']}/actions/auto-reset-password", json={"mode": "mail-link"}
        ),
        400,
        "invalid_value",
    )
    # The default app has no SMTP server configured.
    assert_error(
        admin.post(f"/users/{user['id']}/actions/auto-reset-password", json={"mode": "mail-link"}),
        503,
        "mail_not_configured",
    )


def test_an_unreachable_mail_server_is_a_502(engine, tenant):
    app = create_app(Settings(smtp_host="127.0.0.1", smtp_port=1), engine=engine)
    with client(app, "/admin/v1", admin_token(engine, tenant)) as admin:
        user = ready_user(admin, email="nowhere@example.com")
        response = admin.post(
            f"/users/{user['id']}/actions/auto-reset-password", json={"mode": "mail-link"}
        )
        assert_error(response, 502, "mail_failed")
