"""Pages of a tenant's rows: by index (offset) or by keyset (cursor), in any order.

Keyset pages seek past the sort-key values of the row a page starts after
(or before), so the last page of a million rows costs what the first costs.
Every order ends with the row id, so that keys are unique and pages never
overlap or skip; missing values sort last whatever the direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select


@dataclass(frozen=True)
class PageRequest:
    """Which rows of a list a caller wants."""

    where: ColumnElement[bool] | None = None
    order: Sequence[tuple[Any, bool]] = ()  # (expression, descending), before the id tiebreaker
    offset: int = 0
    limit: int = 100
    after: Sequence[Any] | None = None  # sort keys of the row the page follows (next page)
    before: Sequence[Any] | None = None  # sort keys of the row the page precedes (previous page)


@dataclass
class Page:
    """A page of rows, how many rows match in all, and each row's sort keys."""

    total: int
    rows: Sequence[Any]
    keys: list[tuple[Any, ...]]


def _sort_keys(table: Any, order: Sequence[tuple[Any, bool]]) -> list[tuple[Any, bool]]:
    keys: list[tuple[Any, bool]] = []
    for expr, descending in order:
        # A 0/1 flag first puts missing values last in both directions.
        keys.append((case((expr.is_(None), 1), else_=0), False))
        keys.append((expr, descending))
    keys.append((table.id, False))
    return keys


def _equal(expr: Any, value: Any) -> ColumnElement[bool]:
    return expr.is_(None) if value is None else expr == value  # type: ignore[no-any-return]


def _seek(keys: Sequence[tuple[Any, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys`` (a lexicographic comparison)."""
    clauses = []
    for i, (expr, descending) in enumerate(keys):
        if values[i] is None:
            continue  # nothing sorts strictly after a missing value on this key
        prefix = [_equal(e, v) for (e, _), v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(and_(*prefix, expr < values[i] if descending else expr > values[i]))
    return or_(*clauses) if clauses else false()


def page(
    conn: Connection, table: Any, columns: Sequence[Any], tenant_id: int, request: PageRequest
) -> Page:
    """The rows of ``table`` for the tenant that ``request`` asks for, and the total matching."""
    conditions = [table.tenant_id == tenant_id]
    if request.where is not None:
        conditions.append(request.where)
    count = select(func.count()).select_from(table).where(*conditions)
    if request.limit <= 0:
        return Page(conn.execute(count).scalar_one(), [], [])
    keys = _sort_keys(table, request.order)
    backwards = request.before is not None
    if backwards:
        # A previous page is the next page of the reversed order, flipped back.
        keys = [(expr, not descending) for expr, descending in keys]
    boundary = request.before if backwards else request.after
    if boundary is not None:
        if len(boundary) != len(keys):
            raise ValueError("the cursor does not fit this order")
        conditions.append(_seek(keys, boundary))
    ordering = [expr.desc() if descending else expr.asc() for expr, descending in keys]
    labelled = [expr.label(f"_k{i}") for i, (expr, _) in enumerate(keys)]
    query = select(*columns, *labelled).where(*conditions).order_by(*ordering).limit(request.limit)
    if boundary is None and request.offset:
        query = query.offset(request.offset)
    rows = list(conn.execute(query).all())
    if boundary is None and len(rows) < request.limit and (rows or not request.offset):
        # A short page read from an offset (an empty first page included) shows
        # where the matches end: no count needed. That is the usual case of the
        # `userName eq` existence check IdPs send before every create.
        total = request.offset + len(rows)
    else:
        total = conn.execute(count).scalar_one()
    if backwards:
        rows.reverse()
    row_keys = [tuple(row[len(columns) + i] for i in range(len(keys))) for row in rows]
    return Page(total, rows, row_keys)
