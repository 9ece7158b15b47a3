"""``/admin/v1/imports`` and ``/exports``: every column, every option, and the round trip."""

from __future__ import annotations

from typing import Any

import pytest

from directory.user_sheet import HEADERS
from tests.scimd.accounts import assert_error, events, new_user
from tests.support.spreadsheets import read_rows, spreadsheet

FORMATS = ["csv", "xlsx"]
TYPES = {"csv": "text/csv", "xlsx": "application/octet-stream"}

FULL_ROW = {
    "Username": "zoë.ångström@example.com",
    "First name": "Zoë",
    "Middle name": "Maria",
    "Last name": "Ångström",
    "Job title": "Ingénieure",
    "Company": "Société Générale",
    "Description": "Zoë Maria Ångström",
    "User licenses": "pro",
    "User license description": "Professional",
    "Date from": "2026-01-31",
    "Date to": "2026-12-31",
    "Email": "zoe@example.com",
    "Mobile": "+44 7700 900123",
    "MFA required": "TRUE",
    "Create resource": "TRUE",
    "Resource": "ZA01",
    "Legacy ref": "LEG-7",
    "Resource description": "Zoë Å.",
    "Country code": "SE",
    "Resource group": "uk-ops",
    "Resource group description": "UK operations",
    "Currency": "SEK",
    "Department": "R&D",
    "Department description": "Research",
    "Manager": "MGR1",
    "Manager description": "李雷",
    "Cost centre": "CC-9",
    "Cost centre description": "Labs",
    "Staff": "FALSE",
    "Title": "Dr",
    "Suffix": "PhD",
    "Payment method": "BACS",
    "Payment terms": "30 days",
    "DAC groups": "uk-data",
    "User roles": "approver;viewer",
    "User groups": "apac;emea",
}
# A manager further down the file than the person they manage; group defaults fill blanks.
MANAGER_ROW = {
    **{header: "" for header in HEADERS},
    "Username": "li.lei@example.com",
    "Description": "李雷",
    "Email": "li.lei@example.com",
    "User licenses": "pro",
    "User license description": "Professional",
    "MFA required": "FALSE",
    "Create resource": "TRUE",
    "Resource": "MGR1",
    "Resource description": "李雷",
    "Country code": "GB",
    "Resource group": "uk-ops",
    "Resource group description": "UK operations",
    "Currency": "GBP",
    "Department": "OPS",
    "Payment terms": "14 days",
    "Staff": "TRUE",
}


def _catalog(admin) -> None:
    for path, body in (
        ("/licences", {"code": "pro", "name": "Professional"}),
        ("/roles", {"code": "viewer"}),
        ("/roles", {"code": "approver", "licences": ["pro"]}),
        ("/user-groups", {"code": "emea"}),
        ("/user-groups", {"code": "apac"}),
        ("/dac-groups", {"code": "uk-data"}),
        (
            "/resource-groups",
            {
                "code": "uk-ops",
                "name": "UK operations",
                "currency": "GBP",
                "department": "OPS",
                "staff": True,
                "paymentTerms": "14 days",
            },
        ),
    ):
        response = admin.post(path, json=body)
        assert response.status_code == 201, response.text


def upload(admin, data: bytes, filename: str = "users.csv", **options: Any):
    form = {
        key: str(value).lower() if isinstance(value, bool) else value
        for key, value in options.items()
    }
    kind = filename.rsplit(".", 1)[-1]
    return admin.post(
        "/imports", files={"file": (filename, data, TYPES.get(kind, "text/plain"))}, data=form
    )


def imported(admin, headers, rows, kind: str = "csv", **options: Any) -> dict[str, Any]:
    """Run an import now; its job (asserting it ran)."""
    response = upload(admin, spreadsheet(kind, headers, rows), f"users.{kind}", **options)
    assert response.status_code == 201, response.text
    return response.json()


