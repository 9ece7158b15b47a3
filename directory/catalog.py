"""What can be granted to an account, and the grants: roles, role groups, groups, licences.

A tenant's catalog holds roles, role groups (a named set of roles), user
groups, DAC (data-access-control) groups, licences, user types and resource
groups (the defaults of people's HR records: department, cost centre,
currency and the rest; see ``directory.resources``). A role
may name the licences and user types allowed to hold it (none named: any);
granting it, or a role group holding it, to an account whose licence or type
is not allowed is refused, and so is changing an account's licence or type
under roles it then may not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from directory import audit, iso, tables, users
from directory.audit import Actor
from directory.errors import InvalidValue, NotFound

KINDS = ("role", "role_group", "user_group", "dac_group", "licence", "user_type", "resource_group")
GRANTABLE = ("role", "role_group", "user_group", "dac_group")
CODE_LENGTH = 64
NAME_LENGTH = 200
# A resource group's defaults: JSON name -> the longest text it may be (None: true/false).
RESOURCE_DEFAULTS: dict[str, int | None] = {
    "countryCode": 2,
    "currency": 3,
    "department": 100,
    "departmentDescription": 200,
    "costCentre": 100,
    "costCentreDescription": 200,
    "staff": None,
    "paymentMethod": 100,
    "paymentTerms": 100,
}


@dataclass(frozen=True)
class Entry:
    kind: str
    code: str
    name: str
    rules: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, **self.rules}


def _code(value: Any, what: str = "code") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > CODE_LENGTH:
        raise InvalidValue(f"{what} must be text of 1 to {CODE_LENGTH} characters")
    return value.strip()


def _codes(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidValue(f"{what} must be a list of codes")
    return sorted({_code(item, what) for item in value})


def _rules(conn: Connection, tenant_id: int, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "role":
        licences = _codes(body.get("licences"), "licences")
        user_types = _codes(body.get("userTypes"), "userTypes")
        require(conn, tenant_id, "licence", licences)
        require(conn, tenant_id, "user_type", user_types)
        return {"licences": licences, "userTypes": user_types}
    if kind == "role_group":
        roles = _codes(body.get("roles"), "roles")
        require(conn, tenant_id, "role", roles)
        return {"roles": roles}
    if kind == "resource_group":
        return _resource_defaults(body)
    return {}


def _resource_defaults(body: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for name, length in RESOURCE_DEFAULTS.items():
        value = body.get(name)
        if value is None or value == "":
            continue
        if length is None:
            if not isinstance(value, bool):
                raise InvalidValue(f"{name} must be true or false")
        elif not isinstance(value, str) or len(value.strip()) > length:
            raise InvalidValue(f"{name} must be text of at most {length} characters")
        elif name == "countryCode":
            value = iso.country_code(value)
        elif name == "currency":
            value = iso.currency_code(value)
        else:
            value = value.strip()
        defaults[name] = value
    return defaults


def require(conn: Connection, tenant_id: int, kind: str, codes: Iterable[str]) -> None:
    wanted = set(codes)
    if not wanted:
        return
    found = set(
        conn.execute(
            select(tables.CatalogEntry.code).where(
                tables.CatalogEntry.tenant_id == tenant_id,
                tables.CatalogEntry.kind == kind,
                tables.CatalogEntry.code.in_(wanted),
            )
        ).scalars()
    )
    missing = sorted(wanted - found)
    if missing:
        raise InvalidValue(f"no {kind.replace('_', ' ')} {missing[0]!r}")


def entries(conn: Connection, tenant_id: int, kind: str) -> list[Entry]:
    entry = tables.CatalogEntry
    rows = conn.execute(
        select(entry.kind, entry.code, entry.name, entry.rules)
        .where(entry.tenant_id == tenant_id, entry.kind == kind)
        .order_by(entry.code)
    )
    return [Entry(row.kind, row.code, row.name, row.rules) for row in rows]


def get_entry(conn: Connection, tenant_id: int, kind: str, code: str) -> Entry:
    entry = tables.CatalogEntry
    row = conn.execute(
        select(entry.kind, entry.code, entry.name, entry.rules).where(
            entry.tenant_id == tenant_id, entry.kind == kind, entry.code == code
        )
    ).first()
    if row is None:
        raise NotFound(f"no {kind.replace('_', ' ')} {code!r}")
    return Entry(row.kind, row.code, row.name, row.rules)


def put_entry(
    conn: Connection, tenant_id: int, kind: str, body: dict[str, Any], actor: Actor
) -> Entry:
    """Create or replace a catalog entry from ``{"code", "name", ...rules}``."""
    code = _code(body.get("code"))
    name = body.get("name", code)
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LENGTH:
        raise InvalidValue(f"name must be text of 1 to {NAME_LENGTH} characters")
    rules = _rules(conn, tenant_id, kind, body)
    entry = tables.CatalogEntry
    key = (entry.tenant_id == tenant_id, entry.kind == kind, entry.code == code)
    if conn.execute(select(entry.code).where(*key)).first() is None:
        conn.execute(
            insert(entry).values(tenant_id=tenant_id, kind=kind, code=code, name=name, rules=rules)
        )
    else:
        conn.execute(update(entry).where(*key).values(name=name, rules=rules))
        if kind == "role":  # narrower rules must still hold for everyone holding the role
            for user_id in _holders(conn, tenant_id, code):
                check_account(conn, tenant_id, user_id)
    audit.record(
        conn,
        tenant_id,
        actor,
        f"catalog.put_{kind}",
        f"{kind}:{code}",
        detail={"name": name, **rules},
    )
    return Entry(kind, code, name, rules)


# Kind -> (the kind whose rules may name it, the rule).
_REFERRERS = {
    "role": ("role_group", "roles"),
    "licence": ("role", "licences"),
    "user_type": ("role", "userTypes"),
}


def delete_entry(conn: Connection, tenant_id: int, kind: str, code: str, actor: Actor) -> None:
    """Remove an entry nothing refers to: no grant, account, resource or other entry's rule."""
    get_entry(conn, tenant_id, kind, code)
    grant = tables.Grant
    held = (
        conn.execute(
            select(grant.user_id)
            .where(grant.tenant_id == tenant_id, grant.kind == kind, grant.code == code)
            .limit(1)
        ).first()
        is not None
    )
    account, resource = tables.Account, tables.Resource
    holder = {
        "licence": (account.tenant_id, account.access_licence),
        "user_type": (account.tenant_id, account.user_type),
        "resource_group": (resource.tenant_id, resource.resource_group),
    }.get(kind)
    if holder is not None:
        tenant_column, column = holder
        held = (
            held
            or conn.execute(
                select(column).where(tenant_column == tenant_id, column == code).limit(1)
            ).first()
            is not None
        )
    # Rules of other entries naming it: a role group's roles, a role's licences and types.
    referrer = _REFERRERS.get(kind)
    named = referrer is not None and any(
        code in other.rules.get(referrer[1], []) for other in entries(conn, tenant_id, referrer[0])
    )
    if held or named:
        raise InvalidValue(f"{kind.replace('_', ' ')} {code!r} is still in use")
    entry = tables.CatalogEntry
    conn.execute(
        delete(entry).where(entry.tenant_id == tenant_id, entry.kind == kind, entry.code == code)
    )
    audit.record(conn, tenant_id, actor, f"catalog.delete_{kind}", f"{kind}:{code}")


