"""Configuration: environment variables with the ``SCIMD_`` prefix, overridden by CLI flags."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from directory.database import DEFAULT_DATABASE_URL


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

    shared_logins: bool = False
    """Let one login (userName or email) be active in several tenants. Off: adding a login an
    active account of another tenant uses is a 409. On: sign-in may need ``tenant``."""
