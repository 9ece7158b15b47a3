"""Account administration: the state admins set on an account, and the actions that set it.

An account is the sign-in side of a user (``tables.Account``). A user without
an account row has the defaults: no login access yet, not locked, no
password, MFA as the tenant's environment says. Every action runs in the
caller's transaction and appends its audit event there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from directory import audit, catalog, credentials, environment, passwords, tables, users
from directory.audit import Actor
from directory.clock import as_utc, utcnow
from directory.errors import InvalidValue

REASON_LENGTH = 500


@dataclass
class Account:
    user_id: str
    user_type: str | None = None
    login_allowed: bool = False
    locked: bool = False
    locked_date: datetime | None = None
    locked_reason: str | None = None
    last_login: datetime | None = None
    failed_tries: int = 0
    mfa_enabled: bool = False
    mfa_required_set: bool | None = None  # None: the tenant's default
    mfa_not_enforced: bool = False
    force_password_change: bool = False
    login_allowed_from: datetime | None = None
    login_allowed_to: datetime | None = None
    access_licence: str | None = None
    has_password: bool = False
    password_set_by: str | None = None
    approval: str | None = None
    mfa_required_default: bool = False

    @property
    def access_locked(self) -> bool:
        """Locked, blocked, or not yet granted login access: no sign-in either way."""
        return self.locked or not self.login_allowed

    @property
    def mfa_required(self) -> bool:
        if self.mfa_not_enforced:
            return False
        if self.mfa_required_set is not None:
            return self.mfa_required_set
        return self.mfa_required_default

    def to_json(self) -> dict[str, Any]:
        """The admin API's and SCIM extension's view (camelCase, UTC ISO dates)."""
        return {
            "userType": self.user_type,
            "accessLocked": self.access_locked,
            "loginAllowed": self.login_allowed,
            "locked": self.locked,
            "lockedDate": _iso(self.locked_date),
            "lockedReason": self.locked_reason,
            "lastLogin": _iso(self.last_login),
            "failedTries": self.failed_tries,
            "mfaEnabled": self.mfa_enabled,
            "mfaRequired": self.mfa_required,
            "mfaNotEnforced": self.mfa_not_enforced,
            "forcePasswordChange": self.force_password_change,
            "loginAllowedFrom": _iso(self.login_allowed_from),
            "loginAllowedTo": _iso(self.login_allowed_to),
            "accessLicence": self.access_licence,
            "hasPassword": self.has_password,
            "approval": self.approval,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def _from_row(user_id: str, row: Any, default_mfa: bool) -> Account:
    if row is None:
        return Account(user_id=user_id, mfa_required_default=default_mfa)
    return Account(
        user_id=user_id,
        user_type=row.user_type,
        login_allowed=row.login_allowed,
        locked=row.locked,
        locked_date=row.locked_date and as_utc(row.locked_date),
        locked_reason=row.locked_reason,
        last_login=row.last_login and as_utc(row.last_login),
        failed_tries=row.failed_tries,
        mfa_enabled=row.mfa_enabled,
        mfa_required_set=row.mfa_required,
        mfa_not_enforced=row.mfa_not_enforced,
        force_password_change=row.force_password_change,
        login_allowed_from=row.login_allowed_from and as_utc(row.login_allowed_from),
        login_allowed_to=row.login_allowed_to and as_utc(row.login_allowed_to),
        access_licence=row.access_licence,
        has_password=row.password_hash is not None,
        password_set_by=row.password_set_by,
        approval=row.approval,
        mfa_required_default=default_mfa,
    )


def get_account(conn: Connection, tenant_id: int, user_id: str) -> Account:
    users.require_user(conn, tenant_id, user_id)
    row = conn.execute(
        select(tables.Account.__table__).where(
            tables.Account.tenant_id == tenant_id, tables.Account.user_id == user_id
        )
    ).first()
    return _from_row(user_id, row, environment.get(conn, tenant_id).mfa_required)


def accounts_of(conn: Connection, tenant_id: int, user_ids: list[str]) -> dict[str, Account]:
    """The accounts of several users (a grid page), in one query."""
    default_mfa = environment.get(conn, tenant_id).mfa_required
    rows = {
        row.user_id: row
        for row in conn.execute(
            select(tables.Account.__table__).where(
                tables.Account.tenant_id == tenant_id, tables.Account.user_id.in_(user_ids)
            )
        )
    }
    return {user_id: _from_row(user_id, rows.get(user_id), default_mfa) for user_id in user_ids}


def _ensure_row(conn: Connection, tenant_id: int, user_id: str) -> None:
    users.require_user(conn, tenant_id, user_id)
    exists = conn.execute(
        select(tables.Account.user_id)
        .where(tables.Account.tenant_id == tenant_id, tables.Account.user_id == user_id)
        .with_for_update()
    ).first()
    if exists is None:
        conn.execute(insert(tables.Account).values(tenant_id=tenant_id, user_id=user_id))


_INSERT_ACCOUNT = insert(tables.Account)


def create_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Account rows of users created in this transaction (each a dict of columns, all with
    the same keys): one statement for all, where ``set_fields`` takes four per user."""
    conn.execute(_INSERT_ACCOUNT, rows)


