"""Configuration: environment variables with the ``SCIMD_`` prefix, overridden by CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from directory.database import DEFAULT_DATABASE_URL
from sso.tokens import ALGORITHMS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCIMD_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL of the store: ``sqlite:///PATH`` or ``postgresql+psycopg://...``."""

    pool_size: int = 4
    """Database connections, and worker threads, per server process.

    Few on purpose: request handling is Python work under one GIL, threads only
    overlap database waits, and more of them contend for the GIL (measured on
    PostgreSQL, 2 CPUs: 4 threads served 1.7x the GETs of 20). Scale with
    processes (``scimd serve --workers``) instead."""

    database_pre_ping: bool = False
    """Test each pooled PostgreSQL connection before use: one round trip per request, in
    exchange for no failed request after a database restart (see ``create_store_engine``)."""

    token_cache_seconds: float = 5.0
    """How long a process trusts a token lookup; a revoked token dies within this."""

    log_level: str = "info"
    """Level of scimd's JSON log lines (one per request at info)."""

    scim_strict: bool = False
    """Refuse unknown attributes and schema URNs instead of ignoring them (IdPs send some)."""

    smtp_host: str | None = None
    """SMTP server for password-reset mail; without one, mailing actions answer 503."""

    smtp_port: int = 25
    smtp_from: str = "scimd@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None

    public_url: str = "http://127.0.0.1:8000"
    """Where people reach this server; reset links in mail point here."""

    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies (comma-separated addresses or CIDR ranges, ``*`` for any) whose
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` headers name the real client. Sign-in
    throttling and the audit log key on that address: behind a proxy not listed here, every
    client looks like the proxy and shares one throttling budget. List only proxies you run:
    anyone else could name any address."""

    shared_logins: bool = False
    """Let one login (userName or email) be active in several tenants. Off: adding a login an
    active account of another tenant uses is a 409. On: sign-in may need ``tenant``."""

    secret_key: SecretStr | None = None
    """The key that seals MFA secrets at rest (``scimd key new`` makes one). Every server
    process of an installation needs the same key. Unset, ``secret_key_file`` is read; with
    neither, an SQLite store gets a key file beside the database, made on first start, and a
    PostgreSQL store has none, so MFA enrolment and codes answer 503."""

    secret_key_file: Path | None = None
    """A file holding the key, for secret stores that mount files."""

    secret_key_previous: SecretStr | None = None
    """Older keys, comma-separated, still accepted for opening while secrets are re-sealed
    with the current key as they are used."""

    job_runner: bool = True
    """Run queued jobs (imports) in this process. Any number of processes may: each job is
    claimed by one."""

    job_poll_seconds: float = 1.0
    """How often an idle job runner looks for queued jobs."""

    job_lease_seconds: float = 60.0
    """How long a claimed job may go without progress before another process takes it over
    (its own process presumably died). Longer than the longest single write of an import."""

    sso_ca_file: Path | None = None
    """A PEM bundle of the certificate authorities to trust for identity providers and
    Microsoft Graph, instead of the system's (for a private or test authority)."""

    admin_role: str | None = "admin"
    """The catalog role whose holders may administer their tenant as themselves: sign in to
    the admin console (``/console``) and call the admin API with their session or a user API
    key. Empty: admin API tokens only."""

    rate_limit_per_second: float = 1000.0
    """Requests a token may make per second, per server process, on average (0: no limit).
    Over it, requests are answered 429 with ``Retry-After``. Entra ID provisions at tens of
    requests a second; the default only stops a runaway client."""

    rate_limit_burst: float = 2000.0
    """Requests a token may make at once above the average, after a quiet spell."""

    scim_jwt_issuer: str | None = None
    """Accept JWT access tokens (RFC 9068) of this issuer as SCIM bearer tokens, besides API
    tokens: its ``iss`` exactly, an https URL (for Entra ID,
    ``https://login.microsoftonline.com/<tenant id>/v2.0``). None: JWTs are not accepted."""

    scim_jwt_audience: str | None = None
    """The ``aud`` the issuer puts in tokens meant for scimd (for Entra ID, the application id
    URI or client id of scimd's app registration). Required with an issuer."""

    scim_jwt_jwks_uri: str | None = None
    """Where the issuer publishes its signing keys. Unset, it is read from the issuer's
    ``/.well-known/openid-configuration`` when a first token arrives. The keys are fetched
    trusting ``sso_ca_file`` if set, and cached (refetched hourly, or when a token names an
    unknown key, at most every 30 s)."""

    scim_jwt_tenant_claim: str = "scimd_tenant"
    """The claim naming the scimd tenant (by its name) a token acts in; a token naming no
    tenant, or one that does not exist, is refused."""

    scim_jwt_scope_claim: str = "scope"
    """The claim holding a token's scopes (``scim``, ``scim:read``): a space-separated string
    (RFC 9068), or a list of strings (Entra ID's ``roles``). ``admin`` is ignored: the admin
    API takes API tokens only."""

    scim_jwt_algorithms: str = "RS256"
    """The signing algorithms accepted, comma-separated, among RS256/384/512 and ES256/384/512
    (never HS or none)."""

    @property
    def scim_jwt_algorithm_list(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.scim_jwt_algorithms.split(",") if name.strip())

    @model_validator(mode="after")
    def _check_scim_jwt(self) -> Self:
        if self.scim_jwt_issuer is None:
            return self
        if not self.scim_jwt_audience:
            raise ValueError("SCIMD_SCIM_JWT_AUDIENCE is required with SCIMD_SCIM_JWT_ISSUER")
        for name, url in (
            ("SCIMD_SCIM_JWT_ISSUER", self.scim_jwt_issuer),
            ("SCIMD_SCIM_JWT_JWKS_URI", self.scim_jwt_jwks_uri),
        ):
            if url is not None and not url.startswith("https://"):
                raise ValueError(f"{name} must be an https URL, not {url!r}")
        refused = [a for a in self.scim_jwt_algorithm_list if a not in ALGORITHMS]
        if refused or not self.scim_jwt_algorithm_list:
            raise ValueError(
                f"SCIMD_SCIM_JWT_ALGORITHMS: {', '.join(refused) or 'none'} not allowed; "
                f"use some of {', '.join(ALGORITHMS)}"
            )
        return self
