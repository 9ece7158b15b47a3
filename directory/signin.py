"""Password sign-in, as the account rules say: every step, and what each outcome records.

A sign-in is a short conversation: the password first, then, as the account
needs, a second factor (or enrolling one) and a change of password, each
step answered with a one-time challenge for the next. The last step opens a
session. Challenges, sessions and trusted devices are ``Credential`` rows
(only the SHA-256 of their secret is kept), so any server process can take
the next step.

Refusals raise ``SignInRefused`` subclasses whose ``code`` is all a client
learns; the precise reason is in the audit event. A wrong password is
checked before anything else is told, so an account's state is never
revealed to someone without its password.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import Connection, delete, insert, or_, select, update

from directory import accounts, audit, catalog, credentials, environment, passwords, tables
from directory.audit import Actor
from directory.clock import as_utc, utcnow
from directory.errors import (
    AccountLocked,
    InvalidCredentials,
    LoginNotAllowed,
    SignInRefused,
    Throttled,
)
from directory.sealing import Sealer
from directory.values import comparison_key

CHALLENGE_MINUTES = 5
MAX_LOGIN_LENGTH = 320
# Failures that throttle, per window: an address (many logins), a login (many addresses).
THROTTLE_WINDOW = timedelta(minutes=5)
ADDRESS_FAILURES = 30
LOGIN_FAILURES = 10
REGISTRATIONS = 10  # per address and window, made or refused

MFA = "mfa"
MFA_ENROLMENT = "mfa_enrolment"
PASSWORD_CHANGE = "password_change"
_STATUS = {
    MFA: "mfa_required",
    MFA_ENROLMENT: "mfa_enrolment_required",
    PASSWORD_CHANGE: "password_change_required",
}


@dataclass
class Outcome:
    """What the client is told after a step that succeeded."""

    status: str  # signed_in | mfa_required | mfa_enrolment_required | password_change_required
    user_id: str
    tenant_id: int
    challenge: str | None = None
    session: str | None = None
    session_expires: datetime | None = None
    trusted_device: str | None = None
    enrolment: dict[str, str] = field(default_factory=dict)  # secret and otpauth URI

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.challenge:
            body["challenge"] = self.challenge
        if self.session:
            body["session"] = self.session
            assert self.session_expires is not None
            body["expires"] = self.session_expires.isoformat().replace("+00:00", "Z")
        if self.trusted_device:
            body["trustedDevice"] = self.trusted_device
        if self.enrolment:
            body["enrolment"] = self.enrolment
        return body


# --- throttling ----------------------------------------------------------------------------


def _throttle_keys(login_key: str, client: str | None) -> list[tuple[str, int]]:
    keys = [(f"login:{login_key}", LOGIN_FAILURES)]
    if client:
        keys.append((f"address:{client}", ADDRESS_FAILURES))
    return keys


def _check_throttle(conn: Connection, login_key: str, client: str | None) -> None:
    _check_budgets(conn, _throttle_keys(login_key, client))


def _count_failure(conn: Connection, login_key: str, client: str | None) -> None:
    _spend_budgets(conn, _throttle_keys(login_key, client))


def spend_registration(conn: Connection, client: str | None) -> None:
    """Count a registration from ``client`` against its budget; ``Throttled`` when spent.

    Every attempt counts, made or refused: it is registration spam that this limits.
    """
    keys = [(f"register:{client or 'unknown'}", REGISTRATIONS)]
    _check_budgets(conn, keys)
    _spend_budgets(conn, keys)


def _check_budgets(conn: Connection, keys: list[tuple[str, int]]) -> None:
    now = utcnow()
    for key, limit in keys:
        row = conn.execute(
            select(tables.SignInThrottle.__table__).where(tables.SignInThrottle.key == key)
        ).first()
        if row is None:
            continue
        ends = as_utc(row.window_start) + THROTTLE_WINDOW
        if ends > now and row.failures >= limit:
            raise Throttled(
                f"{row.failures} attempts for {key} since {row.window_start}",
                retry_after=max(1, int((ends - now).total_seconds())),
            )


def _spend_budgets(conn: Connection, keys: list[tuple[str, int]]) -> None:
    now = utcnow()
    throttle = tables.SignInThrottle
    for key, _limit in keys:
        row = conn.execute(
            select(throttle.__table__).where(throttle.key == key).with_for_update()
        ).first()
        if row is None:
            conn.execute(insert(throttle).values(key=key, window_start=now, failures=1))
        elif as_utc(row.window_start) + THROTTLE_WINDOW <= now:
            conn.execute(
                update(throttle).where(throttle.key == key).values(window_start=now, failures=1)
            )
        else:
            conn.execute(
                update(throttle).where(throttle.key == key).values(failures=throttle.failures + 1)
            )


# --- finding the account ------------------------------------------------------------------


def find_login(conn: Connection, login: str, tenant_id: int | None = None) -> list[tuple[int, str]]:
    """The (tenant, user) pairs whose userName or an email is ``login``, case-insensitively."""
    key = comparison_key(login)
    by_name = select(tables.User.tenant_id, tables.User.id).where(tables.User.user_name_key == key)
    by_email = select(tables.UserEmail.tenant_id, tables.UserEmail.user_id).where(
        tables.UserEmail.value_key == key
    )
    if tenant_id is not None:
        by_name = by_name.where(tables.User.tenant_id == tenant_id)
        by_email = by_email.where(tables.UserEmail.tenant_id == tenant_id)
    found = {(row[0], row[1]) for row in conn.execute(by_name)}
    found |= {(row[0], row[1]) for row in conn.execute(by_email)}
    return sorted(found)


def _user_row(conn: Connection, tenant_id: int, user_id: str) -> Any:
    return conn.execute(
        select(tables.User.active, tables.User.user_name).where(
            tables.User.tenant_id == tenant_id, tables.User.id == user_id
        )
    ).one()


def _password_hash(conn: Connection, tenant_id: int, user_id: str) -> str | None:
    return conn.execute(
        select(tables.Account.password_hash).where(
            tables.Account.tenant_id == tenant_id, tables.Account.user_id == user_id
        )
    ).scalar()


# --- the steps -----------------------------------------------------------------------------


def _fail(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    actor: Actor,
    action: str,
    reason: str,
) -> InvalidCredentials | AccountLocked:
    """Count a failed try against the account (locking it at the tenant's limit), audit it."""
    env = environment.get(conn, tenant_id)
    account = accounts.get_account(conn, tenant_id, user_id)
    tries = account.failed_tries + 1
    values: dict[str, Any] = {"failed_tries": tries}
    locks_now = not account.locked and tries >= env.max_failed_tries
    if locks_now:
        values.update(
            locked=True,
            locked_date=utcnow(),
            locked_reason=f"Locked after {tries} failed sign-in attempts",
        )
    accounts.set_fields(conn, tenant_id, user_id, **values)
    audit.record(
        conn,
        tenant_id,
        actor,
        action,
        f"user:{user_id}",
        result="refused",
        detail={"reason": reason, "failedTries": tries, "lockedNow": locks_now},
    )
    return InvalidCredentials(reason)


def begin(
    conn: Connection,
    login: Any,
    password: Any,
    *,
    client: str | None = None,
    trusted_device: Any = None,
    tenant_id: int | None = None,
    sealer: Sealer,
) -> Outcome:
    """The first step: a login (userName or email) and a password.

    Raises ``Throttled`` or ``InvalidCredentials`` for what needs no record; a
    refusal that must be recorded (a failed try counted, an audit event) comes
    as ``PendingFailure``, which the unit of work returns instead of raising so
    that the record commits before the client is answered.
    """
    if not isinstance(login, str) or not isinstance(password, str) or not login.strip():
        raise InvalidCredentials("login and password are required")
    if len(login) > MAX_LOGIN_LENGTH or len(password) > passwords.MAX_LENGTH:
        raise InvalidCredentials("login or password too long")
    login_key = comparison_key(login.strip())
    _check_throttle(conn, login_key, client)
    candidates = find_login(conn, login.strip(), tenant_id)
    if len(candidates) != 1:
        passwords.verify(None, password)  # the time a real check takes
        _count_failure(conn, login_key, client)
        raise PendingFailure(
            InvalidCredentials("no account" if not candidates else "login names several accounts")
        )
    tenant, user_id = candidates[0]
    actor = Actor("user", user_id, client)
    password_hash = _password_hash(conn, tenant, user_id)
    if not passwords.verify(password_hash, password):
        _count_failure(conn, login_key, client)
        raise PendingFailure(
            _fail(conn, tenant, user_id, actor, "signin.password", "wrong password")
        )
    if password_hash is not None and passwords.needs_rehash(password_hash):
        # Hashed with older parameters: the clear password is here once, to re-hash it.
        accounts.set_fields(conn, tenant, user_id, password_hash=passwords.hash_password(password))
    account = accounts.get_account(conn, tenant, user_id)
    _check_access(conn, tenant, user_id, account, actor)
    steps: list[str] = []
    if account.mfa_required:
        if not account.mfa_enabled:
            steps.append(MFA_ENROLMENT)
        elif not _trusted(conn, tenant, user_id, trusted_device):
            steps.append(MFA)
    if account.force_password_change:
        steps.append(PASSWORD_CHANGE)
    audit.record(conn, tenant, actor, "signin.password", f"user:{user_id}", detail={"next": steps})
    return _next(conn, tenant, user_id, steps, actor, {}, sealer)


def federated_session(
    conn: Connection, tenant_id: int, user_id: str, provider: str, client: str | None
) -> Outcome:
    """A session for an account an identity provider vouched for.

    The same account rules as a password sign-in apply (locked, blocked, not
    yet approved, outside the date window, SCIM-inactive); the password,
    the local second factor and a forced password change are the provider's
    business and are not asked for.
    """
    actor = Actor("user", user_id, client)
    account = accounts.get_account(conn, tenant_id, user_id)
    _check_access(conn, tenant_id, user_id, account, actor)
    env = environment.get(conn, tenant_id)
    session, expires = credentials.new(
        conn, tenant_id, user_id, "session", timedelta(hours=env.session_hours), client
    )
    accounts.set_fields(conn, tenant_id, user_id, last_login=utcnow(), failed_tries=0)
    audit.record(
        conn, tenant_id, actor, "signin.success", f"user:{user_id}", detail={"provider": provider}
    )
    return Outcome("signed_in", user_id, tenant_id, session=session, session_expires=expires)


def _check_access(
    conn: Connection, tenant_id: int, user_id: str, account: accounts.Account, actor: Actor
) -> None:
    """Refuse, with the precise reason audited, an account that may not sign in now."""
    now = utcnow()
    refusal: AccountLocked | LoginNotAllowed | None = None
    user = _user_row(conn, tenant_id, user_id)
    if account.locked:
        refusal = AccountLocked(account.locked_reason or "locked")
    elif user.active is False:
        refusal = LoginNotAllowed("deactivated (SCIM active=false)")
    elif account.approval == "pending":
        refusal = LoginNotAllowed("waiting for approval")
    elif not account.login_allowed:
        refusal = LoginNotAllowed(account.locked_reason or "login access not granted")
    elif account.login_allowed_from is not None and now < account.login_allowed_from:
        refusal = LoginNotAllowed(f"login allowed from {account.login_allowed_from.isoformat()}")
    elif account.login_allowed_to is not None and now > account.login_allowed_to:
        refusal = LoginNotAllowed(f"login allowed until {account.login_allowed_to.isoformat()}")
    if refusal is not None:
        audit.record(
            conn,
            tenant_id,
            actor,
            "signin.refused",
            f"user:{user_id}",
            result=refusal.code,
            detail={"reason": refusal.detail},
        )
        raise PendingFailure(refusal)


def _trusted(conn: Connection, tenant_id: int, user_id: str, secret: Any) -> bool:
    row = credentials.live(conn, secret, "trusted_device")
    return row is not None and row.tenant_id == tenant_id and row.user_id == user_id


def _next(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    steps: list[str],
    actor: Actor,
    carried: dict[str, Any],
    sealer: Sealer,
) -> Outcome:
    """A challenge for the first remaining step, or the session when none remain."""
    if not steps:
        return _open_session(conn, tenant_id, user_id, actor, carried)
    detail: dict[str, Any] = {"steps": steps, **carried}
    outcome = Outcome(_STATUS[steps[0]], user_id, tenant_id)
    if steps[0] == MFA_ENROLMENT:
        secret = pyotp.random_base32()
        # The challenge row is in the database too: the seed is sealed there as well.
        detail["pending_secret"] = sealer.seal(secret, _owner(tenant_id, user_id))
        user = _user_row(conn, tenant_id, user_id)
        outcome.enrolment = {
            "secret": secret,
            "uri": pyotp.TOTP(secret).provisioning_uri(name=user.user_name, issuer_name="scimd"),
        }
    challenge, _ = credentials.new(
        conn,
        tenant_id,
        user_id,
        "challenge",
        timedelta(minutes=CHALLENGE_MINUTES),
        actor.client,
        detail,
    )
    outcome.challenge = challenge
    return outcome


def _open_session(
    conn: Connection, tenant_id: int, user_id: str, actor: Actor, carried: dict[str, Any]
) -> Outcome:
    env = environment.get(conn, tenant_id)
    session, expires = credentials.new(
        conn, tenant_id, user_id, "session", timedelta(hours=env.session_hours), actor.client
    )
    accounts.set_fields(conn, tenant_id, user_id, last_login=utcnow(), failed_tries=0)
    audit.record(conn, tenant_id, actor, "signin.success", f"user:{user_id}")
    outcome = Outcome("signed_in", user_id, tenant_id, session=session, session_expires=expires)
    outcome.trusted_device = carried.get("trusted_device_secret")
    return outcome


def _take_challenge(conn: Connection, challenge: Any, step: str, client: str | None) -> Any:
    row = credentials.live(conn, challenge, "challenge")
    if row is None or not row.detail.get("steps") or row.detail["steps"][0] != step:
        raise InvalidCredentials("unknown, used or expired challenge")
    # One use: the next step gets a new challenge.
    conn.execute(delete(tables.Credential).where(tables.Credential.token_hash == row.token_hash))
    return row


def _owner(tenant_id: int, user_id: str) -> str:
    """What a sealed TOTP seed is bound to: it opens for this account only."""
    return f"totp:{tenant_id}:{user_id}"


def _code_step(seed: str, code: Any) -> int | None:
    """The time step a TOTP code belongs to: the current one or either neighbour (clock drift)."""
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(seed)
    now = totp.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _spend_step(conn: Connection, tenant_id: int, user_id: str, step: int) -> bool:
    """Record ``step`` as used unless it, or a later one, already was: a code works once.

    One conditional UPDATE, so that two servers given the same code at the same
    moment cannot both accept it.
    """
    account = tables.Account
    spent = conn.execute(
        update(account)
        .where(
            account.tenant_id == tenant_id,
            account.user_id == user_id,
            or_(account.mfa_last_step.is_(None), account.mfa_last_step < step),
        )
        .values(mfa_last_step=step)
    )
    return spent.rowcount == 1


def verify_mfa(
    conn: Connection,
    challenge: Any,
    code: Any,
    *,
    trust_device: bool = False,
    client: str | None = None,
    sealer: Sealer,
) -> Outcome:
    """The second factor: a TOTP code for the challenge of an ``mfa`` or ``mfa_enrolment`` step."""
    row = credentials.live(conn, challenge, "challenge")
    step = row.detail["steps"][0] if row is not None and row.detail.get("steps") else None
    if step not in (MFA, MFA_ENROLMENT):
        raise InvalidCredentials("unknown, used or expired challenge")
    assert row is not None
    tenant_id, user_id = row.tenant_id, row.user_id
    actor = Actor("user", user_id, client)
    owner = _owner(tenant_id, user_id)
    if step == MFA_ENROLMENT:
        stored = row.detail["pending_secret"]
    else:
        stored = conn.execute(
            select(tables.Account.mfa_secret).where(
                tables.Account.tenant_id == tenant_id, tables.Account.user_id == user_id
            )
        ).scalar()
    seed = None if stored is None else sealer.open(stored, owner)
    code_step = None if seed is None else _code_step(seed, code)
    if seed is None or code_step is None:
        reason = "wrong code" if seed is not None else "MFA secret cannot be opened"
        raise PendingFailure(_fail(conn, tenant_id, user_id, actor, "signin.mfa", reason))
    if not _spend_step(conn, tenant_id, user_id, code_step):
        raise PendingFailure(
            _fail(conn, tenant_id, user_id, actor, "signin.mfa", "code already used")
        )
    _take_challenge(conn, challenge, step, client)
    account = accounts.get_account(conn, tenant_id, user_id)
    _check_access(conn, tenant_id, user_id, account, actor)  # locked meanwhile?
    if step == MFA_ENROLMENT:
        accounts.set_fields(conn, tenant_id, user_id, mfa_secret=stored, mfa_enabled=True)
        audit.record(conn, tenant_id, actor, "account.mfa_enrolled", f"user:{user_id}")
    elif stored is not None and sealer.is_stale(stored):
        # Sealed before the current key (or before sealing): seal it again now it is open.
        accounts.set_fields(conn, tenant_id, user_id, mfa_secret=sealer.seal(seed, owner))
    carried: dict[str, Any] = {}
    if trust_device:
        env = environment.get(conn, tenant_id)
        if env.trusted_device_days > 0:
            device, _ = credentials.new(
                conn,
                tenant_id,
                user_id,
                "trusted_device",
                timedelta(days=env.trusted_device_days),
                client,
            )
            carried["trusted_device_secret"] = device
    audit.record(conn, tenant_id, actor, "signin.mfa", f"user:{user_id}")
    return _next(conn, tenant_id, user_id, row.detail["steps"][1:], actor, carried, sealer)


def change_password(
    conn: Connection,
    challenge: Any,
    new_password: Any,
    *,
    client: str | None = None,
    sealer: Sealer,
) -> Outcome:
    """The forced change: the user's own password replaces the admin-set one."""
    row = _take_challenge(conn, challenge, PASSWORD_CHANGE, client)
    tenant_id, user_id = row.tenant_id, row.user_id
    actor = Actor("user", user_id, client)
    accounts.set_password(conn, tenant_id, user_id, actor, new_password, by_owner=True)
    carried = {k: v for k, v in row.detail.items() if k == "trusted_device_secret"}
    return _next(conn, tenant_id, user_id, row.detail["steps"][1:], actor, carried, sealer)


def _bearer(conn: Connection, secret: Any) -> tuple[Any, str, Any] | None:
    """The live credential a session token or user API key is, its kind and its user's row,
    while the account may sign in."""
    for kind in ("session", "api_key"):
        row = credentials.live(conn, secret, kind)
        if row is not None:
            break
    else:
        return None
    account = accounts.get_account(conn, row.tenant_id, row.user_id)
    user = _user_row(conn, row.tenant_id, row.user_id)
    if account.access_locked or user.active is False:
        return None  # locked or blocked since: its sessions and keys stop working
    return row, kind, user


def bearer_user(conn: Connection, secret: Any) -> dict[str, Any] | None:
    """Who a session token or a user API key stands for, while the account may sign in."""
    found = _bearer(conn, secret)
    if found is None:
        return None
    row, kind, user = found
    return {"userId": row.user_id, "userName": user.user_name, "kind": kind}


def sign_out(conn: Connection, secret: Any, *, client: str | None = None) -> bool:
    """End the sign-in session ``secret`` is (its cookie or copy stops working at once);
    False if it is no live session."""
    row = credentials.live(conn, secret, "session")
    if row is None:
        return False
    credentials.revoke_all(
        conn,
        row.tenant_id,
        row.user_id,
        "session",
        tables.Credential.token_hash == credentials.digest(secret),
    )
    actor = Actor("user", row.user_id, client)
    audit.record(conn, row.tenant_id, actor, "signin.sign_out", f"user:{row.user_id}")
    return True


def admin_user(conn: Connection, secret: Any, role: str) -> tuple[int, str] | None:
    """The (tenant, user) a session token or user API key stands for when that user may
    sign in and holds ``role`` (granted, or through a role group); else None.

    This is how a person, rather than an API token, administers a tenant: the admin
    console signs them in and calls the admin API with their session.
    """
    found = _bearer(conn, secret)
    if found is None:
        return None
    row = found[0]
    if role not in catalog.effective_roles(conn, row.tenant_id, row.user_id):
        return None
    return row.tenant_id, row.user_id


class PendingFailure(Exception):
    """A refusal whose bookkeeping (failed-try counts, audit) must be committed first.

    The unit of work returns it instead of raising it, so its writes commit; the
    HTTP layer then raises ``refusal``.
    """

    def __init__(self, refusal: SignInRefused) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


def reset_password(
    conn: Connection, token: Any, new_password: Any, *, client: str | None = None
) -> tuple[int, str]:
    """Set the password a reset link was mailed for; the link works once."""
    row = credentials.live(conn, token, "reset")
    if row is None:
        raise InvalidCredentials("unknown, used or expired reset link")
    tenant_id, user_id = row.tenant_id, row.user_id
    actor = Actor("user", user_id, client)
    accounts.set_password(conn, tenant_id, user_id, actor, new_password, by_owner=True)
    conn.execute(delete(tables.Credential).where(tables.Credential.token_hash == row.token_hash))
    return tenant_id, user_id
