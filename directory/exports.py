"""A tenant's users as spreadsheet rows, in the import's columns, so that they re-import.

Each cell is written as the import reads it (dates in the chosen format, flags
as TRUE/FALSE, lists joined with ``;``); the export-only columns add the names
of what the codes stand for, for people to read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from directory import catalog, resources, tables
from directory.sheets import Cell
from directory.user_sheet import COLUMNS, write_codes, write_date, write_flag
from directory.users import ENTERPRISE

BATCH = 1000


def user_rows(conn: Connection, tenant_id: int, date_format: str = "iso") -> Iterator[list[Cell]]:
    """One row per user, ordered by userName, read in batches."""
    licences = {entry.code: entry.name for entry in catalog.entries(conn, tenant_id, "licence")}
    groups = {
        entry.code: entry.name for entry in catalog.entries(conn, tenant_id, "resource_group")
    }
    user = tables.User
    after = ""
    while True:
        batch = conn.execute(
            select(user.id, user.document, user.user_name_key)
            .where(user.tenant_id == tenant_id, user.user_name_key > after)
            .order_by(user.user_name_key)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        after = batch[-1].user_name_key
        ids = [row.id for row in batch]
        held = catalog.grants_of(conn, tenant_id, ids)
        records = resources.of_users(conn, tenant_id, ids)
        managers = resources.descriptions(
            conn, tenant_id, [r.manager for r in records.values() if r.manager]
        )
        account_rows = {
            row.user_id: row
            for row in conn.execute(
                select(tables.Account.__table__).where(
                    tables.Account.tenant_id == tenant_id, tables.Account.user_id.in_(ids)
                )
            )
        }
        for row in batch:
            values = _values(
                row.document,
                account_rows.get(row.id),
                held[row.id],
                records.get(row.id),
                licences,
                groups,
                managers,
                date_format,
            )
            yield [values.get(column.key) for column in COLUMNS]


def _values(
    document: dict[str, Any],
    account: Any,
    held: dict[str, list[str]],
    resource: Any,
    licences: dict[str, str],
    groups: dict[str, str],
    managers: dict[str, str | None],
    date_format: str,
) -> dict[str, Cell]:
    name = document.get("name") or {}
    primary = [e for e in document.get("emails") or [] if e.get("primary")]
    emails = primary or list(document.get("emails") or [])
    mobiles = [p for p in document.get("phoneNumbers") or [] if p.get("type") == "mobile"]
    licence = account.access_licence if account is not None else None
    values: dict[str, Cell] = {
        "username": document.get("userName"),
        "first_name": name.get("givenName"),
        "middle_name": name.get("middleName"),
        "last_name": name.get("familyName"),
        "job_title": document.get("title"),
        "company": (document.get(ENTERPRISE) or {}).get("organization"),
        "full_name": document.get("displayName"),
        "licence": licence,
        "licence_description": licences.get(licence) if licence else None,
        "email": emails[0].get("value") if emails else None,
        "mobile": mobiles[0].get("value") if mobiles else None,
        "title": name.get("honorificPrefix"),
        "suffix": name.get("honorificSuffix"),
        "dac_groups": write_codes(held["dac_group"]),
        "roles": write_codes(held["role"]),
        "user_groups": write_codes(held["user_group"]),
        "create_resource": write_flag(resource is not None),
    }
    if account is not None:
        start, end = account.login_allowed_from, account.login_allowed_to
        values["date_from"] = write_date(start.date() if start else None, date_format)
        values["date_to"] = write_date(end.date() if end else None, date_format)
        values["mfa_required"] = write_flag(account.mfa_required)
    if resource is not None:
        values.update(
            {
                "resource": resource.code,
                "legacy_ref": resource.legacy_ref,
                "resource_description": resource.description,
                "country_code": resource.country_code,
                "resource_group": resource.resource_group,
                "resource_group_description": groups.get(resource.resource_group or ""),
                "currency": resource.currency,
                "department": resource.department,
                "department_description": resource.department_description,
                "manager": resource.manager,
                "manager_description": managers.get(resource.manager or ""),
                "cost_centre": resource.cost_centre,
                "cost_centre_description": resource.cost_centre_description,
                "staff": write_flag(resource.staff),
                "payment_method": resource.payment_method,
                "payment_terms": resource.payment_terms,
            }
        )
    return values