# --- grants ---------------------------------------------------------------------------------


def grants_of(
    conn: Connection, tenant_id: int, user_ids: list[str]
) -> dict[str, dict[str, list[str]]]:
    """Each user's grants by kind, in one query."""
    result: dict[str, dict[str, list[str]]] = {
        user_id: {kind: [] for kind in GRANTABLE} for user_id in user_ids
    }
    if not user_ids:
        return result
    grant = tables.Grant
    rows = conn.execute(
        select(grant.user_id, grant.kind, grant.code)
        .where(grant.tenant_id == tenant_id, grant.user_id.in_(user_ids))
        .order_by(grant.kind, grant.code)
    )
    for user_id, kind, code in rows:
        result[user_id][kind].append(code)
    return result


def _holders(conn: Connection, tenant_id: int, role: str) -> list[str]:
    grant = tables.Grant
    direct = set(
        conn.execute(
            select(grant.user_id).where(
                grant.tenant_id == tenant_id, grant.kind == "role", grant.code == role
            )
        ).scalars()
    )
    groups = [g.code for g in entries(conn, tenant_id, "role_group") if role in g.rules["roles"]]
    if groups:
        direct |= set(
            conn.execute(
                select(grant.user_id).where(
                    grant.tenant_id == tenant_id,
                    grant.kind == "role_group",
                    grant.code.in_(groups),
                )
            ).scalars()
        )
    return sorted(direct)


def effective_roles(conn: Connection, tenant_id: int, user_id: str) -> set[str]:
    """Roles held directly or through role groups."""
    held = grants_of(conn, tenant_id, [user_id])[user_id]
    roles = set(held["role"])
    for code in held["role_group"]:
        roles |= set(get_entry(conn, tenant_id, "role_group", code).rules["roles"])
    return roles


