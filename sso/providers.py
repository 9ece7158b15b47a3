"""A tenant's identity providers: how to reach each, and its client secret, sealed.

``azure_ad``: ``{"authority": "https://login.microsoftonline.com/<tenant id>",
"clientId", "graphUrl"?}``, reached through msal, its users listed from
Microsoft Graph. ``oidc``: ``{"issuer", "clientId"}`` for any OpenID Connect
provider (Okta, OneLogin), reached through msal's ``oidc_authority``. Both
take a ``clientSecret`` when configured; it is sealed with the server key
and never shown again. Providers that only upload CSV files need no entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from directory import audit, tables
from directory.audit import Actor
from directory.errors import InvalidValue, NotFound
from directory.sealing import Sealer
from sso.links import provider_name

KINDS = ("azure_ad", "oidc")
GRAPH_URL = "https://graph.microsoft.com"
_FIELDS = {
    "azure_ad": {"authority": True, "clientId": True, "graphUrl": False},
    "oidc": {"issuer": True, "clientId": True},
}


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str
    config: dict[str, Any]
    client_secret: str | None  # opened, for the caller that talks to the provider

    @property
    def client_id(self) -> str:
        return str(self.config["clientId"])

    @property
    def authority(self) -> str:
        """The URL msal is given: ``authority`` for Azure AD, ``oidc_authority`` otherwise."""
        return str(self.config["authority" if self.kind == "azure_ad" else "issuer"]).rstrip("/")

    @property
    def graph_url(self) -> str:
        return str(self.config.get("graphUrl") or GRAPH_URL).rstrip("/")

    def to_json(self) -> dict[str, Any]:
        """What the admin API shows: never the secret, only whether there is one."""
        return {
            "name": self.name,
            "kind": self.kind,
            **self.config,
            "hasClientSecret": self.client_secret is not None,
        }


def _owner(tenant_id: int, name: str) -> str:
    return f"sso:{tenant_id}:{name}"


def _https_url(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("https://") or len(value) > 500:
        raise InvalidValue(f"{field} must be an https URL")
    return value.rstrip("/")


def _config(kind: Any, body: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise InvalidValue(f"kind is one of {', '.join(KINDS)}")
    fields = _FIELDS[kind]
    unknown = sorted(set(body) - set(fields) - {"kind", "clientSecret"})
    if unknown:
        raise InvalidValue(f"{unknown[0]!r} is not a setting of an {kind} provider")
    config: dict[str, Any] = {}
    for field, required in fields.items():
        value = body.get(field)
        if value is None:
            if required:
                raise InvalidValue(f"{field} is required for an {kind} provider")
            continue
        if field == "clientId":
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise InvalidValue("clientId must be text")
            config[field] = value.strip()
        else:
            config[field] = _https_url(field, value)
    return config


def put(
    conn: Connection,
    tenant_id: int,
    name: Any,
    body: dict[str, Any],
    sealer: Sealer,
    actor: Actor,
) -> Provider:
    """Create or replace a provider; a ``clientSecret`` left out keeps the stored one."""
    name = provider_name(name)
    kind = body.get("kind")
    config = _config(kind, body)
    secret = body.get("clientSecret")
    sealed: str | None
    if secret is None:
        current = _row(conn, tenant_id, name)
        sealed = current.client_secret if current is not None else None
    elif isinstance(secret, str) and secret:
        sealed = sealer.seal(secret, _owner(tenant_id, name))
    else:
        raise InvalidValue("clientSecret must be text")
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {"kind": kind, "config": config, "client_secret": sealed}
    conn.execute(
        insert(tables.SsoProvider)
        .values(tenant_id=tenant_id, name=name, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "name"], set_=values)
    )
    audit.record(
        conn,
        tenant_id,
        actor,
        "sso.provider_put",
        f"sso:{name}",
        detail={"kind": kind, **config, "clientSecretChanged": secret is not None},
    )
    return get(conn, tenant_id, name, sealer)


def _row(conn: Connection, tenant_id: int, name: str) -> Any:
    provider = tables.SsoProvider
    return conn.execute(
        select(provider.__table__).where(provider.tenant_id == tenant_id, provider.name == name)
    ).first()


def get(conn: Connection, tenant_id: int, name: str, sealer: Sealer) -> Provider:
    row = _row(conn, tenant_id, provider_name(name))
    if row is None:
        raise NotFound(f"no identity provider {name!r} is configured")
    secret = None
    if row.client_secret is not None:
        secret = sealer.open(row.client_secret, _owner(tenant_id, row.name))
        if secret is None:
            raise InvalidValue(
                f"the client secret of {row.name!r} cannot be opened with the server key; "
                "set it again"
            )
    return Provider(row.name, row.kind, dict(row.config), secret)


def listed(conn: Connection, tenant_id: int) -> list[dict[str, Any]]:
    provider = tables.SsoProvider
    rows = conn.execute(
        select(provider.__table__).where(provider.tenant_id == tenant_id).order_by(provider.name)
    )
    return [
        {
            "name": row.name,
            "kind": row.kind,
            **row.config,
            "hasClientSecret": row.client_secret is not None,
        }
        for row in rows
    ]


def remove(conn: Connection, tenant_id: int, name: str, actor: Actor) -> None:
    name = provider_name(name)
    provider = tables.SsoProvider
    gone = conn.execute(
        delete(provider).where(provider.tenant_id == tenant_id, provider.name == name)
    )
    if gone.rowcount != 1:
        raise NotFound(f"no identity provider {name!r} is configured")
    audit.record(conn, tenant_id, actor, "sso.provider_delete", f"sso:{name}")
