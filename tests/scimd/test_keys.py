"""The server key that seals MFA secrets: where it comes from, rotation, and its absence."""

from __future__ import annotations

import stat

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from directory import tables
from directory.errors import InvalidValue, NotConfigured
from directory.sealing import Sealer, new_key, parse_key
from scimd.app import create_app
from scimd.keys import load_sealer
from scimd.settings import Settings
from tests.scimd.accounts import (
    admin_token,
    assert_error,
    client,
    login,
    next_code,
    random_address,
    ready_user,
)
from tests.support.live_server import run_scimd


def test_an_embedded_store_gets_a_private_key_file_beside_it_made_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = load_sealer(Settings(), url)
    key_file = tmp_path / "store.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = first.seal("JBSWY3DPEHPK3PXP", "totp:1:u")
    again = load_sealer(Settings(), url)  # a restart, or a second worker
    assert again.open(sealed, "totp:1:u") == "JBSWY3DPEHPK3PXP"
    assert key_file.read_text().strip() and len(parse_key(key_file.read_text())) == 32


def test_a_configured_key_wins_and_a_key_file_is_read(tmp_path):
    key = new_key()
    (tmp_path / "k").write_text(key + "\n")
    by_value = load_sealer(Settings(secret_key=SecretStr(key)), "postgresql://x/y")
    by_file = load_sealer(Settings(secret_key_file=tmp_path / "k"), "postgresql://x/y")
    assert by_file.open(by_value.seal("S", "o"), "o") == "S"
    assert not (tmp_path / "k.key").exists()


def test_postgresql_without_a_key_has_none_and_sealing_is_refused():
    sealer = load_sealer(Settings(), "postgresql+psycopg://db.example/scimd")
    assert not sealer.configured
    with pytest.raises(NotConfigured, match="SCIMD_SECRET_KEY"):
        sealer.seal("S", "o")


def test_a_malformed_key_is_a_readable_error(tmp_path):
    with pytest.raises(InvalidValue, match="32 random bytes"):
        parse_key("too-short")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = run_scimd("serve", "--database-url", url, env={"SCIMD_SECRET_KEY": "nope"})
    assert result.returncode != 0
    assert "scimd: a secret key is 32 random bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_scimd_key_new_prints_a_usable_key():
    result = run_scimd("key", "new")
    assert result.returncode == 0, result.stderr
    assert len(parse_key(result.stdout)) == 32
    assert run_scimd("key", "new").stdout != result.stdout


def test_sealed_text_opens_only_for_its_owner_and_its_key():
    key, other = parse_key(new_key()), parse_key(new_key())
    sealed = Sealer(key).seal("SEED", "totp:1:a")
    assert Sealer(key).open(sealed, "totp:1:a") == "SEED"
    assert Sealer(key).open(sealed, "totp:1:b") is None
    assert Sealer(other).open(sealed, "totp:1:a") is None
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert Sealer(key).open(tampered, "totp:1:a") is None
    assert Sealer(other, [key]).open(sealed, "totp:1:a") == "SEED"
    assert Sealer(other, [key]).is_stale(sealed) and not Sealer(key).is_stale(sealed)


def _app(engine, key: str | None, previous: str | None = None):
    settings = Settings(
        shared_logins=True,
        secret_key=SecretStr(key) if key else None,
        secret_key_previous=SecretStr(previous) if previous else None,
    )
    return create_app(settings, engine=engine)


def _stored_seed(engine, tenant, user_id: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(tables.Account.mfa_secret).where(
                tables.Account.tenant_id == tenant.id, tables.Account.user_id == user_id
            )
        ).scalar_one()


def test_rotating_the_key_keeps_enrolments_and_reseals_them(engine, tenant):
    old, new = new_key(), new_key()
    token = admin_token(engine, tenant)
    with (
        client(_app(engine, old), "/admin/v1", token) as admin,
        client(_app(engine, old), "/auth", address=random_address()) as auth,
    ):
        user = ready_user(admin, mfaRequired=True)
        enrol = login(auth, user["userName"]).json()
        seed = enrol["enrolment"]["secret"]
        auth.post("/mfa", json={"challenge": enrol["challenge"], "code": pyotp.TOTP(seed).now()})
    sealed_by_old = _stored_seed(engine, tenant, user["id"])

    with client(_app(engine, new), "/auth", address=random_address()) as auth:
        challenge = login(auth, user["userName"]).json()["challenge"]
        refused = auth.post("/mfa", json={"challenge": challenge, "code": next_code(seed)})
        assert_error(refused, 401, "invalid_credentials")  # the new key alone cannot open it

    with client(_app(engine, new, previous=old), "/auth", address=random_address()) as auth:
        challenge = login(auth, user["userName"]).json()["challenge"]
        done = auth.post("/mfa", json={"challenge": challenge, "code": next_code(seed)})
        assert done.json()["status"] == "signed_in", done.text
    resealed = _stored_seed(engine, tenant, user["id"])
    assert resealed != sealed_by_old
    assert Sealer(parse_key(new)).open(resealed, f"totp:{tenant.id}:{user['id']}") == seed


def test_without_a_key_mfa_enrolment_answers_503_and_password_sign_in_still_works(engine, tenant):
    if engine.dialect.name == "sqlite":
        pytest.skip("an SQLite store always has a key: its key file is made on first start")
    app = _app(engine, None)
    token = admin_token(engine, tenant)
    with (
        client(app, "/admin/v1", token) as admin,
        client(app, "/auth", address=random_address()) as auth,
    ):
        plain = ready_user(admin)
        assert login(auth, plain["userName"]).json()["status"] == "signed_in"
        enrolling = ready_user(admin, mfaRequired=True)
        response = login(auth, enrolling["userName"])
        assert_error(response, 503, "not_configured")
        assert "retry-after" not in response.headers
