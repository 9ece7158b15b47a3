"""The benchmark's data: request payloads, and loading large datasets fast.

A million users cannot be created over HTTP in a benchmark's time budget, so
scimd's store is filled directly with SQLAlchemy Core, in large executemany
batches. The rows must be exactly what scimd itself would have written, or
the benchmark measures something scimd never serves: stored documents come
from scimd's own ``to_document`` (applied once to a template, then filled in
per user), and the derived columns follow ``directory.values`` (the folded
comparison keys). scim2-server keeps its data in memory behind its HTTP API,
so it is loaded through that API, with only what its phases need.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scim2_models import Context
from sqlalchemy import Engine, insert, text

from directory import tables, tenants
from directory.clock import utcnow
from directory.values import comparison_key
from scim.documents import to_document
from scim.provider import GroupModel, UserModel

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
EMAIL_DOMAIN = "bench.example.com"
_PLACEHOLDER = "KEY0PLACEHOLDER"
_BATCH = 10_000


def user_name(key: str) -> str:
    return f"{key}@{EMAIL_DOMAIN}"


def user_payload(key: str) -> dict[str, Any]:
    """A user as an IdP would POST it; ``key`` makes it unique. Every phase uses this shape."""
    name = user_name(key)
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"ext-{key}",
        "name": {"givenName": "Bench", "familyName": key, "formatted": f"Bench {key}"},
        "displayName": f"Bench {key}",
        "title": "Load tester",
        "active": True,
        "emails": [{"value": name, "type": "work", "primary": True}],
    }


def group_payload(display_name: str, member_ids: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": display_name,
        "members": [{"value": member} for member in member_ids],
    }


def patch_payload(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def bulk_create_payload(keys: Sequence[str]) -> dict[str, Any]:
    """A /Bulk request creating one user per key."""
    return {
        "schemas": [BULK_SCHEMA],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"b{i}", "data": user_payload(key)}
            for i, key in enumerate(keys)
        ],
    }


@dataclass
class Dataset:
    """What a server was loaded with, as the phases need it."""

    user_ids: list[str]
    user_names: list[str]
    big_group_id: str
    big_group_size: int
    small_group_ids: list[str]
    small_group_size: int
    pool: list[str]  # users in no group yet: member-add phases add these, each once

    @property
    def users(self) -> int:
        return len(self.user_ids)


@dataclass(frozen=True)
class Shape:
    """How big a dataset is: users, the big group (its first users), the small groups."""

    users: int
    big_group: int
    small_groups: int = 64
    small_group_size: int = 10

    def __post_init__(self) -> None:
        if self.big_group >= self.users:
            raise ValueError("the big group must leave users outside it (the member-add pool)")


# --- scimd: straight into its tables ---------------------------------------------------


@dataclass(frozen=True)
class BenchTenant:
    id: int
    name: str
    token: str


def create_tenant(engine: Engine) -> BenchTenant:
    """A fresh tenant and token, so a run never meets another run's rows in a shared database."""
    name = f"bench-{secrets.token_hex(4)}"
    with engine.begin() as conn:
        tenant = tenants.create_tenant(conn, name)
        token, _ = tenants.create_token(conn, tenant.id, description="bench")
    return BenchTenant(tenant.id, name, token)


def delete_tenant(engine: Engine, tenant: BenchTenant) -> None:
    with engine.begin() as conn:
        tenants.delete_tenant(conn, tenant.name)


def _stored_template(payload: dict[str, Any], model: Any) -> str:
    """The document scimd stores for ``payload``, as JSON text with the placeholder in it."""
    resource = model.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    return json.dumps(to_document(resource))


def _batches(count: int) -> Iterator[range]:
    for start in range(0, count, _BATCH):
        yield range(start, min(count, start + _BATCH))


