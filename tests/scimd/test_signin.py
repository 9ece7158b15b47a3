"""``/auth``: password sign-in enforcing every account rule, over HTTP, on both backends."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select, update

from directory import tables
from tests.scimd.accounts import (
    PASSWORD,
    act,
    assert_error,
    client,
    events,
    login,
    new_user,
    next_code,
    random_address,
    ready_user,
)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_new_user_cannot_sign_in_until_login_access_is_granted(admin, auth):
    user = new_user(admin)
    assert user["accessLocked"] is True and user["loginAllowed"] is False
    act(admin, user["id"], "set-password", password=PASSWORD)
    assert_error(login(auth, user["userName"]), 403, "login_not_allowed")
    refused = events(admin, target=f"user:{user['id']}", action="signin.refused")
    assert refused[0]["detail"]["reason"] == "login access not granted"
    act(admin, user["id"], "allow-login")
    assert login(auth, user["userName"]).json()["status"] == "signed_in"


def test_signing_in_opens_a_session_and_stamps_last_login(admin, auth):
    email = f"Ann.Lee.{uuid.uuid4().hex[:8]}@Example.com"
    user = ready_user(admin, email=email)
    before = datetime.now(UTC) - timedelta(seconds=5)
    response = login(auth, email.lower().replace(".com", ".COM"))  # an email logs in, any case
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "signed_in" and len(body["session"]) > 30
    shown = admin.get(f"/users/{user['id']}").json()
    assert datetime.fromisoformat(shown["lastLogin"].replace("Z", "+00:00")) >= before
    assert shown["failedTries"] == 0
    assert events(admin, target=f"user:{user['id']}", action="signin.success")


def test_failed_tries_count_lock_at_the_limit_and_unlock_resets(admin, auth):
    assert admin.put("/settings", json={"max_failed_tries": 3}).status_code == 200
    user = ready_user(admin)
    for attempt in range(1, 4):
        assert_error(
            login(auth, user["userName"], "Wrong-password-123"), 401, "invalid_credentials"
        )
        assert admin.get(f"/users/{user['id']}").json()["failedTries"] == attempt
    locked = admin.get(f"/users/{user['id']}").json()
    assert locked["locked"] is True and locked["accessLocked"] is True
    assert "3 failed" in locked["lockedReason"]
    # Now even the right password is refused, as locked, and never says why beyond that.
    body = assert_error(login(auth, user["userName"]), 403, "account_locked")
    assert "failed" not in body["detail"]
    act(admin, user["id"], "unlock")
    assert admin.get(f"/users/{user['id']}").json()["failedTries"] == 0
    assert login(auth, user["userName"]).json()["status"] == "signed_in"


def test_a_success_resets_the_failed_tries(admin, auth):
    user = ready_user(admin)
    assert_error(login(auth, user["userName"], "Wrong-password-123"), 401, "invalid_credentials")
    assert admin.get(f"/users/{user['id']}").json()["failedTries"] == 1
    assert login(auth, user["userName"]).status_code == 200
    assert admin.get(f"/users/{user['id']}").json()["failedTries"] == 0


def test_the_login_date_window_is_enforced(admin, auth):
    now = datetime.now(UTC)
    later = ready_user(admin, loginAllowedFrom=_iso(now + timedelta(days=1)))
    assert_error(login(auth, later["userName"]), 403, "login_not_allowed")
    over = ready_user(
        admin,
        loginAllowedFrom=_iso(now - timedelta(days=10)),
        loginAllowedTo=_iso(now - timedelta(days=1)),
    )
    assert_error(login(auth, over["userName"]), 403, "login_not_allowed")
    open_ended = ready_user(admin, loginAllowedFrom=_iso(now - timedelta(days=1)))
    assert login(auth, open_ended["userName"]).json()["status"] == "signed_in"
    reasons = [e["detail"]["reason"] for e in events(admin, action="signin.refused")]
    assert any(r.startswith("login allowed from") for r in reasons)
    assert any(r.startswith("login allowed until") for r in reasons)


def test_blocked_login_is_refused_with_its_reason_audited(admin, auth):
    user = ready_user(admin)
    assert_error(
        admin.post(f"/users/{user['id']}/actions/block-login", json={}), 400, "invalid_value"
    )
    act(admin, user["id"], "block-login", reason="Left the company")
    assert admin.get(f"/users/{user['id']}").json()["lockedReason"] == "Left the company"
    body = assert_error(login(auth, user["userName"]), 403, "login_not_allowed")
    assert "Left" not in body["detail"]
    refused = events(admin, target=f"user:{user['id']}", action="signin.refused")
    assert refused[0]["detail"]["reason"] == "Left the company"


def test_scim_active_false_blocks_sign_in_and_true_allows_it_again(admin, auth, scim):
    user = ready_user(admin)
    path = f"/Users/{user['id']}"
    operation = {"op": "replace", "path": "active", "value": False}
    assert scim.patch(path, json={"Operations": [operation]}).status_code == 200
    assert_error(login(auth, user["userName"]), 403, "login_not_allowed")
    operation["value"] = True
    assert scim.patch(path, json={"Operations": [operation]}).status_code == 200
    assert login(auth, user["userName"]).json()["status"] == "signed_in"


def test_unknown_logins_and_wrong_passwords_look_the_same(admin, auth):
    user = ready_user(admin)
    unknown = assert_error(login(auth, "nobody@nowhere.example"), 401, "invalid_credentials")
    wrong = assert_error(
        login(auth, user["userName"], "Wrong-password-123"), 401, "invalid_credentials"
    )
    assert unknown == wrong


def test_a_forced_password_change_replaces_the_admin_set_password(admin, auth):
    user = new_user(admin)
    act(admin, user["id"], "allow-login")
    act(admin, user["id"], "set-password", password="Admin-chosen-pass-1", forceChange=True)
    first = login(auth, user["userName"], "Admin-chosen-pass-1").json()
    assert first["status"] == "password_change_required" and "session" not in first
    weak = auth.post("/password", json={"challenge": first["challenge"], "newPassword": "short"})
    assert_error(weak, 400, "invalid_value")
    # The challenge was not spent by the refused change.
    changed = auth.post(
        "/password", json={"challenge": first["challenge"], "newPassword": "Own-choice-pass-22"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "signed_in"
    again = auth.post(
        "/password", json={"challenge": first["challenge"], "newPassword": "Another-pass-333"}
    )
    assert_error(again, 401, "invalid_credentials")  # a challenge is good once
    assert_error(login(auth, user["userName"], "Admin-chosen-pass-1"), 401, "invalid_credentials")
    assert login(auth, user["userName"], "Own-choice-pass-22").json()["status"] == "signed_in"
    shown = admin.get(f"/users/{user['id']}").json()
    assert shown["forcePasswordChange"] is False


def test_the_password_policy_refuses_reuse(admin, auth):
    user = ready_user(admin)
    response = admin.post(f"/users/{user['id']}/actions/set-password", json={"password": PASSWORD})
    assert_error(response, 400, "invalid_value")
    assert "differ" in response.json()["detail"]


def test_mfa_enrolment_then_codes_then_a_trusted_device(admin, auth):
    user = ready_user(admin, mfaRequired=True)
    enrol = login(auth, user["userName"]).json()
    assert enrol["status"] == "mfa_enrolment_required"
    secret = enrol["enrolment"]["secret"]
    assert enrol["enrolment"]["uri"].startswith("otpauth://totp/")
    wrong = auth.post("/mfa", json={"challenge": enrol["challenge"], "code": "000000"})
    if pyotp.TOTP(secret).verify("000000", valid_window=1):  # one in a million
        return
    assert_error(wrong, 401, "invalid_credentials")
    done = auth.post(
        "/mfa", json={"challenge": enrol["challenge"], "code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "signed_in"
    assert admin.get(f"/users/{user['id']}").json()["mfaEnabled"] is True

    second = login(auth, user["userName"]).json()
    assert second["status"] == "mfa_required" and "enrolment" not in second
    trusted = auth.post(
        "/mfa",
        json={
            "challenge": second["challenge"],
            "code": next_code(secret),
            "trustDevice": True,
        },
    ).json()
    assert trusted["status"] == "signed_in" and trusted["trustedDevice"]
    skipped = login(auth, user["userName"], trustedDevice=trusted["trustedDevice"]).json()
    assert skipped["status"] == "signed_in"

    act(admin, user["id"], "delete-trusted-devices")
    assert (
        login(auth, user["userName"], trustedDevice=trusted["trustedDevice"]).json()["status"]
        == "mfa_required"
    )
    act(admin, user["id"], "mfa-remove")
    assert login(auth, user["userName"]).json()["status"] == "mfa_enrolment_required"
    act(admin, user["id"], "mfa-do-not-enforce")
    assert login(auth, user["userName"]).json()["status"] == "signed_in"


def test_mfa_required_by_the_tenant_default(admin, auth):
    assert admin.put("/settings", json={"mfa_required": True}).status_code == 200
    user = ready_user(admin)
    assert admin.get(f"/users/{user['id']}").json()["mfaRequired"] is True
    assert login(auth, user["userName"]).json()["status"] == "mfa_enrolment_required"


def test_wrong_codes_count_as_failed_tries(admin, auth):
    assert admin.put("/settings", json={"max_failed_tries": 2}).status_code == 200
    user = ready_user(admin, mfaRequired=True)
    challenge = login(auth, user["userName"]).json()["challenge"]
    for _ in range(2):
        assert_error(
            auth.post("/mfa", json={"challenge": challenge, "code": "12345x"}),
            401,
            "invalid_credentials",
        )
    assert admin.get(f"/users/{user['id']}").json()["locked"] is True


def _enrolled(admin, auth) -> tuple[dict, str]:
    """A user with MFA set up, and its TOTP seed."""
    user = ready_user(admin, mfaRequired=True)
    enrol = login(auth, user["userName"]).json()
    secret = enrol["enrolment"]["secret"]
    done = auth.post("/mfa", json={"challenge": enrol["challenge"], "code": next_code(secret)})
    assert done.json()["status"] == "signed_in", done.text
    return user, secret


def test_a_totp_code_is_accepted_once(admin, auth):
    user, secret = _enrolled(admin, auth)
    code = pyotp.TOTP(secret).at(time.time(), counter_offset=1)  # the step enrolment used
    challenge = login(auth, user["userName"]).json()["challenge"]
    replay = auth.post("/mfa", json={"challenge": challenge, "code": code})
    assert_error(replay, 401, "invalid_credentials")
    refused = events(admin, action="signin.mfa", result="refused")
    assert refused[0]["detail"]["reason"] == "code already used"
    # An earlier step's code is no better: the guard keeps the latest step used.
    earlier = pyotp.TOTP(secret).now()
    assert_error(
        auth.post("/mfa", json={"challenge": challenge, "code": earlier}),
        401,
        "invalid_credentials",
    )


def test_mfa_secrets_are_sealed_at_rest_and_bound_to_their_account(admin, auth, engine, tenant):
    user, secret = _enrolled(admin, auth)
    other, _ = _enrolled(admin, auth)
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                select(tables.Account.user_id, tables.Account.mfa_secret).where(
                    tables.Account.tenant_id == tenant.id
                )
            ).all()
        )
    assert secret not in rows[user["id"]] and rows[user["id"]].startswith("v1.")
    # The other account's row given this one's sealed seed does not open: codes fail.
    with engine.begin() as conn:
        conn.execute(
            update(tables.Account)
            .where(tables.Account.tenant_id == tenant.id, tables.Account.user_id == other["id"])
            .values(mfa_secret=rows[user["id"]], mfa_last_step=None)
        )
    challenge = login(auth, other["userName"]).json()["challenge"]
    response = auth.post("/mfa", json={"challenge": challenge, "code": pyotp.TOTP(secret).now()})
    assert_error(response, 401, "invalid_credentials")
    refused = events(admin, action="signin.mfa", result="refused")
    assert refused[0]["detail"]["reason"] == "MFA secret cannot be opened"


def test_repeated_failures_for_one_login_are_throttled(admin, auth):
    for _ in range(10):
        assert_error(login(auth, "ghost@nowhere.example", "Wrong-1"), 401, "invalid_credentials")
    throttled = login(auth, "ghost@nowhere.example", "Wrong-1")
    assert_error(throttled, 429, "throttled")
    assert int(throttled.headers["retry-after"]) > 0


def test_malformed_sign_in_requests_are_clear_errors(auth):
    assert_error(auth.post("/login", content=b"{nope"), 400, "invalid_json")
    assert_error(auth.post("/login", json={"login": "x"}), 401, "invalid_credentials")
    assert_error(
        auth.post("/mfa", json={"challenge": "forged", "code": "123456"}),
        401,
        "invalid_credentials",
    )


def test_repeated_failures_from_one_address_are_throttled(app, admin):
    with client(app, "/auth", address=random_address()) as one_address:
        for n in range(30):
            login(one_address, f"ghost{n}@nowhere.example", "Wrong-1")
        assert_error(login(one_address, "someone@nowhere.example", "Wrong-1"), 429, "throttled")
    with client(app, "/auth", address=random_address()) as another:
        assert_error(
            login(another, "someone@nowhere.example", "Wrong-1"), 401, "invalid_credentials"
        )


def test_logout_ends_the_session_at_once_and_is_audited(admin, auth):
    user = ready_user(admin)
    session = login(auth, user["userName"]).json()["session"]
    bearer = {"Authorization": f"Bearer {session}"}
    assert auth.get("/me", headers=bearer).status_code == 200
    assert auth.post("/logout", headers=bearer).status_code == 204
    assert_error(auth.get("/me", headers=bearer), 401, "unauthorized")
    assert_error(auth.post("/logout", headers=bearer), 401, "unauthorized")
    assert events(admin, action="signin.sign_out", target=f"user:{user['id']}")