def set_fields(conn: Connection, tenant_id: int, user_id: str, **values: Any) -> None:
    """Set account columns (the row made if missing), with no rule and no audit: for the
    actions here and the sign-in steps, which check and audit for themselves."""
    _ensure_row(conn, tenant_id, user_id)
    conn.execute(
        update(tables.Account)
        .where(tables.Account.tenant_id == tenant_id, tables.Account.user_id == user_id)
        .values(**values)
    )


def _reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidValue("reason must be text")
    reason = reason.strip()
    if len(reason) > REASON_LENGTH:
        raise InvalidValue(f"reason is longer than {REASON_LENGTH} characters")
    return reason or None


# --- actions --------------------------------------------------------------------------


def allow_login(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    set_fields(conn, tenant_id, user_id, login_allowed=True, locked_reason=None)
    audit.record(conn, tenant_id, actor, "account.allow_login", f"user:{user_id}")


def block_login(conn: Connection, tenant_id: int, user_id: str, actor: Actor, reason: Any) -> None:
    text = _reason(reason)
    if not text:
        raise InvalidValue("Blocking login access needs a reason")
    set_fields(conn, tenant_id, user_id, login_allowed=False, locked_reason=text)
    audit.record(
        conn, tenant_id, actor, "account.block_login", f"user:{user_id}", detail={"reason": text}
    )


def lock(conn: Connection, tenant_id: int, user_id: str, actor: Actor, reason: Any = None) -> None:
    text = _reason(reason) or "Locked by an administrator"
    set_fields(conn, tenant_id, user_id, locked=True, locked_date=utcnow(), locked_reason=text)
    audit.record(conn, tenant_id, actor, "account.lock", f"user:{user_id}", detail={"reason": text})


def unlock(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    set_fields(
        conn,
        tenant_id,
        user_id,
        locked=False,
        locked_date=None,
        locked_reason=None,
        failed_tries=0,
    )
    audit.record(conn, tenant_id, actor, "account.unlock", f"user:{user_id}")


def reset_tries(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    set_fields(conn, tenant_id, user_id, failed_tries=0)
    audit.record(conn, tenant_id, actor, "account.reset_tries", f"user:{user_id}")


def set_password(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    actor: Actor,
    password: Any,
    *,
    force_change: bool = False,
    by_owner: bool = False,
) -> None:
    """Set a password under the tenant's policy; the earlier one stops working at once.

    ``by_owner``: the user chose it (sign-in's change step), so it is no longer an
    admin-set password and the forced change is satisfied.
    """
    if not isinstance(password, str):
        raise InvalidValue("password must be text")
    policy = environment.get(conn, tenant_id).password
    _ensure_row(conn, tenant_id, user_id)
    history = tables.PasswordHistory
    earlier = [
        row.password_hash
        for row in conn.execute(
            select(history.password_hash)
            .where(history.tenant_id == tenant_id, history.user_id == user_id)
            .order_by(history.id.desc())
            .limit(max(policy.history, 1))
        )
    ]
    policy.check(password, earlier if policy.history else [])
    hashed = passwords.hash_password(password)
    now = utcnow()
    set_fields(
        conn,
        tenant_id,
        user_id,
        password_hash=hashed,
        password_set_by="user" if by_owner else "admin",
        password_changed=now,
        force_password_change=False if by_owner else bool(force_change),
    )
    next_id = (
        conn.execute(
            select(history.id)
            .where(history.tenant_id == tenant_id, history.user_id == user_id)
            .order_by(history.id.desc())
            .limit(1)
        ).scalar()
        or 0
    ) + 1
    conn.execute(
        insert(history).values(
            tenant_id=tenant_id, user_id=user_id, id=next_id, password_hash=hashed, created=now
        )
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "account.password_changed" if by_owner else "account.set_password",
        f"user:{user_id}",
        detail={"forceChange": bool(force_change) and not by_owner},
    )


def mfa_remove(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    """Clear the TOTP secret: the user enrols again at the next sign-in that needs MFA."""
    set_fields(conn, tenant_id, user_id, mfa_secret=None, mfa_enabled=False, mfa_last_step=None)
    audit.record(conn, tenant_id, actor, "account.mfa_remove", f"user:{user_id}")


def mfa_do_not_enforce(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    set_fields(conn, tenant_id, user_id, mfa_not_enforced=True)
    audit.record(conn, tenant_id, actor, "account.mfa_do_not_enforce", f"user:{user_id}")


def delete_credentials(
    conn: Connection, tenant_id: int, user_id: str, actor: Actor, kind: str
) -> int:
    """Revoke every credential of one kind (trusted devices, sessions); how many went."""
    users.require_user(conn, tenant_id, user_id)
    count = credentials.revoke_all(conn, tenant_id, user_id, kind)
    audit.record(
        conn,
        tenant_id,
        actor,
        f"account.delete_{kind}s",
        f"user:{user_id}",
        detail={"count": count},
    )
    return count


def _decide(
    conn: Connection, tenant_id: int, user_id: str, actor: Actor, approval: str, allowed: bool
) -> None:
    account = get_account(conn, tenant_id, user_id)
    if account.approval != "pending":
        raise InvalidValue(f"User {user_id} is not waiting for approval")
    set_fields(conn, tenant_id, user_id, approval=approval, login_allowed=allowed)
    action = "account.approve" if allowed else "account.reject"
    audit.record(conn, tenant_id, actor, action, f"user:{user_id}")


def approve(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    """Approve a pending account: it gets login access."""
    _decide(conn, tenant_id, user_id, actor, "approved", True)


def reject(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    """Reject a pending account: it stays without login access, marked rejected."""
    _decide(conn, tenant_id, user_id, actor, "rejected", False)


def mark_pending(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> None:
    """A self-registered or just-in-time account waits for an admin's approval."""
    set_fields(conn, tenant_id, user_id, approval="pending", login_allowed=False)
    audit.record(conn, tenant_id, actor, "account.pending_approval", f"user:{user_id}")


def pending(conn: Connection, tenant_id: int, limit: int = 1000) -> list[str]:
    """The ids of accounts waiting for approval, oldest first (a queue: who waited longest)."""
    account, user = tables.Account, tables.User
    return list(
        conn.execute(
            select(account.user_id)
            .join(user, (user.tenant_id == account.tenant_id) & (user.id == account.user_id))
            .where(account.tenant_id == tenant_id, account.approval == "pending")
            .order_by(user.created, account.user_id)
            .limit(limit)
        ).scalars()
    )


# --- fields admins edit ------------------------------------------------------------------

EDITABLE = {
    "userType": "user_type",
    "mfaRequired": "mfa_required",
    "forcePasswordChange": "force_password_change",
    "loginAllowedFrom": "login_allowed_from",
    "loginAllowedTo": "login_allowed_to",
    "accessLicence": "access_licence",
}


def _moment(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidValue(f"{name} must be an ISO 8601 date and time") from None
    else:
        raise InvalidValue(f"{name} must be an ISO 8601 date and time")
    return as_utc(moment)


def update_fields(
    conn: Connection, tenant_id: int, user_id: str, actor: Actor, changes: dict[str, Any]
) -> None:
    """Change editable account fields (admin API PATCH, SCIM extension); one audit event."""
    values: dict[str, Any] = {}
    for key, value in changes.items():
        column = EDITABLE.get(key)
        if column is None:
            raise InvalidValue(f"{key!r} is not an editable account field")
        if column in ("mfa_required", "force_password_change"):
            if not isinstance(value, bool) and not (column == "mfa_required" and value is None):
                raise InvalidValue(f"{key} must be true or false")
        elif column in ("login_allowed_from", "login_allowed_to"):
            value = _moment(key, value)
        elif value is not None and (not isinstance(value, str) or len(value) > 64):
            raise InvalidValue(f"{key} must be a code of at most 64 characters")
        values[column] = value
    if not values:
        return
    current = get_account(conn, tenant_id, user_id)
    for column, kind in (("access_licence", "licence"), ("user_type", "user_type")):
        if values.get(column) is not None:
            catalog.require(conn, tenant_id, kind, [values[column]])
    if "access_licence" in values or "user_type" in values:
        catalog.check_account(
            conn,
            tenant_id,
            user_id,
            licence=values.get("access_licence", current.access_licence),
            user_type=values.get("user_type", current.user_type),
        )
    start = values.get("login_allowed_from", current.login_allowed_from)
    end = values.get("login_allowed_to", current.login_allowed_to)
    if start is not None and end is not None and end < start:
        raise InvalidValue("loginAllowedTo must not be before loginAllowedFrom")
    set_fields(conn, tenant_id, user_id, **values)
    audit.record(
        conn,
        tenant_id,
        actor,
        "account.update",
        f"user:{user_id}",
        detail={key: _jsonable(value) for key, value in changes.items()},
    )


def _jsonable(value: Any) -> Any:
    return _iso(value) if isinstance(value, datetime) else value


RESET_LINK_MINUTES = 60


def reset_link(conn: Connection, tenant_id: int, user_id: str, actor: Actor) -> str:
    """A one-time password-reset secret for the user (an hour), earlier ones revoked."""
    users.require_user(conn, tenant_id, user_id)
    credentials.revoke_all(conn, tenant_id, user_id, "reset")
    secret, _ = credentials.new(
        conn, tenant_id, user_id, "reset", timedelta(minutes=RESET_LINK_MINUTES), actor.client
    )
    audit.record(conn, tenant_id, actor, "account.reset_link", f"user:{user_id}")
    return secret
