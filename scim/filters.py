"""SCIM filters (RFC 7644 §3.4.2.2) and sort keys compiled to SQL, never evaluated in Python.

scim2-models parses and checks the filter; ``SqlFilter`` walks its tree and
emits a SQLAlchemy expression over the directory's tables:

- indexed attributes compare their columns (case-insensitive ones through
  their stored comparison key);
- emails, a user's groups and a group's members go through their side tables
  with ``EXISTS``;
- any other attribute is read from the stored document with the dialect's JSON
  functions (``json_extract``/``json_each`` on SQLite, ``#>>``/
  ``jsonb_array_elements`` on PostgreSQL), typed and case-folded as its schema
  says (scim2-models' attribute bindings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim2_models import (
    ComplexAttribute,
    InvalidFilterException,
    InvalidValueException,
    Path,
    SCIMException,
    ScimFilter,
)
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
    Boolean,
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from directory.clock import as_utc
from directory.values import comparison_key
from scim.http import check_storable
from scim.leniency import qualified, quote_bare_values

Op = CompareOperator
MAX_FILTER_LENGTH = 10_000
# Deeper trees compile to SQL that SQLAlchemy's recursive compiler (and the
# database's parser) cannot take; no real filter nests this far.
MAX_FILTER_DEPTH = 50


@dataclass(frozen=True)
class Column:
    """How one attribute maps to SQL: its expression and how its values compare."""

    expr: Any
    kind: str = "string"  # string | bool | datetime | datetime_text | int | float
    case_exact: bool = False  # when False, `expr` yields comparison keys (lower case)


@dataclass(frozen=True)
class SideTable:
    """A multi-valued attribute kept in rows of its own, matched to its owner."""

    table: Any
    owner_match: ColumnElement[bool]
    columns: dict[str, Column]  # by lower-cased sub-attribute name; "value" is the default
    in_document: bool = False  # the document holds it too: other sub-attributes are read there


@dataclass(frozen=True)
class ResourceSpec:
    """What the compiler knows of one resource type's storage."""

    model: Any
    core_schema: str  # lower-cased
    columns: dict[str, Column]  # "attr" or "attr.sub", lower-cased
    side_tables: dict[str, SideTable] = field(default_factory=dict)
    table: Any = None  # the table whose ``document`` column holds the JSON

    @property
    def document(self) -> Any:
        return self.table.document


def _typed(value: Any, column: Column) -> Any:
    """A filter literal as the type the column compares (RFC 7644 §3.4.2.2)."""
    if column.kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # IdPs quote booleans too
        if not isinstance(value, bool):
            raise InvalidFilterException(detail=f"{value!r} is not a boolean")
        return value
    if column.kind in ("datetime", "datetime_text"):
        try:
            moment = as_utc(datetime.fromisoformat(str(value)))
        except (ValueError, OverflowError) as exc:  # out of range once in UTC
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from exc
        # A dateTime inside the JSON document is text: compare its UTC ISO form.
        return moment if column.kind == "datetime" else moment.isoformat().replace("+00:00", "Z")
    if column.kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilterException(detail=f"{value!r} is not a number")
        return value
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{value!r} is not a string")
    try:
        check_storable(value)
    except InvalidValueException as exc:
        raise InvalidFilterException(detail=exc.detail) from exc
    return value if column.case_exact else comparison_key(value)


def compare(column: Column, op: Op, value: Any) -> ColumnElement[bool]:
    """``column op value``, two-valued: a missing attribute matches only ``ne``."""
    expr = column.expr
    if value is None:  # `attr eq null` means "not present"
        if op in (Op.eq, Op.ne):
            return expr.is_(None) if op is Op.eq else expr.is_not(None)  # type: ignore[no-any-return]
        raise InvalidFilterException(detail=f"{op} null is not a comparison")
    value = _typed(value, column)
    if column.kind == "bool" and op not in (Op.eq, Op.ne):
        raise InvalidFilterException(detail=f"{op} does not apply to a boolean")
    if op in (Op.co, Op.sw, Op.ew) and column.kind != "string":
        raise InvalidFilterException(detail=f"{op} applies to strings only")
    if op is Op.ne:
        return or_(expr.is_(None), expr != value)
    comparisons: dict[Op, Callable[[], ColumnElement[bool]]] = {
        Op.eq: lambda: expr == value,
        Op.co: lambda: expr.contains(value, autoescape=True),
        Op.sw: lambda: expr.startswith(value, autoescape=True),
        Op.ew: lambda: expr.endswith(value, autoescape=True),
        Op.gt: lambda: expr > value,
        Op.ge: lambda: expr >= value,
        Op.lt: lambda: expr < value,
        Op.le: lambda: expr <= value,
    }
    # `expr IS NOT NULL AND ...` keeps the result two-valued, so that
    # `not (...)` matches resources lacking the attribute, as RFC 7644 reads it.
    return and_(expr.is_not(None), comparisons[op]())