def check_account(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    *,
    licence: str | None | object = ...,
    user_type: str | None | object = ...,
    roles: set[str] | None = None,
) -> None:
    """Refuse when a role the account holds (or would hold) is not allowed for its licence
    or type; ``licence``/``user_type``/``roles`` check a change before it is made."""
    account = tables.Account
    row = conn.execute(
        select(account.access_licence, account.user_type).where(
            account.tenant_id == tenant_id, account.user_id == user_id
        )
    ).first()
    current_licence = row.access_licence if row else None
    current_type = row.user_type if row else None
    licence_now = current_licence if licence is ... else licence
    type_now = current_type if user_type is ... else user_type
    for code in sorted(roles if roles is not None else effective_roles(conn, tenant_id, user_id)):
        refusal = role_refusal(get_entry(conn, tenant_id, "role", code), licence_now, type_now)
        if refusal:
            raise InvalidValue(refusal)


def role_refusal(role: Entry, licence: Any, user_type: Any) -> str | None:
    """Why an account of this licence and user type may not hold ``role``, or None."""
    allowed_licences = role.rules.get("licences") or []
    allowed_types = role.rules.get("userTypes") or []
    if allowed_licences and licence not in allowed_licences:
        return (
            f"role {role.code!r} needs one of the licences {', '.join(allowed_licences)}; "
            f"the account has {licence or 'none'}"
        )
    if allowed_types and user_type not in allowed_types:
        return (
            f"role {role.code!r} is for user types {', '.join(allowed_types)}; "
            f"the account is {user_type or 'untyped'}"
        )
    return None


def write_grants(
    conn: Connection, tenant_id: int, user_id: str, kind: str, current: set[str], target: set[str]
) -> tuple[set[str], set[str]]:
    """Make the stored grants of ``kind`` go from ``current`` to ``target``, with no rule and
    no audit (the callers check and record); the codes removed and added."""
    grant = tables.Grant
    removed, added = current - target, target - current
    if removed:
        conn.execute(
            delete(grant).where(
                grant.tenant_id == tenant_id,
                grant.user_id == user_id,
                grant.kind == kind,
                grant.code.in_(removed),
            )
        )
    if added:
        conn.execute(
            insert(grant),
            [
                {"tenant_id": tenant_id, "user_id": user_id, "kind": kind, "code": code}
                for code in sorted(added)
            ],
        )
    return removed, added


def set_grants(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    kind: str,
    codes: Any,
    actor: Actor,
    *,
    add_only: bool = False,
) -> None:
    """Make the account's grants of ``kind`` exactly ``codes`` (or add them: ``add_only``)."""
    if kind not in GRANTABLE:
        raise InvalidValue(f"{kind} cannot be granted")
    users.require_user(conn, tenant_id, user_id)  # 404, not grant rows for another's user
    wanted = set(_codes(codes, kind))
    require(conn, tenant_id, kind, wanted)
    current = set(grants_of(conn, tenant_id, [user_id])[user_id][kind])
    target = current | wanted if add_only else wanted
    if target == current:
        return
    if kind in ("role", "role_group"):
        held = grants_of(conn, tenant_id, [user_id])[user_id]
        direct = target if kind == "role" else set(held["role"])
        groups = target if kind == "role_group" else set(held["role_group"])
        roles = set(direct)
        for code in groups:
            roles |= set(get_entry(conn, tenant_id, "role_group", code).rules["roles"])
        check_account(conn, tenant_id, user_id, roles=roles)
    removed, added = write_grants(conn, tenant_id, user_id, kind, current, target)
    audit.record(
        conn,
        tenant_id,
        actor,
        "account.grants",
        f"user:{user_id}",
        detail={"kind": kind, "added": sorted(added), "removed": sorted(removed)},
    )


def copy_access(
    conn: Connection, tenant_id: int, user_id: str, from_user_id: str, actor: Actor
) -> None:
    """Add another account's roles, role groups, user groups and DAC groups to this one."""
    if from_user_id == user_id:
        raise InvalidValue("an account cannot copy its own access")
    users.require_user(conn, tenant_id, user_id)
    users.require_user(conn, tenant_id, from_user_id)
    held = grants_of(conn, tenant_id, [from_user_id])[from_user_id]
    for kind in GRANTABLE:
        if held[kind]:
            set_grants(conn, tenant_id, user_id, kind, held[kind], actor, add_only=True)
    audit.record(
        conn,
        tenant_id,
        actor,
        "account.copy_access",
        f"user:{user_id}",
        detail={"from": from_user_id, **{k: v for k, v in held.items() if v}},
    )
