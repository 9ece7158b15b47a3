"""The link wizard: a provider's users previewed with their match status, then links applied.

Preview reads a stored provider list (``sso.snapshots``) against the store as
it is now, so a page read after an apply shows the new links. Apply takes the
admin's choices, ``add`` (link an object id to an account) and ``remove``
(unlink an object id), and makes all of them or none: each is checked in its
own savepoint, and if any fails the whole transaction is rolled back and the
result of every choice is reported.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from directory.audit import Actor
from directory.errors import DirectoryError, InvalidValue
from sso import links, matching, snapshots
from sso.matching import STATUSES

MAX_PAGE = 1000
MAX_CHOICES = 10_000


class ApplyFailed(DirectoryError):
    """Some choices could not be made: nothing was changed; ``results`` says which."""

    code = "apply_failed"

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("Nothing was changed: some choices could not be applied")
        self.results = results


def rows(conn: Connection, tenant_id: int, snapshot: snapshots.Snapshot) -> list[matching.Row]:
    """Every user of the list with its status now."""
    keys = {key for user in snapshot.users if (key := matching.email_key(user.email))}
    by_email = links.accounts_by_email(conn, tenant_id, keys)
    by_object, by_account = links.links_of(conn, tenant_id, snapshot.provider)
    return matching.match(snapshot.users, by_email, by_object, by_account)


def preview(
    conn: Connection,
    tenant_id: int,
    snapshot_id: int,
    *,
    status: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """A page of the list's rows (those of ``status``, if given), and the count of each status."""
    if status is not None and status not in STATUSES:
        raise InvalidValue(f"status is one of {', '.join(STATUSES)}")
    if not 0 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidValue(f"count is 0 to {MAX_PAGE}, startIndex at least 1")
    snapshot = snapshots.get(conn, tenant_id, snapshot_id)
    every = rows(conn, tenant_id, snapshot)
    counts = Counter(row.status for row in every)
    chosen = [row for row in every if status is None or row.status == status]
    return {
        "snapshotId": snapshot.id,
        "provider": snapshot.provider,
        "counts": {name: counts.get(name, 0) for name in STATUSES},
        "totalResults": len(chosen),
        "startIndex": offset + 1,
        "rows": [row.to_json() for row in chosen[offset : offset + limit]],
    }


def _choices(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise InvalidValue("choices must be a non-empty list")
    if len(value) > MAX_CHOICES:
        raise InvalidValue(f"at most {MAX_CHOICES} choices at once")
    checked = []
    for choice in value:
        if not isinstance(choice, dict) or choice.get("action") not in ("add", "remove"):
            raise InvalidValue('each choice is {"action": "add" or "remove", "objectId", ...}')
        object_id = choice.get("objectId")
        if not isinstance(object_id, str) or not object_id.strip():
            raise InvalidValue("each choice names an objectId")
        user_id = choice.get("userId")
        if choice["action"] == "add" and (not isinstance(user_id, str) or not user_id):
            raise InvalidValue("an add choice names the userId to link")
        email = choice.get("email")
        checked.append(
            {
                "action": choice["action"],
                "objectId": object_id.strip(),
                "userId": user_id if isinstance(user_id, str) else "",
                "email": email if isinstance(email, str) else "",
            }
        )
    return checked


def apply(
    conn: Connection, tenant_id: int, provider: str, choices: Any, actor: Actor
) -> list[dict[str, Any]]:
    """Make every choice, or raise ``ApplyFailed`` (the caller's transaction then rolls back)."""
    results: list[dict[str, Any]] = []
    # Removals first: unlinking A and linking its object id to B is one consistent apply.
    ordered = sorted(_choices(choices), key=lambda c: c["action"] != "remove")
    for choice in ordered:
        result: dict[str, Any] = {"action": choice["action"], "objectId": choice["objectId"]}
        try:
            with conn.begin_nested():
                if choice["action"] == "remove":
                    result["userId"] = links.remove(
                        conn, tenant_id, provider, choice["objectId"], actor
                    )
                    result["result"] = "unlinked"
                else:
                    links.add(
                        conn,
                        tenant_id,
                        provider,
                        choice["objectId"],
                        choice["userId"],
                        actor,
                        email=choice["email"] or None,
                    )
                    result.update(userId=choice["userId"], result="linked")
        except DirectoryError as exc:
            result.update(
                userId=choice["userId"] or None,
                result="failed",
                error=exc.code,
                detail=exc.detail,
            )
        results.append(result)
    if any(result["result"] == "failed" for result in results):
        raise ApplyFailed(results)
    return results


def matches(conn: Connection, tenant_id: int, snapshot_id: int) -> list[dict[str, Any]]:
    """An ``add`` choice for every row of the list whose status is ``match``."""
    snapshot = snapshots.get(conn, tenant_id, snapshot_id)
    return [
        {
            "action": "add",
            "objectId": row.user.object_id,
            "userId": row.user_id,
            "email": row.user.email,
        }
        for row in rows(conn, tenant_id, snapshot)
        if row.status == matching.MATCH
    ]
