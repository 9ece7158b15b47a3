"""The ``scimd`` command line, run as the real executable in a scratch working directory.

Each test names its own tenant: the database of a backend is shared by the
whole session.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from starlette.applications import Starlette

from directory import database, tenants
from tests.conftest import scim_client
from tests.support.live_server import run_scimd
from tests.support.postgres import free_port

UNREACHABLE_URL = "postgresql+psycopg://nobody@127.0.0.1:1/x"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def token_of(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def tenant_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [tenant.name for tenant in tenants.list_tenants(conn)]


def principal(engine: Engine, token: str) -> tenants.Principal | None:
    with engine.connect() as conn:
        return tenants.authenticate(conn, token)


def make_token(engine: Engine, name: str) -> tuple[int, str]:
    """Set-up through the library, not the CLI: a token (and its tenant if needed)."""
    with engine.begin() as conn:
        tenant = tenants.ensure_tenant(conn, name)
        secret, info = tenants.create_token(conn, tenant.id)
    return info.id, secret


def tenant_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return tenants.get_tenant(conn, name).id


def assert_readable_error(result: subprocess.CompletedProcess[str], *, contains: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("scimd: "), result.stderr
    assert contains in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


# --- token create ---------------------------------------------------------------------------


def test_token_create_prints_the_token_last_and_it_authenticates_for_scim(
    database_url: str, engine: Engine, app: Starlette, tmp_path: Path
) -> None:
    name = unique("cli-token")

    result = run_scimd(
        "token", "create", "--tenant", name, "--database-url", database_url, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    token = token_of(result.stdout)
    assert re.fullmatch(r"scimd_[A-Za-z0-9_-]{43}", token), result.stdout
    found = principal(engine, token)
    assert found is not None
    assert found.tenant_id == tenant_id(engine, name)
    assert found.scopes == frozenset({"scim"})
    with scim_client(app, token) as scim:
        created = scim.post("/Users", json={"userName": "cli@example.com"})
        assert created.status_code == 201, created.text
        listed = scim.get("/Users")
        assert listed.json()["totalResults"] == 1
    # With --database-url, nothing is written in the working directory.
    assert list(tmp_path.iterdir()) == []


def test_token_create_again_adds_a_second_token_to_the_same_tenant(
    database_url: str, engine: Engine
) -> None:
    name = unique("cli-token2")
    _, first = make_token(engine, name)

    result = run_scimd("token", "create", "--tenant", name, "--database-url", database_url)

    assert result.returncode == 0, result.stderr
    second = token_of(result.stdout)

    assert first != second
    assert tenant_names(engine).count(name) == 1
    one, two = principal(engine, first), principal(engine, second)
    assert one is not None and two is not None
    assert one.tenant_id == two.tenant_id == tenant_id(engine, name)
    assert one.token_id != two.token_id


# --- where the store is -----------------------------------------------------------------------


def test_database_url_defaults_to_the_environment_variable(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    name = unique("cli-env")

    result = run_scimd(
        "tenant", "create", name, cwd=tmp_path, env={"SCIMD_DATABASE_URL": database_url}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"created tenant {name}"
    assert name in tenant_names(engine)
    assert not (tmp_path / "var").exists()


def test_database_url_flag_overrides_the_environment_variable(tmp_path: Path) -> None:
    chosen, other = tmp_path / "chosen.db", tmp_path / "other.db"

    result = run_scimd(
        "tenant",
        "create",
        "flagged",
        "--database-url",
        f"sqlite:///{chosen}",
        cwd=tmp_path,
        env={"SCIMD_DATABASE_URL": f"sqlite:///{other}"},
    )

    assert result.returncode == 0, result.stderr
    assert not other.exists()
    engine = database.create_store_engine(f"sqlite:///{chosen}", pool_size=1)
    try:
        assert tenant_names(engine) == ["flagged"]
    finally:
        engine.dispose()


def test_without_any_setting_the_store_is_var_scimd_db_in_the_working_directory(
    tmp_path: Path,
) -> None:
    result = run_scimd("token", "create", "--tenant", "default", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    store = tmp_path / "var" / "scimd.db"
    assert store.is_file()
    engine = database.create_store_engine(f"sqlite:///{store}", pool_size=1)
    try:
        assert tenant_names(engine) == ["default"]
        found = principal(engine, token_of(result.stdout))
        assert found is not None
        assert found.tenant_id == tenant_id(engine, "default")
    finally:
        engine.dispose()


# --- tenants ------------------------------------------------------------------------------


def test_tenant_create_list_and_delete(database_url: str, engine: Engine, tmp_path: Path) -> None:
    name = unique("cli-tenant")
    db = ("--database-url", database_url)

    created = run_scimd("tenant", "create", name, *db, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created tenant {name}"

    listed = run_scimd("tenant", "list", *db, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    mine = [row for row in rows if row[0] == name]
    assert len(mine) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", mine[0][1]), mine

    again = run_scimd("tenant", "create", name, *db, cwd=tmp_path)
    assert_readable_error(again, contains=f"tenant {name!r} already exists")

    _, token = make_token(engine, name)
    deleted = run_scimd("tenant", "delete", name, "--yes", *db, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted tenant {name}"
    assert name not in tenant_names(engine)
    # Its tokens went with it.
    assert principal(engine, token) is None


def test_tenant_delete_without_yes_refuses_and_keeps_the_tenant(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    name = unique("cli-keep")
    _, token = make_token(engine, name)

    refused = run_scimd("tenant", "delete", name, "--database-url", database_url, cwd=tmp_path)

    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "--yes" in refused.stderr
    assert name in refused.stderr
    assert "Traceback" not in refused.stderr
    assert name in tenant_names(engine)
    assert principal(engine, token) is not None


def test_tenant_delete_of_an_unknown_tenant_is_a_readable_error(tmp_path: Path) -> None:
    name = unique("cli-none")

    result = run_scimd("tenant", "delete", name, "--yes", cwd=tmp_path)

    assert_readable_error(result, contains=f"no tenant named {name!r}")


# --- tokens -------------------------------------------------------------------------------


def test_token_list_shows_the_tokens_of_a_tenant_but_never_their_secrets(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    name = unique("cli-list")
    secrets = [make_token(engine, name)[1] for _ in range(2)]
    unrelated = unique("cli-other")
    make_token(engine, unrelated)

    listed = run_scimd(
        "token", "list", "--tenant", name, "--database-url", database_url, cwd=tmp_path
    )

    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert len(rows) == 2
    for row, secret in zip(rows, secrets, strict=True):
        assert row[1] == name
        assert row[2] == f"{secret[:12]}…"
        assert row[3] == "scim"
        assert row[5] == "active"
    for secret in secrets:
        assert secret not in listed.stdout
        assert secret[12:] not in listed.stdout
    assert unrelated not in listed.stdout


def test_token_revoke_makes_the_token_stop_authenticating(
    database_url: str, engine: Engine, app: Starlette, tmp_path: Path
) -> None:
    name = unique("cli-revoke")
    db = ("--database-url", database_url)
    created = run_scimd("token", "create", "--tenant", name, *db, cwd=tmp_path)
    _, kept = make_token(engine, name)
    token = token_of(created.stdout)
    match = re.match(r"created token (\d+) ", created.stdout)
    assert match, created.stdout
    token_id = match.group(1)
    assert principal(engine, token) is not None

    revoked = run_scimd("token", "revoke", token_id, *db, cwd=tmp_path)

    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked token {token_id}"
    assert principal(engine, token) is None
    assert principal(engine, kept) is not None
    with scim_client(app, token) as scim:
        assert scim.get("/Users").status_code == 401
    listed = run_scimd("token", "list", "--tenant", name, *db, cwd=tmp_path).stdout
    states = {row.split("\t")[0]: row.split("\t")[5] for row in listed.splitlines()}
    assert states[token_id].startswith("revoked 20"), listed
    assert list(states.values()).count("active") == 1

    twice = run_scimd("token", "revoke", token_id, *db, cwd=tmp_path)
    assert_readable_error(twice, contains=f"no active token with id {token_id}")


# --- schema -------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "fresh.db"
    url = f"sqlite:///{store}"

    first = run_scimd("db", "upgrade", "--database-url", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "schema is up to date"
    engine = database.create_store_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            tenants.create_tenant(conn, "kept")
        second = run_scimd("db", "upgrade", "--database-url", url, cwd=tmp_path)

        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "schema is up to date"
        assert {"tenants", "users", "groups", "api_tokens"} <= set(
            inspect(engine).get_table_names()
        ), inspect(engine).get_table_names()
        assert tenant_names(engine) == ["kept"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


def test_db_upgrade_on_a_current_store_keeps_its_data(database_url: str, engine: Engine) -> None:
    name = unique("cli-upgrade")
    make_token(engine, name)

    result = run_scimd("db", "upgrade", "--database-url", database_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "schema is up to date"
    assert name in tenant_names(engine)


# --- bootstrap ----------------------------------------------------------------------------


def test_bootstrap_creates_the_tenant_and_a_token_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    name = unique("cli-boot")
    port = str(free_port())
    args = ("bootstrap", "--tenant", name, "--port", port, "--database-url", database_url)
    base_url = f"http://127.0.0.1:{port}/scim/v2"

    first = run_scimd(*args, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert f"Created tenant {name!r}" in first.stdout
    assert f"SCIM base URL: {base_url}" in first.stdout.splitlines()
    match = re.search(r"^Bearer token \(shown once\): (scimd_\S+)$", first.stdout, re.M)
    assert match, first.stdout
    found = principal(engine, match.group(1))
    assert found is not None
    assert found.tenant_id == tenant_id(engine, name) and found.scopes == {"scim"}
    assert f"Admin console: http://127.0.0.1:{port}/console/" in first.stdout.splitlines()
    admin = re.search(r"^Admin token .* \(shown once\): (scimd_\S+)$", first.stdout, re.M)
    assert admin, first.stdout
    admin_principal = principal(engine, admin.group(1))
    assert admin_principal is not None and admin_principal.scopes == {"admin"}

    second = run_scimd(*args, cwd=tmp_path)

    assert second.returncode == 0, second.stderr
    assert f"Tenant {name!r} already exists" in second.stdout
    assert f"SCIM base URL: {base_url}" in second.stdout.splitlines()
    assert "scimd_" not in second.stdout
    with engine.connect() as conn:
        assert len(tenants.list_tokens(conn, name)) == 2
    assert tenant_names(engine).count(name) == 1


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["token", "create", "--tenant", "x"],
        ["serve", "--port", "0"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_an_unreachable_database_is_a_readable_error_without_traceback(
    command: list[str], tmp_path: Path
) -> None:
    result = run_scimd(*command, "--database-url", UNREACHABLE_URL, cwd=tmp_path, timeout=30)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"scimd: cannot use the database {UNREACHABLE_URL}: ")
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert "scimd serving" not in result.stdout


def test_an_unreachable_database_error_is_one_line(tmp_path: Path) -> None:
    result = run_scimd("tenant", "list", "--database-url", UNREACHABLE_URL, cwd=tmp_path)

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_a_database_error_does_not_reveal_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody:s3cr3t-pw@127.0.0.1:1/x"

    result = run_scimd("tenant", "list", "--database-url", url, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith("scimd: ")
    assert "s3cr3t-pw" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "not-a-database-url",
        "mysql://nobody@127.0.0.1:1/x",
        "sqlite:////dev/null/x/scimd.db",
        "sqlite:///:memory:",
    ],
    ids=["unparseable", "unknown-driver", "uncreatable-sqlite-dir", "in-memory-sqlite"],
)
def test_an_unusable_database_url_is_a_readable_error_without_traceback(
    url: str, tmp_path: Path
) -> None:
    result = run_scimd("tenant", "list", "--database-url", url, cwd=tmp_path)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("scimd: "), result.stderr
    assert "Traceback" not in result.stderr
