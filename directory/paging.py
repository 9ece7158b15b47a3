"""One page of a tenant's rows and the count of all that match: what every list needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, select


def count_and_page(
    conn: Connection,
    table: Any,
    columns: Sequence[Any],
    tenant_id: int,
    where: ColumnElement[bool] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[Row[Any]]]:
    """Rows ``offset..offset+limit`` of ``table`` for the tenant, by id, and the total matching."""
    conditions = [table.tenant_id == tenant_id]
    if where is not None:
        conditions.append(where)
    total = conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
    if limit <= 0:
        return total, []
    rows = conn.execute(
        select(*columns).where(*conditions).order_by(table.id).offset(offset).limit(limit)
    ).all()
    return total, rows
