"""SCIM filters (RFC 7644 §3.4.2.2) compiled to SQL, never evaluated over rows in Python.

scim2-models parses and checks the filter; ``SqlFilter`` walks its tree and
emits a SQLAlchemy expression over the directory's tables. Indexed attributes
compare their columns (case-insensitive ones through their comparison key),
emails and members go through their side tables with EXISTS, and other
single-valued attributes go through the dialect's JSON functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import FilterVisitor
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from directory import tables
from directory.clock import as_utc
from directory.values import comparison_key

Op = CompareOperator
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group"


@dataclass(frozen=True)
class Column:
    """How one attribute maps to SQL: its column and how its values compare."""

    column: Any
    kind: str = "string"  # string | bool | datetime
    case_exact: bool = False  # when False, `column` holds comparison keys


def _compare(column: Column, op: Op, value: Any) -> ColumnElement[bool]:
    col = column.column
    if column.kind == "bool":
        if not isinstance(value, bool) or op not in (Op.eq, Op.ne):
            raise InvalidFilterException(detail=f"{op} {value!r} does not apply to a boolean")
        return and_(col.is_not(None), col == value if op is Op.eq else col != value)
    if column.kind == "datetime":
        try:
            value = as_utc(datetime.fromisoformat(str(value)))
        except ValueError as exc:
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from exc
    elif not isinstance(value, str):
        value = "" if value is None else str(value)
        if op is Op.eq and value == "":
            absent: ColumnElement[bool] = col.is_(None)
            return absent
    if isinstance(value, str) and not column.case_exact:
        value = comparison_key(value)
    comparisons: dict[Op, Callable[[], ColumnElement[bool]]] = {
        Op.eq: lambda: col == value,
        Op.ne: lambda: col != value,
        Op.co: lambda: col.contains(value, autoescape=True),
        Op.sw: lambda: col.startswith(value, autoescape=True),
        Op.ew: lambda: col.endswith(value, autoescape=True),
        Op.gt: lambda: col > value,
        Op.ge: lambda: col >= value,
        Op.lt: lambda: col < value,
        Op.le: lambda: col <= value,
    }
    if op is Op.ne:
        return or_(col.is_(None), col != value)
    # `col IS NOT NULL AND ...` keeps the result two-valued, so `not (...)`
    # matches resources that lack the attribute, as RFC 7644 reads it.
    return and_(col.is_not(None), comparisons[op]())


def _json_column(document: Any, path: tuple[str, ...]) -> Column:
    return Column(func.lower(document[path].as_string()), case_exact=False)


class _BooleanLogic(FilterVisitor[ColumnElement[bool]]):
    """``not``, ``and`` and ``or``: the same SQL whatever the comparisons below them."""

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op is LogicalOperator.and_ else or_(*terms)


class SqlFilter(_BooleanLogic):
    """Compile one resource type's filter tree to a WHERE clause."""

    def __init__(
        self,
        core_schema: str,
        columns: dict[str, Column],
        side_tables: dict[str, Callable[[FilterNode | None, str | None], ColumnElement[bool]]],
        document: Any,
    ) -> None:
        self.core_schema = core_schema
        self.columns = columns
        self.side_tables = side_tables
        self.document = document

    def _name(self, attr_path: AttrPath) -> tuple[str, str | None, str | None]:
        uri = attr_path.uri.lower() if attr_path.uri else None
        if uri == self.core_schema:
            uri = None
        return attr_path.attr.lower(), (attr_path.sub_attr or "").lower() or None, uri

    def _column(self, attr_path: AttrPath) -> Column:
        attr, sub, uri = self._name(attr_path)
        key = attr if sub is None else f"{attr}.{sub}"
        if uri is None and key in self.columns:
            return self.columns[key]
        # Any other single-valued attribute: read from the document as JSON.
        path = (attr_path.attr,) if sub is None else (attr_path.attr, attr_path.sub_attr or "")
        if uri is not None:
            path = (attr_path.uri or "", *path)
        return _json_column(self.document, path)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        attr, sub, uri = self._name(node.attr_path)
        if uri is None and attr in self.side_tables:
            return self.side_tables[attr](node, sub)
        return _compare(self._column(node.attr_path), node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        attr, sub, uri = self._name(node.attr_path)
        if uri is None and attr in self.side_tables:
            return self.side_tables[attr](None, sub)
        col = self._column(node.attr_path).column
        return and_(col.is_not(None), col != literal(""))

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        attr, _sub, uri = self._name(node.attr_path)
        if uri is None and attr in self.side_tables:
            return self.side_tables[attr](node.val_filter, None)
        raise InvalidFilterException(
            detail=f"filtering on the values of {node.attr_path.attr!r} is not supported"
        )


class _SideTableFilter(_BooleanLogic):
    """A filter over the rows of a side table (emails, members), inside an EXISTS."""

    def __init__(self, columns: dict[str, Column]) -> None:
        self.columns = columns

    def _column(self, attr_path: AttrPath) -> Column:
        name = (attr_path.sub_attr or attr_path.attr).lower()
        if name not in self.columns:
            raise InvalidFilterException(detail=f"filtering on {name!r} here is not supported")
        return self.columns[name]

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        return _compare(self._column(node.attr_path), node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        present: ColumnElement[bool] = self._column(node.attr_path).column.is_not(None)
        return present

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(detail="nested value filters are not allowed")


def _side_table(
    table: Any,
    owner_match: ColumnElement[bool],
    columns: dict[str, Column],
) -> Callable[[FilterNode | None, str | None], ColumnElement[bool]]:
    """A side-table attribute: `attr op v`, `attr.sub op v`, `attr pr` and `attr[filter]`."""
    rows = _SideTableFilter(columns)

    def build(node: FilterNode | None, sub: str | None) -> ColumnElement[bool]:
        if node is None:
            condition: ColumnElement[bool] = true()
        elif isinstance(node, Comparison) and node.attr_path.sub_attr is None and sub is None:
            # `emails eq "x"` compares the value sub-attribute (RFC 7644 §3.4.2.2)
            condition = _compare(columns["value"], node.op, node.value)
        else:
            condition = rows.visit(node)
        return exists(
            select(literal(1))
            .select_from(table)
            .where(owner_match, condition)
            .correlate_except(table)
        )

    return build


def _user_filter() -> SqlFilter:
    user = tables.User
    email = tables.UserEmail
    columns = {
        "id": Column(user.id, case_exact=True),
        "username": Column(user.user_name_key),
        "externalid": Column(user.external_id, case_exact=True),
        "displayname": Column(user.display_name_key),
        "active": Column(user.active, kind="bool"),
        "meta.created": Column(user.created, kind="datetime"),
        "meta.lastmodified": Column(user.last_modified, kind="datetime"),
    }
    emails = _side_table(
        email,
        and_(email.tenant_id == user.tenant_id, email.user_id == user.id),
        {
            "value": Column(email.value_key),
            "type": Column(func.lower(email.type)),
            "primary": Column(email.primary, kind="bool"),
        },
    )
    member = tables.Membership
    groups = _side_table(
        member,
        and_(member.tenant_id == user.tenant_id, member.member_id == user.id),
        {"value": Column(member.group_id, case_exact=True)},
    )
    return SqlFilter(CORE_USER, columns, {"emails": emails, "groups": groups}, user.document)


def _group_filter() -> SqlFilter:
    group = tables.Group
    member = tables.Membership
    columns = {
        "id": Column(group.id, case_exact=True),
        "displayname": Column(group.display_name_key),
        "externalid": Column(group.external_id, case_exact=True),
        "meta.created": Column(group.created, kind="datetime"),
        "meta.lastmodified": Column(group.last_modified, kind="datetime"),
    }
    members = _side_table(
        member,
        and_(member.tenant_id == group.tenant_id, member.group_id == group.id),
        {
            "value": Column(member.member_id, case_exact=True),
            "type": Column(func.lower(member.member_type)),
        },
    )
    return SqlFilter(CORE_GROUP, columns, {"members": members}, group.document)


USER_FILTER = _user_filter()
GROUP_FILTER = _group_filter()


def compile_filter(text: str, model: Any, compiler: SqlFilter) -> ColumnElement[bool]:
    """Parse ``text`` as a filter on ``model`` and compile it; 400 invalidFilter if it is bad."""
    try:
        parsed = ScimFilter[model](text)
    except (ValueError, TypeError) as exc:
        raise InvalidFilterException(detail=str(exc)) from exc
    return compiler.visit(parsed.ast)