def load_scimd(engine: Engine, tenant_id: int, shape: Shape) -> Dataset:
    """Insert ``shape``'s users, groups and memberships for one tenant, then refresh statistics."""
    user_template = _stored_template(user_payload(_PLACEHOLDER), UserModel)
    now = utcnow()
    keys = [f"u{i}" for i in range(shape.users)]
    ids = [str(uuid.uuid4()) for _ in keys]
    names = [user_name(key) for key in keys]

    for batch in _batches(shape.users):
        users, emails = [], []
        for i in batch:
            document = json.loads(user_template.replace(_PLACEHOLDER, keys[i]))
            display = document["displayName"]
            users.append(
                {
                    "tenant_id": tenant_id,
                    "id": ids[i],
                    "user_name": names[i],
                    "user_name_key": comparison_key(names[i]),
                    "external_id": document["externalId"],
                    "display_name": display,
                    "display_name_key": comparison_key(display),
                    "active": True,
                    "created": now,
                    "last_modified": now,
                    "version": 1,
                    "document": document,
                }
            )
            emails.append(
                {
                    "tenant_id": tenant_id,
                    "user_id": ids[i],
                    "position": 0,
                    "value": names[i],
                    "value_key": comparison_key(names[i]),
                    "type": "work",
                    "primary": True,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(tables.User), users)
            conn.execute(insert(tables.UserEmail), emails)

    def new_group(display: str, members: Sequence[str]) -> str:
        group_id = str(uuid.uuid4())
        document = json.loads(_stored_template(group_payload(display), GroupModel))
        with engine.begin() as conn:
            conn.execute(
                insert(tables.Group).values(
                    tenant_id=tenant_id,
                    id=group_id,
                    display_name=display,
                    display_name_key=comparison_key(display),
                    created=now,
                    last_modified=now,
                    version=1,
                    document=document,
                )
            )
            for start in range(0, len(members), _BATCH):
                rows = [
                    {
                        "tenant_id": tenant_id,
                        "group_id": group_id,
                        "member_id": member,
                        "member_type": "User",
                    }
                    for member in members[start : start + _BATCH]
                ]
                conn.execute(insert(tables.Membership), rows)
        return group_id

    big = new_group(f"Big group {shape.big_group}", ids[: shape.big_group])
    small = [
        new_group(
            f"Small group {k}",
            ids[k * shape.small_group_size : (k + 1) * shape.small_group_size],
        )
        for k in range(shape.small_groups)
    ]
    refresh_statistics(engine)
    return Dataset(
        ids, names, big, shape.big_group, small, shape.small_group_size, ids[shape.big_group :]
    )


def refresh_statistics(engine: Engine) -> None:
    """What a store that grew to this size would have by now: fresh planner statistics."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        # Outside any transaction (scimd's engine opens each with BEGIN IMMEDIATE, and a
        # checkpoint inside one finds the tables locked): straight on the driver connection.
        connection = engine.raw_connection()
        try:
            connection.execute("ANALYZE")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()


# --- scim2-server: through its HTTP API -----------------------------------------------------


async def load_over_http(client: Any, base: str, shape: Shape) -> Dataset:
    """Create ``shape`` through SCIM itself (/Bulk of 1,000 users, then the groups).

    ``client`` is a ``bench.driver.Client``. Only for small datasets: it costs
    what the server's writes cost.
    """
    started = time.perf_counter()
    keys = [f"u{i}" for i in range(shape.users)]
    ids: list[str] = []
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        response = await client.call("POST", f"{base}/Bulk", bulk_create_payload(chunk))
        if response.status != 200:
            raise RuntimeError(f"loading users: /Bulk answered {response.status}")
        for operation in response.json()["Operations"]:
            if str(operation.get("status")) != "201":
                raise RuntimeError(f"loading users: a bulk create failed: {operation}")
            ids.append(operation["location"].rstrip("/").rsplit("/", 1)[1])

    async def new_group(display: str, members: Sequence[str]) -> str:
        response = await client.call("POST", f"{base}/Groups", group_payload(display, members))
        if response.status != 201:
            raise RuntimeError(f"loading groups: {response.status} {response.body[:200]!r}")
        group_id: str = response.json()["id"]
        return group_id

    big = await new_group(f"Big group {shape.big_group}", ids[: shape.big_group])
    size = shape.small_group_size
    small = [
        await new_group(f"Small group {k}", ids[k * size : (k + 1) * size])
        for k in range(shape.small_groups)
    ]
    print(f"    loaded over HTTP in {time.perf_counter() - started:.1f}s", flush=True)
    names = [user_name(key) for key in keys]
    return Dataset(ids, names, big, shape.big_group, small, size, ids[shape.big_group :])
