"""Opening the store: engines, connection settings per backend, and schema upgrades.

One place knows how SQLite and PostgreSQL are tuned, so every other module
just asks for ``engine.begin()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from directory.errors import InvalidValue
from directory.values import comparison_key

DEFAULT_DATABASE_URL = "sqlite:///./var/scimd.db"
_READ_ONLY = "scimd_read_only"
_MIGRATION_LOCK = 0x5C1D  # pg_advisory_xact_lock key serialising schema upgrades


def create_store_engine(url: str, *, pool_size: int = 4, pre_ping: bool = False) -> Engine:
    """Create the engine for a database URL, tuned for its backend.

    SQLite runs in WAL mode, so readers never wait for the writer, with a busy
    timeout, so that concurrent writers queue instead of failing, and with
    foreign keys on. Its parent directory is created, so the embedded default
    under ``./var/`` works on a fresh checkout.

    Both keep bound parameters out of error messages (``hide_parameters``): a failed
    statement is logged, and its parameters can be password hashes, token digests or sealed
    secrets.

    PostgreSQL connections are not pinged before each use unless ``pre_ping``:
    the ping is a round trip per request (measured: 20% of GET throughput).
    Without it, the first statement on a connection that a database restart
    broke fails, SQLAlchemy then discards every connection the pool opened
    before it, and later requests get fresh ones: one failed request per
    process and restart. Connections are also renewed hourly, before idle
    timeouts of firewalls and poolers close them.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            # Every pooled connection would get a database of its own, gone at exit.
            raise InvalidValue("an in-memory SQLite database cannot be a store; name a file")
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN past the first read
        # and so breaks the isolation a unit of work expects; SQLAlchemy
        # documents taking it over like this.
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=3600,
        hide_parameters=True,
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # NORMAL in WAL mode is durable against process crashes (kill -9); only an
    # OS crash or power loss can lose the last transactions.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # LIKE then respects case, as on PostgreSQL: case-insensitive attributes are
    # compared on their folded keys, case-exact ones must not be folded by LIKE.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()
    # SQLite's lower() folds ASCII only; filters on attributes kept in the JSON
    # document fold with the same function that makes the stored keys.
    dbapi_connection.create_function("scimd_fold", 1, _fold, deterministic=True)


def _fold(value: Any) -> Any:
    return comparison_key(value) if isinstance(value, str) else value


def _begin_sqlite(connection: Any) -> None:
    # A unit of work that may write takes the write lock at BEGIN (IMMEDIATE):
    # two read-then-write units then queue on the busy timeout instead of one
    # failing on lock upgrade. Reads (``readonly(engine)``) begin deferred and
    # never wait for writers: WAL gives them a snapshot.
    if not connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    # Reads take no transaction: each statement reads a WAL snapshot of its own,
    # and BEGIN/COMMIT round trips cost more than the point reads they wrap.


def readonly(engine: Engine) -> Engine:
    """The engine for units of work that only read (same pool, same connections).

    They run without a transaction: on SQLite no lock and no BEGIN/COMMIT, each
    statement reading its own WAL snapshot; on PostgreSQL in autocommit, which
    saves the BEGIN and COMMIT round trips and changes nothing they could see: at
    READ COMMITTED every statement takes its own snapshot inside a transaction too.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT", **{_READ_ONLY: True})
    return engine.execution_options(**{_READ_ONLY: True})


def alembic_config(url: str) -> Config:
    """The Alembic configuration for the migrations shipped inside this package."""
    config = Config()
    config.set_main_option("script_location", "directory:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to call on every start, concurrently."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several servers may start at once on one database: one migrates,
            # the others wait for its transaction and then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ping(engine: Engine) -> None:
    """Raise if the store cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
