"""A tenant's environment defaults: what its accounts get unless an admin says otherwise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from directory import iso, tables
from directory.errors import InvalidValue
from directory.passwords import PasswordPolicy


@dataclass(frozen=True)
class Environment:
    mfa_required: bool = False
    """New accounts must sign in with a second factor (TOTP) unless set otherwise."""

    password: PasswordPolicy = field(default_factory=PasswordPolicy)
    """Length, character classes and history of passwords."""

    max_failed_tries: int = 5
    """Failed sign-ins in a row that lock the account."""

    trusted_device_days: int = 30
    """How long a device trusted at sign-in skips the second factor."""

    session_hours: int = 12
    """How long a sign-in session lasts."""

    self_registration: bool = False
    """People may create their own account at ``/auth/register``."""

    approval_required: bool = True
    """Accounts people create themselves (registration, first federated sign-in) wait for
    an admin's approval before they may sign in."""

    sso_auto_link: bool = False
    """A federated sign-in whose identity is linked to no account links itself to the one
    account with its email, if exactly one has it."""

    sso_jit: bool = False
    """A federated sign-in whose email no account has creates one just in time (waiting for
    approval where ``approval_required``)."""

    default_country_code: str = "GB"
    """ISO 3166 country of imported HR records that name none (nor does their group)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_FLAGS = {f.name for f in fields(Environment) if f.type in (bool, "bool")}
_LIMITS = {
    "max_failed_tries": (1, 100),
    "trusted_device_days": (0, 365),
    "session_hours": (1, 24 * 30),
    "min_length": (8, 256),
    "min_classes": (1, 4),
    "history": (0, 24),
}


def _integer(name: str, value: Any) -> int:
    low, high = _LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(f"{name} must be a whole number from {low} to {high}")
    return value


def from_json(document: dict[str, Any]) -> Environment:
    """An Environment from its JSON, every value checked; unknown keys are refused."""
    if not isinstance(document, dict):
        raise InvalidValue("settings are a JSON object")
    known = {f.name for f in fields(Environment)}
    unknown = sorted(set(document) - known)
    if unknown:
        raise InvalidValue(f"unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, value in document.items():
        if name == "default_country_code":
            if not isinstance(value, str):
                raise InvalidValue(f"{name} must be an ISO 3166 country code")
            values[name] = iso.country_code(value)
        elif name in _FLAGS:
            if not isinstance(value, bool):
                raise InvalidValue(f"{name} must be true or false")
            values[name] = value
        elif name == "password":
            if not isinstance(value, dict):
                raise InvalidValue("password is a JSON object")
            policy_fields = {f.name for f in fields(PasswordPolicy)}
            extra = sorted(set(value) - policy_fields)
            if extra:
                raise InvalidValue(f"unknown password setting {extra[0]!r}")
            values[name] = PasswordPolicy(
                **{key: _integer(key, item) for key, item in value.items()}
            )
        else:
            values[name] = _integer(name, value)
    return Environment(**values)


def get(conn: Connection, tenant_id: int) -> Environment:
    row = conn.execute(
        select(tables.TenantSettings.document).where(tables.TenantSettings.tenant_id == tenant_id)
    ).first()
    return Environment() if row is None else from_json(row.document)


def put(conn: Connection, tenant_id: int, environment: Environment) -> None:
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    document = environment.to_json()
    conn.execute(
        insert(tables.TenantSettings)
        .values(tenant_id=tenant_id, document=document)
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"document": document})
    )