class _BooleanLogic(FilterVisitor[ColumnElement[bool]]):
    """``not``, ``and`` and ``or``: the same SQL whatever the comparisons below them."""

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op is LogicalOperator.and_ else or_(*terms)


class _ElementFilter(_BooleanLogic):
    """A filter over the elements of one multi-valued attribute, inside an EXISTS."""

    def __init__(self, column_of: Callable[[str], Column]) -> None:
        self.column_of = column_of

    def _column(self, attr_path: AttrPath) -> Column:
        # In `emails[type eq "work"]`, `type` is the element's sub-attribute.
        return self.column_of(attr_path.sub_attr or attr_path.attr)

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        return compare(self._column(node.attr_path), node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        return self._column(node.attr_path).expr.is_not(None)  # type: ignore[no-any-return]

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(detail="value filters cannot be nested")


@dataclass(frozen=True)
class _Json:
    """Where an attribute lives in the stored document, and how its values compare."""

    attribute: str  # the attribute as path text, URN included for an extension
    path: tuple[str, ...]  # canonical JSON keys to the value (to the array if multi-valued)
    sub: str | None  # for a multi-valued attribute: the sub-attribute compared
    multi_valued: bool
    kind: str
    case_exact: bool


_KINDS = {bool: "bool", datetime: "datetime_text", int: "int", float: "float"}


class _UnknownAttribute(Exception):
    """A filter names an attribute the resource type does not have."""


def _names(node: FilterNode) -> set[str]:
    """The (lower-cased) sub-attribute names a value filter compares."""
    if isinstance(node, Comparison | Present):
        return {(node.attr_path.sub_attr or node.attr_path.attr).lower()}
    if isinstance(node, LogicalExpr):
        return {name for term in node.terms for name in _names(term)}
    if isinstance(node, Not):
        return _names(node.expr)
    return set()


def _path_text(attr_path: AttrPath) -> str:
    name = (
        attr_path.attr if attr_path.sub_attr is None else f"{attr_path.attr}.{attr_path.sub_attr}"
    )
    return f"{attr_path.uri}:{name}" if attr_path.uri else name


def _json_location(spec: ResourceSpec, text: str) -> _Json:
    """Resolve an attribute through the model (scim2-models) to its canonical JSON keys."""
    try:
        binding = Path[spec.model](text).resolve()  # type: ignore[name-defined]
        if binding is None and qualified(text) != text:  # Entra: `manager eq "id"`
            text = qualified(text)
            binding = Path[spec.model](text).resolve()  # type: ignore[name-defined]
    except (ValueError, TypeError) as exc:
        raise InvalidFilterException(detail=str(exc)) from exc
    if binding is None:
        raise _UnknownAttribute(f"unknown attribute {text!r}")
    schema, _, names = str(binding.urn).rpartition(":")
    head, _, sub = names.partition(".")
    core = schema.lower() == spec.core_schema
    path = (head,) if core else (schema, head)
    leaf = binding.sub_field_type if binding.sub_field_name else binding.field_type
    multi = bool(binding.is_multivalued)
    if not multi and not sub and isinstance(leaf, type) and issubclass(leaf, ComplexAttribute):
        # A comparison on a single-valued complex attribute means its value
        # (`manager eq "id"`), as it does for multi-valued ones.
        return _json_location(spec, f"{text}.value")
    return _Json(
        attribute=head if core else f"{schema}:{head}",
        path=path if multi or not sub else (*path, sub),
        sub=(sub or None) if multi else None,
        multi_valued=multi,
        kind=_KINDS.get(leaf, "string") if isinstance(leaf, type) else "string",
        case_exact=bool(binding.case_exact),
    )


def fold(expr: Any, dialect: str) -> Any:
    """Case-fold text in SQL as ``comparison_key`` does in Python.

    PostgreSQL's lower() folds all of Unicode; SQLite's only folds ASCII, so on
    SQLite the store registers ``scimd_fold`` (directory.database) and uses it.
    """
    return func.scimd_fold(expr) if dialect == "sqlite" else func.lower(expr)


def _json_column(raw: Any, kind: str, case_exact: bool, dialect: str) -> Column:
    """A JSON value read with SQLAlchemy's typed JSON accessors (both dialects)."""
    if kind == "bool":
        value = raw.as_boolean()
    elif kind == "int":
        value = raw.as_integer()
    elif kind == "float":
        value = raw.as_float()
    elif case_exact or kind != "string":
        value = raw.as_string()
    else:
        value = fold(raw.as_string(), dialect)
    return Column(value, kind=kind, case_exact=case_exact)


def _element_column(element: Any, name: str, kind: str, case_exact: bool, dialect: str) -> Column:
    """One sub-attribute of a JSON array element from ``json_each``/``jsonb_array_elements``."""
    if dialect == "postgresql":
        text_value = element.op("->>")(name)
        if kind == "bool":
            return Column(cast(text_value, Boolean), kind="bool")
    else:
        # json_extract gives SQL values: 1/0 for booleans, which compare to True/False.
        text_value = func.json_extract(element, f'$."{name}"')
        if kind == "bool":
            return Column(text_value, kind="bool")
    if kind in ("int", "float"):
        return Column(cast(text_value, Float), kind=kind)
    folded = text_value if case_exact or kind != "string" else fold(text_value, dialect)
    return Column(folded, kind=kind, case_exact=case_exact)


class SqlFilter(_BooleanLogic):
    """Compile one resource type's filter tree to a WHERE clause for one SQL dialect."""

    def __init__(self, spec: ResourceSpec, dialect: str, *, unknown_matches_nothing: bool = False):
        self.spec = spec
        self.dialect = dialect
        # Root .search reads one filter against every type: an attribute one type
        # lacks matches none of its resources there (RFC 7644 §3.4.3).
        self.unknown_matches_nothing = unknown_matches_nothing

    def _indexed(self, attr_path: AttrPath) -> Column | SideTable | None:
        uri = attr_path.uri.lower() if attr_path.uri else None
        if uri is not None and uri != self.spec.core_schema:
            return None
        attr = attr_path.attr.lower()
        key = attr if attr_path.sub_attr is None else f"{attr}.{attr_path.sub_attr.lower()}"
        return self.spec.columns.get(key) or self.spec.side_tables.get(attr)

    # --- multi-valued attributes: EXISTS over their rows or their JSON elements ---------

    def _exists_side(self, side: SideTable, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(
            select(literal(1))
            .select_from(side.table)
            .where(side.owner_match, condition)
            .correlate_except(side.table)
        )

    @staticmethod
    def _side_column(side: SideTable, name: str) -> Column:
        column = side.columns.get(name.lower())
        if column is None:
            raise InvalidFilterException(detail=f"filtering on {name!r} here is not supported")
        return column

    def _exists_json(
        self, location: _Json, condition: Callable[[Callable[[str], Column]], ColumnElement[bool]]
    ) -> ColumnElement[bool]:
        """EXISTS over the elements of a JSON array, ``condition`` built on their sub-attributes."""
        document = self.spec.document
        if self.dialect == "postgresql":
            array = document[location.path]
            source = case(
                (func.jsonb_typeof(array) == "array", array),
                else_=literal_column("'[]'::jsonb"),
            )
            elements = func.jsonb_array_elements(source).table_valued("value").alias("element")
        else:
            json_path = "$" + "".join(f'."{key}"' for key in location.path)
            elements = func.json_each(document, json_path).table_valued("value").alias("element")

        def read(name: str) -> Column:
            sub = _json_location(self.spec, f"{location.attribute}.{name}")
            key = sub.path[-1] if not sub.multi_valued else sub.sub or name
            return _element_column(elements.c.value, key, sub.kind, sub.case_exact, self.dialect)

        return exists(
            select(literal(1))
            .select_from(elements)
            .where(condition(read))
            .correlate(self.spec.table)
        )

    def _location(self, attr_path: AttrPath) -> _Json:
        return _json_location(self.spec, _path_text(attr_path))

    def _document_column(self, attr_path: AttrPath) -> tuple[_Json, Column | None]:
        """A single-valued attribute read from the document; None for a multi-valued one."""
        location = self._location(attr_path)
        if location.multi_valued:
            return location, None
        raw = self.spec.document[location.path]
        return location, _json_column(raw, location.kind, location.case_exact, self.dialect)

    # --- the visitor --------------------------------------------------------------------

    def visit(self, node: FilterNode) -> ColumnElement[bool]:
        try:
            return super().visit(node)
        except _UnknownAttribute as exc:
            if self.unknown_matches_nothing:
                return false()
            raise InvalidFilterException(detail=str(exc)) from exc

    def _side(self, side: SideTable, attr_path: AttrPath, names: set[str]) -> bool:
        """Whether the side table answers for these sub-attributes (else: the document)."""
        if names <= set(side.columns):
            return True
        if side.in_document:
            return False
        raise InvalidFilterException(
            detail=f"filtering {attr_path.attr} on {', '.join(sorted(names))} is not supported"
        )

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        indexed = self._indexed(node.attr_path)
        if isinstance(indexed, Column):
            return compare(indexed, node.op, node.value)
        is_null = node.value is None and node.op in (Op.eq, Op.ne)
        if is_null and node.attr_path.sub_attr is None and not isinstance(indexed, Column):
            # `emails eq null`: a multi-valued attribute is absent (JSON single-valued
            # attributes fall through to their column below).
            location = None if isinstance(indexed, SideTable) else self._location(node.attr_path)
            if location is None or location.multi_valued:
                present = self.visit_present(Present(attr_path=node.attr_path))
                return not_(present) if node.op is Op.eq else present
        # On a multi-valued attribute, `ne` means no value equals (scim2-models' reading);
        # `sub eq null` / `sub ne null` ask for one element lacking / holding the sub-attribute.
        # `sub eq null` holds when some element lacks the sub-attribute, or there is
        # none; `sub ne null` is its negation (scim2-models' reading, as for `ne`).
        negate = node.op is Op.ne
        op = Op.eq if negate else node.op
        sub = (node.attr_path.sub_attr or "value").lower()
        if isinstance(indexed, SideTable) and self._side(indexed, node.attr_path, {sub}):
            side = indexed
            found = self._exists_side(side, compare(side.columns[sub], op, node.value))
            if is_null:
                found = or_(found, not_(self._exists_side(side, true())))
            return not_(found) if negate else found
        location, column = self._document_column(node.attr_path)
        if column is not None:
            return compare(column, node.op, node.value)
        found = self._exists_json(
            location, lambda read: compare(read(location.sub or "value"), op, node.value)
        )
        if is_null:
            found = or_(found, not_(self._exists_json(location, lambda read: true())))
        return not_(found) if negate else found

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        indexed = self._indexed(node.attr_path)
        sub = node.attr_path.sub_attr
        if isinstance(indexed, Column):
            return indexed.expr.is_not(None)  # type: ignore[no-any-return]
        names = {sub.lower()} if sub else set()
        if isinstance(indexed, SideTable) and self._side(indexed, node.attr_path, names):
            condition = indexed.columns[sub.lower()].expr.is_not(None) if sub else true()
            return self._exists_side(indexed, condition)
        location, column = self._document_column(node.attr_path)
        if column is not None:
            return and_(column.expr.is_not(None), column.expr != literal(""))
        return self._exists_json(
            location,
            lambda read: read(location.sub).expr.is_not(None) if location.sub else true(),
        )

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        indexed = self._indexed(node.attr_path)
        names = _names(node.val_filter)
        if isinstance(indexed, SideTable) and self._side(indexed, node.attr_path, names):
            side = indexed
            rows = _ElementFilter(lambda name: self._side_column(side, name))
            return self._exists_side(side, rows.visit(node.val_filter))
        location = _json_location(self.spec, _path_text(node.attr_path))
        if not location.multi_valued:
            raise InvalidFilterException(detail=f"{node.attr_path.attr} holds a single value")
        return self._exists_json(location, lambda read: _ElementFilter(read).visit(node.val_filter))

    # --- sorting ------------------------------------------------------------------------

    def sort_key(self, text: str) -> Column:
        """What ``sortBy`` orders by (RFC 7644 §3.4.2.3); 400 invalidValue if not sortable."""
        try:
            attr_path = Path[self.spec.model](text).ast  # type: ignore[name-defined]
            if not isinstance(attr_path, AttrPath):
                raise InvalidFilterException(detail="not an attribute")
            indexed = self._indexed(attr_path)
            if isinstance(indexed, Column):
                return indexed
            if isinstance(indexed, SideTable):
                # A multi-valued attribute sorts by its primary (or first) value.
                if "sort" in indexed.columns:
                    return indexed.columns["sort"]
                raise InvalidFilterException(detail=f"{text!r} is not sortable")
            location, column = self._document_column(attr_path)
        except (SCIMException, _UnknownAttribute, ValueError, TypeError) as exc:
            raise InvalidValueException(detail=f"sortBy {text!r}: {exc}") from exc
        if column is None:
            raise InvalidValueException(
                detail=f"sortBy {text!r}: {location.attribute} is multi-valued"
            )
        return column


def compile_filter(
    text: str, spec: ResourceSpec, dialect: str, *, unknown_matches_nothing: bool = False
) -> ColumnElement[bool]:
    """Parse ``text`` and compile it for ``spec``'s resources; 400 invalidFilter if bad.

    The filter is parsed unbound: attributes and values are checked here, against
    the schema's types, not as whole resources would be (an ``emails.value``
    filter may hold a partial address).
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(
            detail=f"filters are limited to {MAX_FILTER_LENGTH} characters"
        )
    try:
        parsed: ScimFilter[Any] = ScimFilter(text)
    except RecursionError as exc:
        raise InvalidFilterException(detail="the filter is nested too deeply") from exc
    except InvalidFilterException:
        try:
            parsed = ScimFilter(quote_bare_values(text))
        except (InvalidFilterException, ValueError, TypeError):
            raise InvalidFilterException(detail=f"invalid filter {text!r}") from None
    except (ValueError, TypeError) as exc:
        raise InvalidFilterException(detail=str(exc)) from exc
    if _depth(parsed.ast) > MAX_FILTER_DEPTH:
        raise InvalidFilterException(detail=f"filters nest at most {MAX_FILTER_DEPTH} levels")
    return SqlFilter(spec, dialect, unknown_matches_nothing=unknown_matches_nothing).visit(
        parsed.ast
    )


_EQUALITY = re.compile(r'\s*([A-Za-z][\w.:-]*)\s+[eE][qQ]\s+("(?:[^"\\]|\\.)*")\s*')


def equality_value(text: str, attribute: str) -> str | None:
    """The string ``text`` compares ``attribute`` to, when it is exactly ``attribute eq "..."``.

    IdPs send ``userName eq "..."`` before every create and on every sync; when
    that attribute is unique, the answer is one index lookup, which costs less
    than parsing the filter. Anything else (other operators, logic, bare
    values) returns None and takes the general path.
    """
    match = _EQUALITY.fullmatch(text)
    if match is None or match.group(1).lower() != attribute.lower():
        return None
    try:
        value = json.loads(match.group(2))
        check_storable(value)
    except (ValueError, InvalidValueException):
        return None  # the general path gives the error it always gives
    return value if isinstance(value, str) else None


def _depth(node: FilterNode) -> int:
    """How deep a filter tree nests (iteratively: the tree may be deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, LogicalExpr):
            stack.extend((term, depth + 1) for term in current.terms)
        elif isinstance(current, Not):
            stack.append((current.expr, depth + 1))
        elif isinstance(current, ValuePath):
            stack.append((current.val_filter, depth + 1))
    return deepest


def sort_key(text: str, spec: ResourceSpec, dialect: str) -> Column:
    """What ``sortBy`` orders ``spec``'s resources by."""
    return SqlFilter(spec, dialect).sort_key(text)
