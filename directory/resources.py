"""People's HR and finance records ("resources"), one per account at most.

A resource holds what payroll and finance systems know about a person:
department, cost centre, manager, currency, payment terms. Its resource group
(a catalog entry) supplies defaults for the fields a record leaves blank,
or, when an import asks to reset from the group, for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from directory import tables

# Columns of a resource, beside its code and user.
FIELDS = (
    "description",
    "legacy_ref",
    "resource_group",
    "country_code",
    "currency",
    "department",
    "department_description",
    "manager",
    "cost_centre",
    "cost_centre_description",
    "staff",
    "payment_method",
    "payment_terms",
)
# Column -> the resource group rule that gives its default (catalog.RESOURCE_DEFAULTS).
GROUP_DEFAULTS = {
    "country_code": "countryCode",
    "currency": "currency",
    "department": "department",
    "department_description": "departmentDescription",
    "cost_centre": "costCentre",
    "cost_centre_description": "costCentreDescription",
    "staff": "staff",
    "payment_method": "paymentMethod",
    "payment_terms": "paymentTerms",
}
GENERATED_CODE = re.compile(r"R(\d{6,})")
_INSERT = insert(tables.Resource)


def with_group_defaults(
    values: dict[str, Any], group_rules: dict[str, Any], *, reset: bool
) -> dict[str, Any]:
    """``values`` with blanks filled from the group (or, with ``reset``, every field it has)."""
    filled = dict(values)
    for column, rule in GROUP_DEFAULTS.items():
        default = group_rules.get(rule)
        if default is not None and (reset or filled.get(column) is None):
            filled[column] = default
    return filled


def of_users(conn: Connection, tenant_id: int, user_ids: Iterable[str]) -> dict[str, Any]:
    """Each user's resource row (users without one are left out)."""
    ids = list(user_ids)
    if not ids:
        return {}
    resource = tables.Resource
    found: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(resource.__table__).where(
                resource.tenant_id == tenant_id, resource.user_id.in_(ids[start : start + 500])
            )
        )
        found.update((row.user_id, row) for row in rows)
    return found


def descriptions(conn: Connection, tenant_id: int, codes: Iterable[str]) -> dict[str, str | None]:
    """Code -> description of the resources with these codes (a manager's name, on export)."""
    wanted = sorted(set(codes))
    resource = tables.Resource
    found: dict[str, str | None] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(resource.code, resource.description).where(
                resource.tenant_id == tenant_id, resource.code.in_(wanted[start : start + 500])
            )
        )
        found.update((row.code, row.description) for row in rows)
    return found


def owners(conn: Connection, tenant_id: int, codes: Iterable[str]) -> dict[str, str]:
    """Code -> user id of the resources with these codes that exist."""
    wanted = sorted(set(codes))
    resource = tables.Resource
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(resource.code, resource.user_id).where(
                resource.tenant_id == tenant_id, resource.code.in_(wanted[start : start + 500])
            )
        )
        found.update((row.code, row.user_id) for row in rows)
    return found


def new_codes(conn: Connection, tenant_id: int) -> Iterator[str]:
    """Codes for resources created without one: ``R000001`` upwards, after the highest yet.

    Two imports generating codes at once may pick the same one; the primary key
    refuses the second, whose row then fails with a conflict (retry imports it).
    """
    resource = tables.Resource
    highest = 0
    rows = conn.execute(
        select(resource.code).where(resource.tenant_id == tenant_id, resource.code.like("R%"))
    ).scalars()
    for code in rows:
        match = GENERATED_CODE.fullmatch(code)
        if match:
            highest = max(highest, int(match.group(1)))
    while True:
        highest += 1
        yield f"R{highest:06d}"


def put(
    conn: Connection,
    tenant_id: int,
    user_id: str,
    code: str,
    values: dict[str, Any],
    *,
    exists: bool,
) -> None:
    """Create the user's resource, or update it (``exists``); ``values`` maps FIELDS."""
    resource = tables.Resource
    if exists:
        conn.execute(
            update(resource)
            .where(resource.tenant_id == tenant_id, resource.user_id == user_id)
            .values(code=code, **values)
        )
    else:
        conn.execute(_INSERT, {"tenant_id": tenant_id, "user_id": user_id, "code": code, **values})


def create_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """New resources (dicts of every column), in one statement."""
    conn.execute(_INSERT, rows)


def count(conn: Connection, tenant_id: int) -> int:
    resource = tables.Resource
    return conn.execute(
        select(func.count()).select_from(resource).where(resource.tenant_id == tenant_id)
    ).scalar_one()
