"""Group PATCH operations on ``members``, turned into membership row changes.

RFC 7644 §3.5.2 describes ``members`` as an attribute of the group; a group
of 100,000 members cannot be loaded, patched and written back for every change
an IdP pushes. The operations on ``members`` are taken out of the PatchOp and
applied to the memberships table; the rest patch the group's document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scim2_models import (
    InvalidPathException,
    InvalidValueException,
    MutabilityException,
    PatchOp,
    PatchOperation,
)
from scim2_models.path.expressions import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)

Op = PatchOperation.Op
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group"


@dataclass
class MemberChanges:
    """What a PATCH does to a group's members, in order."""

    # (add|remove|set|clear|display, {member id: display label or None})
    steps: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)


def _ids(value: Any) -> dict[str, str | None]:
    """Members from a PATCH value: ``[{"value": id, "display": ...}]``, one of them, or an id."""
    items = value if isinstance(value, list) else [value]
    members: dict[str, str | None] = {}
    for item in items:
        member_id = item.get("value") if isinstance(item, dict) else item
        if not isinstance(member_id, str) or not member_id:
            raise InvalidValueException(detail=f"a member needs a 'value' id, got {item!r}")
        display = item.get("display") if isinstance(item, dict) else None
        members[member_id] = display if isinstance(display, str) else None
    return members


def _filter_ids(node: FilterNode) -> dict[str, str | None]:
    """The ids a ``members[...]`` filter selects: ``value eq "id"`` terms joined by ``or``."""
    if isinstance(node, Comparison) and node.op is CompareOperator.eq:
        if (node.attr_path.sub_attr or node.attr_path.attr).lower() == "value":
            return _ids(node.value)
    if isinstance(node, LogicalExpr) and node.op is LogicalOperator.or_:
        return {member: None for term in node.terms for member in _filter_ids(term)}
    raise InvalidPathException(detail='members can be selected by `value eq "id"` filters only')


def _is_members(path: Any) -> bool:
    return (
        path is not None
        and bool(path.parts)
        and path.parts[0].lower() == "members"
        and str(path.schema or CORE_GROUP).lower() == CORE_GROUP
    )


def split(patch: PatchOp[Any]) -> tuple[MemberChanges, list[PatchOperation[Any]]]:
    """Separate the member operations of a group PATCH from the others."""
    changes = MemberChanges()
    others: list[PatchOperation[Any]] = []
    for operation in patch.operations or []:
        path = operation.path
        if path is None and isinstance(operation.value, dict):
            value = dict(operation.value)
            key = next((k for k in value if k.lower() == "members"), None)
            if key is not None:
                ids = _ids(value.pop(key) or [])
                changes.steps.append(("set" if operation.op is Op.replace_ else "add", ids))
            if value:
                others.append(operation.model_copy(update={"value": value}))
            continue
        if path is None or not _is_members(path):
            others.append(operation)
            continue
        value_filter = path.value_filter
        if len(path.parts) > 1:
            # Only a member's display label may change (RFC 7643 §4.2: value,
            # $ref and type are immutable).
            if path.parts[1].lower() != "display" or value_filter is None:
                raise MutabilityException(detail=f"{path} is immutable")
            label = None if operation.op is Op.remove else operation.value
            if label is not None and not isinstance(label, str):
                raise InvalidValueException(detail="members.display is a string")
            changes.steps.append(("display", dict.fromkeys(_filter_ids(value_filter), label)))
            continue
        if operation.op is Op.remove:
            if value_filter is not None:
                changes.steps.append(("remove", _filter_ids(value_filter)))
            elif operation.value is not None:  # Entra: remove exactly these
                changes.steps.append(("remove", _ids(operation.value)))
            else:
                changes.steps.append(("clear", {}))
        elif operation.op is Op.add:
            changes.steps.append(("add", _ids(operation.value or [])))
        else:
            changes.steps.append(("set", _ids(operation.value or [])))
    return changes, others