def table(rows: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    return HEADERS, [[row.get(header, "") for header in HEADERS] for row in rows]


def export(admin, kind: str, **params: str) -> bytes:
    response = admin.get(f"/exports/users.{kind}", params=params)
    assert response.status_code == 200, response.text
    return response.content


def user_named(admin, name: str) -> dict[str, Any]:
    found = admin.get("/users", params={"search": name}).json()["users"]
    [user] = [u for u in found if u["userName"] == name]
    return admin.get(f"/users/{user['id']}").json()


@pytest.fixture
def catalogued(admin):
    _catalog(admin)
    return admin


@pytest.mark.parametrize("kind", FORMATS)
def test_every_column_imports_and_exports_unchanged(catalogued, scim, kind):
    admin = catalogued
    job = imported(admin, *table([FULL_ROW, MANAGER_ROW]), kind)
    assert job["status"] == "done", job
    assert job["report"] | {"errors": [], "warnings": []} == {
        "total": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "committed": True,
        "complete": True,
        "errors": [],
        "warnings": [],
    }
    user = user_named(admin, FULL_ROW["Username"])
    assert (user["name"], user["email"], user["mobile"]) == (
        "Zoë Maria Ångström",
        "zoe@example.com",
        "+44 7700 900123",
    )
    assert user["accessLicence"] == "pro" and user["mfaRequired"] is True
    assert (user["loginAllowedFrom"], user["loginAllowedTo"]) == (
        "2026-01-31T00:00:00Z",
        "2026-12-31T23:59:59Z",
    )
    assert (user["roles"], user["userGroups"], user["dacGroups"]) == (
        ["approver", "viewer"],
        ["apac", "emea"],
        ["uk-data"],
    )
    assert user["loginAllowed"] is False  # imported users wait for login access like others
    document = scim.get(f"/Users/{user['id']}").json()
    assert document["name"] == {
        "givenName": "Zoë",
        "middleName": "Maria",
        "familyName": "Ångström",
        "honorificPrefix": "Dr",
        "honorificSuffix": "PhD",
    }
    assert document["title"] == "Ingénieure"
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert document[enterprise]["organization"] == "Société Générale"

    exported = {row["Username"]: row for row in read_rows(kind, export(admin, kind))}
    assert list(next(iter(exported.values()))) == HEADERS
    # In CSV a leading + is quoted against formula injection; the import takes the quote off.
    expected = FULL_ROW | ({"Mobile": "'+44 7700 900123"} if kind == "csv" else {})
    assert exported[FULL_ROW["Username"]] == expected
    assert exported[MANAGER_ROW["Username"]] == MANAGER_ROW  # group defaults filled its blanks


@pytest.mark.parametrize("kind", FORMATS)
def test_an_export_re_imports_into_a_fresh_tenant_byte_for_byte(
    catalogued, kind, make_tenant_admin
):
    source = catalogued
    imported(source, *table([FULL_ROW, MANAGER_ROW]))
    first = export(source, "csv")
    with make_tenant_admin() as fresh:
        _catalog(fresh)
        response = upload(fresh, export(source, kind), f"users.{kind}")
        assert response.status_code == 201 and response.json()["report"]["created"] == 2
        assert export(fresh, "csv") == first


def test_re_importing_an_export_changes_nothing(catalogued):
    admin = catalogued
    imported(admin, *table([FULL_ROW, MANAGER_ROW]))
    before = len(events(admin))
    again = upload(admin, export(admin, "xlsx"), "users.xlsx", updateExisting=True)
    assert again.json()["report"]["unchanged"] == 2
    assert again.json()["report"]["updated"] == 0
    assert len(events(admin)) == before


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(catalogued):
    admin = catalogued
    before = admin.get("/users").json()["totalResults"]
    rows = [
        {"Username": "one@example.com"},
        {"Username": "two@example.com", "MFA required": "maybe"},
        {"Username": "three@example.com", "User roles": "no-such-role"},
    ]
    job = imported(admin, *table(rows))
    assert job["status"] == "failed"
    report = job["report"]
    assert (report["committed"], report["failed"], report["created"]) == (False, 2, 1)
    assert report["errors"] == [
        {"row": 3, "column": "MFA required", "reason": "'maybe' is not TRUE/FALSE, Y/N or 1/0"},
        {"row": 4, "column": "User roles", "reason": "no role 'no-such-role'"},
    ]
    assert admin.get("/users").json()["totalResults"] == before


def test_skip_errors_imports_the_good_rows_and_reports_the_bad(catalogued):
    admin = catalogued
    rows = [
        {"Username": "good1@example.com"},
        {"Username": "bad@example.com", "Email": "not-an-email"},
        {"Username": "good2@example.com"},
    ]
    job = imported(admin, *table(rows), skipErrors=True)
    assert job["status"] == "done"
    assert (job["report"]["created"], job["report"]["failed"]) == (2, 1)
    assert job["report"]["errors"] == [
        {"row": 3, "column": "Email", "reason": "'not-an-email' is not an email address"}
    ]
    assert job["report"]["complete"] is False
    user_named(admin, "good2@example.com")
    assert admin.get("/users", params={"search": "bad@"}).json()["users"] == []


@pytest.mark.parametrize(
    ("date_format", "cell"),
    [("british", "31/01/2026"), ("us", "01/31/2026"), ("iso", "2026-01-31")],
)
def test_date_formats(catalogued, date_format, cell):
    admin = catalogued
    rows = [{"Username": f"d-{date_format}@example.com", "Date from": cell}]
    job = imported(admin, *table(rows), dateFormat=date_format)
    assert job["status"] == "done", job
    user = user_named(admin, f"d-{date_format}@example.com")
    assert user["loginAllowedFrom"] == "2026-01-31T00:00:00Z"
    wrong = "2026-01-31" if date_format != "iso" else "31/01/2026"
    refused = imported(
        admin, *table([{"Username": "x@example.com", "Date from": wrong}]), dateFormat=date_format
    )
    assert refused["report"]["errors"][0]["column"] == "Date from"


def test_reset_from_resource_group_overrides_the_file(catalogued):
    admin = catalogued
    rows = [
        {
            "Username": "kept@example.com",
            "Create resource": "Y",
            "Resource group": "uk-ops",
            "Department": "SALES",
        },
        {"Username": "blank@example.com", "Create resource": "Y", "Resource group": "uk-ops"},
    ]
    imported(admin, *table(rows))
    reset = [{**rows[0], "Username": "reset@example.com"}]
    imported(admin, *table(reset), resetFromResourceGroup=True)
    exported = {r["Username"]: r for r in read_rows("csv", export(admin, "csv"))}
    assert exported["kept@example.com"]["Department"] == "SALES"
    assert exported["blank@example.com"]["Department"] == "OPS"
    assert exported["reset@example.com"]["Department"] == "OPS"
    assert exported["blank@example.com"]["Payment terms"] == "14 days"
    assert exported["blank@example.com"]["Currency"] == "GBP"
    # Codes were generated, one each, in order.
    codes = sorted(exported[name]["Resource"] for name in exported)
    assert codes == ["R000001", "R000002", "R000003"]


def test_copy_roles_from_a_user_onto_every_new_user(catalogued):
    admin = catalogued
    source = new_user(admin, accessLicence="pro", roles=["approver"])
    existing = new_user(admin)
    rows = [
        {"Username": "n1@example.com", "User licenses": "pro"},
        {"Username": "n2@example.com", "User licenses": "pro", "User roles": "viewer"},
        {"Username": existing["userName"], "Job title": "Clerk"},
    ]
    job = imported(admin, *table(rows), copyRolesFrom=source["userName"], updateExisting=True)
    assert job["status"] == "done", job
    assert user_named(admin, "n1@example.com")["roles"] == ["approver"]
    assert user_named(admin, "n2@example.com")["roles"] == ["approver", "viewer"]
    assert user_named(admin, existing["userName"])["roles"] == []  # not a new user
    missing = upload(admin, spreadsheet("csv", *table(rows)), copyRolesFrom="nobody@x.y")
    assert missing.status_code == 201 and missing.json()["status"] == "failed"
    assert "no user 'nobody@x.y'" in missing.json()["report"]["error"]


def test_a_dry_run_reports_and_writes_nothing(catalogued):
    admin = catalogued
    before = admin.get("/users").json()["totalResults"]
    job = imported(
        admin,
        *table([{"Username": "dry1@example.com"}, {"Username": "dry2@example.com"}]),
        dryRun=True,
    )
    assert job["status"] == "done"
    assert (job["report"]["created"], job["report"]["committed"]) == (2, False)
    assert admin.get("/users").json()["totalResults"] == before


def test_create_only_refuses_existing_users_and_update_keeps_blank_cells(catalogued):
    admin = catalogued
    user = new_user(admin, email="kept@example.com", name="Kept Name")
    rows = [{"Username": user["userName"], "Job title": "Boss"}]
    refused = imported(admin, *table(rows))
    assert refused["report"]["errors"][0]["column"] == "Username"
    assert "already exists" in refused["report"]["errors"][0]["reason"]
    updated = imported(admin, *table(rows), updateExisting=True)
    assert updated["report"]["updated"] == 1
    shown = user_named(admin, user["userName"])
    assert (shown["email"], shown["name"]) == ("kept@example.com", "Kept Name")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("TRUE", True),
        ("true", True),
        ("Y", True),
        ("y", True),
        ("1", True),
        ("FALSE", False),
        ("false", False),
        ("N", False),
        ("n", False),
        ("0", False),
    ],
)
def test_booleans_in_any_case(catalogued, cell, expected):
    admin = catalogued
    name = f"b-{cell.lower()}-{expected}@example.com"
    imported(admin, *table([{"Username": name, "MFA required": cell}]))
    assert user_named(admin, name)["mfaRequired"] is expected


