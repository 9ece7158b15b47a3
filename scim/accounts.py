"""The account extension (``urn:scimd:schemas:extension:account:2.0:User``) over SCIM.

The directory keeps account state beside the user, not in its SCIM document
(``directory.accounts``), so that sign-ins never rewrite documents. This module
is the one bridge: it renders account state as the extension's JSON, and turns
an extension a SCIM client wrote into the same account actions the admin API
runs, under the same rules, each audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scim2_models import Context
from sqlalchemy import Connection

from directory import accounts, catalog
from directory.audit import Actor
from scim.documents import to_document
from scim.extensions import ACCOUNT, AccountExtension

# Extension attribute -> admin field, for the fields an update sets.
_FIELDS = {
    "mfaRequired": "mfaRequired",
    "forcePasswordChange": "forcePasswordChange",
    "loginAllowedFrom": "loginAllowedFrom",
    "loginAllowedTo": "loginAllowedTo",
    "accessLicence": "accessLicence",
}
_GRANTS = {
    "userRoles": "role",
    "roleGroups": "role_group",
    "userGroups": "user_group",
    "dacGroups": "dac_group",
}


def extension_json(account: accounts.Account, grants: dict[str, list[str]]) -> dict[str, Any]:
    """Account state as the extension's attributes (absent ones left out)."""
    shown = account.to_json()
    values: dict[str, Any] = {
        "accessLocked": shown["accessLocked"],
        "lockedDate": shown["lockedDate"],
        "lockedReason": shown["lockedReason"],
        "lastLogin": shown["lastLogin"],
        "failedTries": shown["failedTries"],
        "mfaEnabled": shown["mfaEnabled"],
        "mfaRequired": shown["mfaRequired"],
        "forcePasswordChange": shown["forcePasswordChange"],
        "loginAllowedFrom": shown["loginAllowedFrom"],
        "loginAllowedTo": shown["loginAllowedTo"],
        "accessLicence": shown["accessLicence"],
    }
    for attribute, kind in _GRANTS.items():
        if grants.get(kind):
            values[attribute] = [{"value": code} for code in grants[kind]]
    return {key: value for key, value in values.items() if value is not None}


def load(conn: Connection, tenant_id: int, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The extension of each user, in three queries whatever their number."""
    states = accounts.accounts_of(conn, tenant_id, user_ids)
    held = catalog.grants_of(conn, tenant_id, user_ids)
    return {user_id: extension_json(states[user_id], held[user_id]) for user_id in user_ids}


def split(resource: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The document to store (without the extension) and the extension a client wrote.

    The extension is read from the validated resource, not from the stored
    dump: its attributes are ``returned: request``, which a dump leaves out.
    """
    document = to_document(resource)
    document.pop(ACCOUNT, None)
    schemas = document.get("schemas")
    if isinstance(schemas, list) and ACCOUNT in schemas:
        document["schemas"] = [schema for schema in schemas if schema != ACCOUNT]
    written = resource[AccountExtension]
    if written is None:
        return document, None
    extension = written.model_dump(scim_ctx=Context.DEFAULT)
    extension.pop("schemas", None)
    return document, extension or None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def apply(
    conn: Connection, tenant_id: int, user_id: str, extension: dict[str, Any], actor: Actor
) -> None:
    """Apply what a client wrote in the extension, through the account rules.

    Only values that differ from the account's state act, so that an IdP
    re-sending the same extension records nothing. Read-only attributes are
    ignored, as RFC 7643 §7 says of ``readOnly`` values a client sends.
    """
    current = accounts.get_account(conn, tenant_id, user_id)
    shown = current.to_json()
    locked = extension.get("accessLocked")
    if locked is True and not current.locked:
        accounts.lock(conn, tenant_id, user_id, actor, extension.get("lockedReason"))
    elif locked is False and current.access_locked:
        if current.locked:
            accounts.unlock(conn, tenant_id, user_id, actor)
        if not current.login_allowed:
            accounts.allow_login(conn, tenant_id, user_id, actor)
    changes = {
        field: _iso(extension[attribute])
        for attribute, field in _FIELDS.items()
        if attribute in extension and _iso(extension[attribute]) != shown.get(field)
    }
    if "mfaRequired" in changes and current.mfa_required_set == extension["mfaRequired"]:
        changes.pop("mfaRequired")
    if changes:
        accounts.update_fields(conn, tenant_id, user_id, actor, changes)
    held = catalog.grants_of(conn, tenant_id, [user_id])[user_id]
    for attribute, kind in _GRANTS.items():
        if attribute in extension:
            codes = sorted(
                {
                    g["value"]
                    for g in extension[attribute] or []
                    if isinstance(g, dict) and isinstance(g.get("value"), str)
                }
            )
            if codes != held[kind]:
                catalog.set_grants(conn, tenant_id, user_id, kind, codes, actor)


_ATTRIBUTES = (
    "accessLocked",
    "lockedDate",
    "lockedReason",
    "lastLogin",
    "failedTries",
    "mfaEnabled",
    "mfaRequired",
    "forcePasswordChange",
    "loginAllowedFrom",
    "loginAllowedTo",
    "accessLicence",
    *_GRANTS,
)


def expand_requested(query: Mapping[str, Any]) -> Mapping[str, Any]:
    """A query whose ``attributes`` name the extension as a whole, naming each attribute."""
    wanted = query.get("attributes")
    if not isinstance(wanted, str) or ACCOUNT.lower() not in wanted.lower():
        return query
    names = []
    for name in (part.strip() for part in wanted.split(",")):
        if name.lower() == ACCOUNT.lower():
            names += [f"{ACCOUNT}:{attribute}" for attribute in _ATTRIBUTES]
        elif name:
            names.append(name)
    return {**query, "attributes": ",".join(names)}


def touches(patch: Any) -> bool:
    """Whether a PATCH may change the extension: an operation on its URN, or a pathless one
    (whose value may carry it). Others skip reading the account at all."""
    for operation in patch.operations or []:
        path = str(operation.path or "")
        if not path or ACCOUNT.lower() in path.lower():
            return True
    return False
