"""The README's examples run against the real app, so they cannot drift from the code."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parents[2] / "README.md").read_text()


def _curl_commands() -> list[list[str]]:
    block = README.split("Provision a user with the printed token:", 1)[1].split("```sh", 1)[1]
    words = shlex.split(block.split("```", 1)[0], comments=True)
    starts = [i for i, word in enumerate(words) if word == "curl"]
    return [words[i:j] for i, j in zip(starts, [*starts[1:], len(words)], strict=True)]


def test_readme_curl_examples_provision_and_find_a_user(scim):
    post, get = _curl_commands()
    body = json.loads(post[post.index("-d") + 1])
    path = post[post.index("-X") + 2].removeprefix("http://127.0.0.1:8000/scim/v2")
    created = scim.post(path, json=body)
    assert created.status_code == 201, created.text

    url = next(arg for arg in get if arg.startswith("http://"))
    found = scim.get(url.removeprefix("http://127.0.0.1:8000/scim/v2"))
    assert found.status_code == 200
    assert [r["id"] for r in found.json()["Resources"]] == [created.json()["id"]]


def _documented_commands() -> list[list[str]]:
    block = README.split("## Command line", 1)[1].split("```", 2)[1]
    commands = []
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if words[:1] != ["scimd"]:
            continue
        # `scimd tenant list | create NAME | delete NAME --yes` documents three commands.
        for alternative in " ".join(words[2:]).split("|"):
            sub = alternative.split()[:1]
            commands.append([words[1], *(w for w in sub if re.fullmatch(r"[a-z][a-z-]*", w))])
    return commands


@pytest.mark.parametrize("command", _documented_commands(), ids=" ".join)
def test_every_documented_command_exists(command):
    result = subprocess.run(
        [sys.executable, "-m", "scimd", *command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _admin_curls() -> list[list[str]]:
    block = README.split("then sign in as it:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    words = shlex.split(block.replace("\\\n", " "), comments=True)
    starts = [i for i, word in enumerate(words) if word == "curl"]
    return [words[i:j] for i, j in zip(starts, [*starts[1:], len(words)], strict=True)]


def test_readme_admin_example_creates_a_user_who_signs_in(app, engine, tenant):
    from tests.scimd.accounts import admin_token, client

    token = admin_token(engine, tenant)
    create, allow, password, signin = _admin_curls()
    with client(app, "", token) as api:

        def call(command: list[str], user_id: str = "") -> dict:
            url = next(a for a in command if a.startswith("http://")).replace("USER_ID", user_id)
            body = json.loads(command[command.index("-d") + 1]) if "-d" in command else None
            response = api.post(url.removeprefix("http://127.0.0.1:8000"), json=body)
            assert response.status_code in (200, 201), response.text
            return response.json()

        user_id = call(create)["id"]
        call(allow, user_id)
        call(password, user_id)
        assert call(signin)["status"] == "signed_in"