def test_headers_match_whatever_their_case_and_spacing(catalogued):
    admin = catalogued
    headers = ["  user NAME ", "FIRST name", "Description (full name)", "user   Roles"]
    job = imported(admin, headers, [["hdr@example.com", "Ann", "Ann Lee", " viewer ; approver;"]])
    assert job["status"] == "failed"  # approver needs the pro licence
    assert job["report"]["errors"][0]["column"] == "User roles"
    assert "needs one of the licences pro" in job["report"]["errors"][0]["reason"]
    job = imported(admin, headers, [["hdr@example.com", "Ann", "Ann Lee", "viewer;;"]])
    assert job["status"] == "done"
    user = user_named(admin, "hdr@example.com")
    assert (user["name"], user["roles"]) == ("Ann Lee", ["viewer"])


def test_resources_refer_to_managers_and_groups_that_exist(catalogued):
    admin = catalogued
    rows = [
        {"Username": "r1@example.com", "Create resource": "1", "Manager": "NOBODY"},
        {
            "Username": "r2@example.com",
            "Create resource": "1",
            "Resource": "SELF",
            "Manager": "SELF",
        },
        {"Username": "r3@example.com", "Create resource": "1", "Resource group": "nope"},
        {"Username": "r4@example.com", "Create resource": "1", "Country code": "XX"},
        {"Username": "r5@example.com", "Create resource": "1", "Currency": "ABC"},
        {"Username": "r6@example.com", "Department": "no resource asked for"},
    ]
    job = imported(admin, *table(rows), skipErrors=True)
    assert [(e["row"], e["column"]) for e in job["report"]["errors"]] == [
        (2, "Manager"),
        (3, "Manager"),
        (4, "Resource group"),
        (5, "Country code"),
        (6, "Currency"),
        (7, "Create resource"),
    ]


