"""``scimd catalog ...`` and ``scimd user grant``: the catalog and grants from the command line,
on the real executable, checked against the admin API over the same database."""

from __future__ import annotations

import json
import uuid

from tests.scimd.accounts import events, new_user
from tests.support.live_server import run_scimd


def _scimd(database_url: str, *args: str):
    return run_scimd(*args, "--database-url", database_url)


def _ok(result) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def _refused(result, *words: str) -> str:
    """A refusal: exit status 1 and one readable line on stderr holding ``words``."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("scimd: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def _put(database_url: str, tenant: str, kind: str, code: str, *rules: str) -> dict:
    return json.loads(
        _ok(
            _scimd(database_url, "catalog", "put", kind, code, "--tenant", tenant, *rules, "--json")
        )
    )


def _catalog(database_url: str, tenant: str) -> None:
    _put(database_url, tenant, "licences", "pro", "--name", "Professional")
    _put(database_url, tenant, "user-types", "staff")
    _put(database_url, tenant, "roles", "viewer")
    _put(database_url, tenant, "roles", "approver", "--licences", "pro", "--user-types", "staff")
    _put(database_url, tenant, "role-groups", "finance", "--roles", "approver,viewer")
    _put(database_url, tenant, "user-groups", "emea")
    _put(database_url, tenant, "user-groups", "apac")


def _grant(database_url: str, tenant: str, user: str, kind: str, codes: str, *extra: str):
    return _scimd(
        database_url,
        "user",
        "grant",
        user,
        "--tenant",
        tenant,
        "--kind",
        kind,
        "--codes",
        codes,
        *extra,
    )


def test_catalog_put_list_show_print_the_admin_api_json(database_url, tenant, admin):
    _catalog(database_url, tenant.name)
    approver = {"code": "approver", "name": "approver", "licences": ["pro"], "userTypes": ["staff"]}
    shown = _ok(
        _scimd(
            database_url, "catalog", "show", "roles", "approver", "--tenant", tenant.name, "--json"
        )
    )
    assert json.loads(shown) == approver == admin.get("/roles/approver").json()
    for kind in ("roles", "role-groups", "licences", "user-groups"):
        listed = _ok(
            _scimd(database_url, "catalog", "list", kind, "--tenant", tenant.name, "--json")
        )
        assert json.loads(listed) == admin.get(f"/{kind}").json(), kind
    listed = json.loads(
        _ok(
            _scimd(
                database_url, "catalog", "list", "role-groups", "--tenant", tenant.name, "--json"
            )
        )
    )
    assert listed == {
        "entries": [{"code": "finance", "name": "finance", "roles": ["approver", "viewer"]}]
    }
    text = _ok(_scimd(database_url, "catalog", "list", "licences", "--tenant", tenant.name))
    assert text == "pro\tProfessional\n"
    # put replaces, as POST does: a rule left out is emptied.
    assert _put(database_url, tenant.name, "roles", "approver", "--licences", "pro") == {
        **approver,
        "userTypes": [],
    }
    put = events(admin, action="catalog.put_role", target="role:approver")
    assert put[0]["actor"].startswith("cli:") and put[0]["detail"]["userTypes"] == []


def test_catalog_delete_removes_an_entry_nobody_holds(database_url, tenant, admin):
    _catalog(database_url, tenant.name)
    deleted = _ok(
        _scimd(database_url, "catalog", "delete", "user-groups", "apac", "--tenant", tenant.name)
    )
    assert deleted == "deleted user group apac\n"
    assert [e["code"] for e in admin.get("/user-groups").json()["entries"]] == ["emea"]
    _refused(
        _scimd(database_url, "catalog", "show", "user-groups", "apac", "--tenant", tenant.name),
        "no user group 'apac'",
    )
    # viewer is in the role group finance: kept.
    _refused(
        _scimd(database_url, "catalog", "delete", "roles", "viewer", "--tenant", tenant.name),
        "still in use",
    )
    assert admin.get("/roles/viewer").status_code == 200
    assert events(admin, action="catalog.delete_user_group")[0]["actor"].startswith("cli:")


def test_catalog_put_refuses_unknown_codes_and_rules_of_another_kind(database_url, tenant, admin):
    _catalog(database_url, tenant.name)
    put = ("catalog", "put", "roles", "odd", "--tenant", tenant.name)
    _refused(_scimd(database_url, *put, "--licences", "gold"), "no licence 'gold'")
    _refused(_scimd(database_url, *put, "--roles", "viewer"), "--roles", "role-groups")
    _refused(
        _scimd(
            database_url,
            "catalog",
            "put",
            "role-groups",
            "g",
            "--tenant",
            tenant.name,
            "--roles",
            "nope",
        ),
        "no role 'nope'",
    )
    assert admin.get("/roles/odd").status_code == 404
    assert admin.get("/role-groups/g").status_code == 404


def test_grant_refused_by_a_roles_licence_grants_nothing(database_url, tenant, admin):
    _catalog(database_url, tenant.name)
    name = f"grant-{uuid.uuid4().hex[:8]}@example.com"
    user = json.loads(
        _ok(
            _scimd(
                database_url,
                "user",
                "create",
                "--tenant",
                tenant.name,
                "--user-name",
                name,
                "--json",
            )
        )
    )[0]
    _refused(_grant(database_url, tenant.name, name, "roles", "viewer,approver"), "licences pro")
    _refused(_grant(database_url, tenant.name, name, "role-groups", "finance"), "licences pro")
    shown = admin.get(f"/users/{user['id']}").json()
    assert (shown["roles"], shown["roleGroups"]) == ([], [])
    assert not events(admin, action="account.grants", target=f"user:{user['id']}")
    # With the licence and type the role asks for, the same grant goes through.
    patched = admin.patch(
        f"/users/{user['id']}", json={"accessLicence": "pro", "userType": "staff"}
    )
    assert patched.status_code == 200, patched.text
    assert _ok(_grant(database_url, tenant.name, name, "roles", "viewer,approver")) == (
        f"{user['id']}\troles\tapprover,viewer\n"
    )


def test_grant_replaces_a_kind_and_empty_codes_clear_it(database_url, tenant, admin):
    _catalog(database_url, tenant.name)
    user = new_user(admin)
    admin.patch(f"/users/{user['id']}", json={"roles": ["viewer"]})
    _ok(_grant(database_url, tenant.name, user["id"], "user-groups", "emea,apac"))
    granted = json.loads(
        _ok(_grant(database_url, tenant.name, user["userName"], "user-groups", "apac", "--json"))
    )
    assert granted == admin.get(f"/users/{user['id']}").json()
    assert granted["userGroups"] == ["apac"] and granted["roles"] == ["viewer"]  # other kinds kept
    _ok(_grant(database_url, tenant.name, user["id"], "user-groups", ""))
    shown = admin.get(f"/users/{user['id']}").json()
    assert (shown["userGroups"], shown["roles"]) == ([], ["viewer"])
    trail = events(admin, action="account.grants", target=f"user:{user['id']}")
    assert trail[0]["actor"].startswith("cli:")
    assert trail[0]["detail"] == {"kind": "user_group", "added": [], "removed": ["apac"]}


def test_unknown_kinds_are_usage_errors(database_url, tenant):
    for args in (
        ("catalog", "list", "groups", "--tenant", tenant.name),
        ("catalog", "put", "role", "x", "--tenant", tenant.name),
        (
            "user",
            "grant",
            "someone",
            "--tenant",
            tenant.name,
            "--kind",
            "licences",
            "--codes",
            "pro",
        ),
    ):
        result = _scimd(database_url, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "invalid choice" in result.stderr, result.stderr
