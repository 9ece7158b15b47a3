"""Accounts people create for themselves, and what they may do until an admin decides.

Two ways lead here: self-registration (``/auth/register``, when the tenant
allows it) and, with the SSO linker, a first federated sign-in that creates
its account just in time. Both admit the new account the same way: it waits
for approval when the tenant requires approval, else it may sign in at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from directory import accounts, audit, environment, users
from directory.audit import Actor
from directory.environment import Environment
from directory.errors import RegistrationClosed


def admit(conn: Connection, tenant_id: int, user_id: str, actor: Actor, env: Environment) -> bool:
    """Give a self-made account what the tenant allows it; True when it waits for approval."""
    if env.approval_required:
        accounts.mark_pending(conn, tenant_id, user_id, actor)
        return True
    accounts.set_fields(conn, tenant_id, user_id, login_allowed=True)
    return False


def register(
    conn: Connection,
    tenant_id: int,
    document: dict[str, Any],
    password: Any,
    *,
    client: str | None,
    shared_logins: bool,
) -> tuple[str, bool]:
    """Create the account of someone registering; its id, and whether it waits for approval.

    ``document`` is a validated SCIM User. The password is checked against the
    tenant's policy; any refusal raises and so leaves nothing behind.
    """
    env = environment.get(conn, tenant_id)
    if not env.self_registration:
        raise RegistrationClosed("self-registration is off for this tenant")
    stored = users.create_user(conn, tenant_id, document, shared_logins=shared_logins)
    actor = Actor("user", stored.id, client)
    audit.record(
        conn,
        tenant_id,
        actor,
        "user.register",
        f"user:{stored.id}",
        detail={"userName": document.get("userName")},
    )
    accounts.set_password(conn, tenant_id, stored.id, actor, password, by_owner=True)
    return stored.id, admit(conn, tenant_id, stored.id, actor, env)