def test_the_country_defaults_to_the_tenant_setting(catalogued):
    admin = catalogued
    assert (
        admin.put("/settings", json={"default_country_code": "de"}).json()["default_country_code"]
        == "DE"
    )
    imported(admin, *table([{"Username": "de@example.com", "Create resource": "TRUE"}]))
    [row] = [r for r in read_rows("csv", export(admin, "csv")) if r["Username"] == "de@example.com"]
    assert row["Country code"] == "DE"


def test_every_import_is_audited_per_user(catalogued):
    admin = catalogued
    job = imported(admin, *table([{"Username": "audited@example.com"}]))
    user = user_named(admin, "audited@example.com")
    [event] = events(admin, target=f"user:{user['id']}")
    assert event["action"] == "user.import_create"
    assert event["detail"] == {"row": 2, "userName": "audited@example.com"}
    assert job["createdBy"].startswith("admin-token:")


def test_jobs_are_listed_and_private_to_their_tenant(catalogued, make_tenant_admin):
    admin = catalogued
    job = imported(admin, *table([{"Username": "mine@example.com"}]))
    assert admin.get(f"/imports/{job['id']}").json()["report"]["created"] == 1
    assert job["id"] in [j["id"] for j in admin.get("/imports").json()["jobs"]]
    with make_tenant_admin() as other:
        assert_error(other.get(f"/imports/{job['id']}"), 404, "not_found")
        assert job["id"] not in [j["id"] for j in other.get("/imports").json()["jobs"]]
        exported = read_rows("csv", export(other, "csv"))
        assert exported == []
