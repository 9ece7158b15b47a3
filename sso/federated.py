"""Which account a federated sign-in is: by its link, by a unique email, or made just in time.

The identity is the provider's object id (``oid`` for Azure AD, ``sub`` for
any other OpenID Connect provider): emails change, object ids do not. Without
a link, the tenant's settings decide: ``sso_auto_link`` links the one account
that has the sign-in's email; ``sso_jit`` creates an account when none has it
(waiting for approval where the tenant requires approval). Anything else is
refused as an unknown login, the reason in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from directory import audit, environment, registration, users
from directory.audit import Actor
from directory.errors import InvalidCredentials
from sso import links
from sso.matching import email_key
from sso.providers import Provider

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def object_id(provider: Provider, claims: dict[str, Any]) -> str:
    value = claims.get("oid" if provider.kind == "azure_ad" else "sub")
    if not isinstance(value, str) or not value:
        raise InvalidCredentials("the id_token names no object id")
    return value


def email_of(claims: dict[str, Any]) -> str | None:
    """The sign-in's email: ``email``, else Azure AD's ``preferred_username`` or ``upn`` when
    they are addresses."""
    for claim in ("email", "preferred_username", "upn"):
        value = claims.get(claim)
        if isinstance(value, str) and email_key(value):
            return value.strip()
    return None


def account_for(
    conn: Connection,
    tenant_id: int,
    provider: Provider,
    claims: dict[str, Any],
    *,
    client: str | None,
    check_document: Callable[[dict[str, Any]], dict[str, Any]],
    shared_logins: bool,
) -> str:
    """The id of the account this verified identity signs in as; ``InvalidCredentials``
    (audited) when there is none to be had."""
    identity = object_id(provider, claims)
    linked = links.account_of(conn, tenant_id, provider.name, identity)
    if linked is not None:
        return linked
    actor = Actor("sso", provider.name, client)
    env = environment.get(conn, tenant_id)
    email = email_of(claims)
    key = email_key(email)
    holders = links.accounts_by_email(conn, tenant_id, [key]).get(key, []) if key else []
    if env.sso_auto_link and len(holders) == 1:
        links.add(conn, tenant_id, provider.name, identity, holders[0], actor, email)
        return holders[0]
    if env.sso_jit and email is not None and not holders:
        return _create(
            conn,
            tenant_id,
            provider,
            identity,
            email,
            claims,
            actor,
            env,
            check_document,
            shared_logins,
        )
    reason = (
        "no account linked to this identity"
        if holders or not env.sso_jit
        else "no usable email to create an account from"
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "signin.refused",
        f"sso:{provider.name}:{identity}",
        result="invalid_credentials",
        detail={"reason": reason, "email": email, "accountsWithEmail": len(holders)},
    )
    raise InvalidCredentials(reason)


def _create(
    conn: Connection,
    tenant_id: int,
    provider: Provider,
    identity: str,
    email: str,
    claims: dict[str, Any],
    actor: Actor,
    env: environment.Environment,
    check_document: Callable[[dict[str, Any]], dict[str, Any]],
    shared_logins: bool,
) -> str:
    """An account just in time, linked, admitted as the tenant says."""
    name = {
        attribute: claims[claim]
        for claim, attribute in (("given_name", "givenName"), ("family_name", "familyName"))
        if isinstance(claims.get(claim), str) and claims[claim]
    }
    document: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "emails": [{"value": email, "type": "work", "primary": True}],
    }
    if isinstance(claims.get("name"), str) and claims["name"]:
        document["displayName"] = claims["name"]
    if name:
        document["name"] = name
    stored = users.create_user(
        conn, tenant_id, check_document(document), shared_logins=shared_logins
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "user.jit_create",
        f"user:{stored.id}",
        detail={"provider": provider.name, "objectId": identity, "userName": email},
    )
    links.add(conn, tenant_id, provider.name, identity, stored.id, actor, email)
    registration.admit(conn, tenant_id, stored.id, actor, env)
    return stored.id
