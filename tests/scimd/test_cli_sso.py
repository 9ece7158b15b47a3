"""``scimd sso link|links|unlink``: the link wizard from the command line, on the real
executable."""

from __future__ import annotations

import json

from tests.scimd.accounts import new_user
from tests.support.live_server import run_scimd


def _scimd(database_url: str, *args: str):
    return run_scimd(*args, "--database-url", database_url)


def test_preview_then_apply_then_list_and_unlink(database_url, tenant, admin, tmp_path):
    domain = f"{tenant.name}.example.com"  # the shared database's other tenants have others
    ann = new_user(admin, userName=f"ann@{domain}", email=f"ann@{domain}")
    new_user(admin, userName=f"bob@{domain}", email=f"bob@{domain}")
    ids = tmp_path / "onelogin.csv"
    ids.write_text(f"email,object_id,name\nann@{domain},101,Ann\nzed@{domain},102,Zed\n")

    preview = _scimd(
        database_url,
        "sso",
        "link",
        "--tenant",
        tenant.name,
        "--provider",
        "onelogin",
        "--csv",
        str(ids),
    )
    assert preview.returncode == 0, preview.stderr
    assert [line.split("\t")[:4] for line in preview.stdout.splitlines()] == [
        ["2", "match", f"ann@{domain}", "101"],
        ["3", "no_local_user", f"zed@{domain}", "102"],
    ]
    assert admin.get("/sso/links").json()["links"] == []  # a preview links nothing

    applied = _scimd(
        database_url,
        "sso",
        "link",
        "--tenant",
        tenant.name,
        "--provider",
        "onelogin",
        "--csv",
        str(ids),
        "--apply",
        "--json",
    )
    assert applied.returncode == 0, applied.stderr
    body = json.loads(applied.stdout)
    assert body["results"] == [
        {"action": "add", "objectId": "101", "userId": ann["id"], "result": "linked"}
    ]
    listed = _scimd(database_url, "sso", "links", "--tenant", tenant.name, "--json")
    assert [(link["objectId"], link["userId"]) for link in json.loads(listed.stdout)] == [
        ("101", ann["id"])
    ]
    unlinked = _scimd(
        database_url,
        "sso",
        "unlink",
        "--tenant",
        tenant.name,
        "--provider",
        "onelogin",
        "--object-id",
        "101",
    )
    assert unlinked.returncode == 0 and ann["id"] in unlinked.stdout
    again = _scimd(
        database_url,
        "sso",
        "unlink",
        "--tenant",
        tenant.name,
        "--provider",
        "onelogin",
        "--object-id",
        "101",
    )
    assert again.returncode != 0 and again.stderr.startswith("scimd: ")
    assert "Traceback" not in again.stderr


def test_a_file_without_the_columns_is_a_readable_error(database_url, tenant, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("mail_address,id\nann@example.com,1\n")
    result = _scimd(
        database_url,
        "sso",
        "link",
        "--tenant",
        tenant.name,
        "--provider",
        "okta",
        "--csv",
        str(bad),
    )
    assert result.returncode != 0
    assert "email and object_id" in result.stderr and "Traceback" not in result.stderr
