"""``scimd user ...``: the account actions from the command line, on the real executable."""

from __future__ import annotations

import json
import uuid

from tests.scimd.accounts import assert_error, login
from tests.support.live_server import run_scimd


def _scimd(database_url: str, *args: str, input: str | None = None):
    return run_scimd(*args, "--database-url", database_url, input=input)


def _ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_create_allow_set_password_then_sign_in(database_url, tenant, auth):
    name = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    made = json.loads(
        _ok(
            _scimd(
                database_url,
                "user",
                "create",
                "--tenant",
                tenant.name,
                "--user-name",
                name,
                "--email",
                name,
                "--name",
                "Cli User",
                "--json",
            )
        )
    )[0]
    assert made["userName"] == name and made["accessLocked"] is True
    _ok(_scimd(database_url, "user", "allow", "--tenant", tenant.name, name))
    password = "Typed-on-stdin-42"
    shown = _ok(
        _scimd(
            database_url,
            "user",
            "set-password",
            "--tenant",
            tenant.name,
            name,
            "--password-stdin",
            "--json",
            input=password + "\n",
        )
    )
    assert password not in shown and json.loads(shown)[0]["hasPassword"] is True
    assert login(auth, name, password).json()["status"] == "signed_in"

    _ok(_scimd(database_url, "user", "lock", "--tenant", tenant.name, made["id"], "--reason", "x"))
    assert_error(login(auth, name, password), 403, "account_locked")
    listed = json.loads(
        _ok(_scimd(database_url, "user", "list", "--tenant", tenant.name, "--locked", "--json"))
    )
    assert [u["id"] for u in listed["users"]] == [made["id"]]
    _ok(_scimd(database_url, "user", "unlock", "--tenant", tenant.name, name))
    assert login(auth, name, password).json()["status"] == "signed_in"

    text = _ok(_scimd(database_url, "user", "show", "--tenant", tenant.name, name))
    assert f"userName: {name}" in text and "accessLocked: False" in text


def test_cli_refusals_are_one_readable_line(database_url, tenant):
    for args in (
        ("user", "show", "--tenant", tenant.name, "nobody@nowhere.example"),
        ("user", "block", "--tenant", tenant.name, "nobody", "--reason", "r"),
        ("user", "list", "--tenant", "no-such-tenant"),
        ("user", "create", "--tenant", tenant.name, "--user-name", "x", "--email", "not mail"),
    ):
        result = _scimd(database_url, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("scimd: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    made = _ok(
        _scimd(
            database_url,
            "user",
            "create",
            "--tenant",
            tenant.name,
            "--user-name",
            f"del-{uuid.uuid4().hex[:6]}",
        )
    ).split("\t")[0]
    refused = _scimd(database_url, "user", "delete", "--tenant", tenant.name, made)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    _ok(_scimd(database_url, "user", "delete", "--tenant", tenant.name, made, "--yes"))
    weak = _scimd(database_url, "user", "create", "--tenant", tenant.name, "--user-name", "weak-pw")
    _ok(weak)
    short = _scimd(
        database_url,
        "user",
        "set-password",
        "--tenant",
        tenant.name,
        "weak-pw",
        "--password-stdin",
        input="short\n",
    )
    assert short.returncode == 1 and "at least" in short.stderr


def test_several_users_take_an_action_all_or_none(database_url, tenant):
    names = []
    for _ in range(2):
        name = f"many-{uuid.uuid4().hex[:8]}@example.com"
        _ok(_scimd(database_url, "user", "create", "--tenant", tenant.name, "--user-name", name))
        names.append(name)
    refused = _scimd(
        database_url, "user", "lock", "--tenant", tenant.name, *names, "nobody@x.example"
    )
    assert refused.returncode == 1 and "nobody" in refused.stderr
    listed = json.loads(
        _ok(_scimd(database_url, "user", "list", "--tenant", tenant.name, "--locked", "--json"))
    )
    assert not {u["userName"] for u in listed["users"]} & set(names)
    locked = json.loads(
        _ok(_scimd(database_url, "user", "lock", "--tenant", tenant.name, *names, "--json"))
    )
    assert [u["locked"] for u in locked] == [True, True]


def test_settings_and_the_audit_trail_from_the_command_line(database_url, tenant):
    shown = json.loads(_ok(_scimd(database_url, "settings", "show", "--tenant", tenant.name)))
    assert shown["max_failed_tries"] == 5
    changed = json.loads(
        _ok(
            _scimd(
                database_url,
                "settings",
                "set",
                "--tenant",
                tenant.name,
                "max_failed_tries=3",
                "password.min_length=16",
                "mfa_required=true",
            )
        )
    )
    assert changed["max_failed_tries"] == 3 and changed["password"]["min_length"] == 16
    assert changed["password"]["min_classes"] == 3 and changed["mfa_required"] is True
    for bad in ("max_failed_tries=0", "colour=1", "password.min_length=x", "nothing"):
        result = _scimd(database_url, "settings", "set", "--tenant", tenant.name, bad)
        assert result.returncode == 1 and result.stderr.startswith("scimd: "), result.stderr
    trail = json.loads(
        _ok(
            _scimd(
                database_url,
                "audit",
                "--tenant",
                tenant.name,
                "--action",
                "settings.update",
                "--json",
            )
        )
    )
    assert len(trail) == 1 and trail[0]["actor"].startswith("cli:")
    assert trail[0]["detail"]["settings"]["max_failed_tries"] == 3
