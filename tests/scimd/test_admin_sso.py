"""``/admin/v1/sso``: the link wizard with a CSV provider, links, and their audit."""

from __future__ import annotations

from tests.scimd.accounts import assert_error, events, new_user


def _upload(admin, data: bytes, provider: str = "onelogin", filename: str = "ids.csv"):
    return admin.post(
        "/sso/snapshots",
        data={"provider": provider},
        files={"file": (filename, data, "text/csv")},
    )


# The emails are the tenant's own (the test database is shared, and sign-in tests elsewhere
# look logins up across tenants): each tenant's domain is its name.
def _people(admin, domain: str) -> dict[str, dict]:
    return {
        "ann": new_user(admin, userName=f"ann@{domain}", email=f"ann@{domain}"),
        "bob": new_user(admin, userName=f"bob.local.{domain}", email=f"Bob@{domain}"),
        "cy1": new_user(admin, userName=f"cy1.{domain}", email=f"cy@{domain}"),
        "cy2": new_user(admin, userName=f"cy2.{domain}", email=f"cy@{domain}"),
    }


def _csv(domain: str) -> bytes:
    return (
        "\ufeffEmail;Object_ID;Department\r\n"
        f'"ann@{domain}";"11";"Sales"\r\n'
        f" BOB@{domain.upper()} ;22;Ops\r\n"
        f"cy@{domain};33;Ops\r\n"
        f"nobody@{domain};44;Ops\r\n"
        "not-an-email;55;Ops\r\n"
        f"ann@{domain};;Ops\r\n"
    ).encode()


def test_a_csv_provider_list_is_previewed_with_every_status(admin, tenant):
    domain = f"{tenant.name}.example.com"
    people = _people(admin, domain)
    uploaded = _upload(admin, _csv(domain))
    assert uploaded.status_code == 201, uploaded.text
    preview = uploaded.json()
    assert preview["provider"] == "onelogin"
    assert preview["counts"] == {
        "linked": 0,
        "match": 1,
        "no_local_user": 1,
        "ambiguous": 2,  # cy has two accounts; ann appears twice in the file
        "conflict": 0,
        "invalid": 2,
    }
    by_line = {row["line"]: row for row in preview["rows"]}
    assert (by_line[2]["status"], by_line[2]["userId"]) == ("ambiguous", None)
    assert (by_line[3]["status"], by_line[3]["userId"]) == ("match", people["bob"]["id"])
    assert by_line[4]["status"] == "ambiguous" and by_line[5]["status"] == "no_local_user"
    assert by_line[6]["status"] == "invalid" and by_line[7]["status"] == "invalid"

    page = admin.get(
        f"/sso/snapshots/{preview['snapshotId']}", params={"status": "invalid", "count": 1}
    ).json()
    assert page["totalResults"] == 2 and [r["line"] for r in page["rows"]] == [6]
    second = admin.get(
        f"/sso/snapshots/{preview['snapshotId']}",
        params={"status": "invalid", "startIndex": 2, "count": 1},
    ).json()
    assert [r["line"] for r in second["rows"]] == [7]


def test_applying_links_then_the_preview_shows_them_linked(admin, tenant):
    domain = f"{tenant.name}.example.com"
    people = _people(admin, domain)
    preview = _upload(admin, f"email,object_id\nbob@{domain},22\nann@{domain},11\n".encode()).json()
    assert preview["counts"]["match"] == 2
    choices = [
        {"action": "add", "objectId": row["objectId"], "userId": row["userId"]}
        for row in preview["rows"]
    ]
    applied = admin.post("/sso/links/apply", json={"provider": "onelogin", "choices": choices})
    assert applied.status_code == 200, applied.text
    assert [r["result"] for r in applied.json()["results"]] == ["linked", "linked"]
    again = admin.get(f"/sso/snapshots/{preview['snapshotId']}").json()
    assert again["counts"]["linked"] == 2
    listed = admin.get("/sso/links", params={"provider": "onelogin"}).json()["links"]
    assert {(link["objectId"], link["userId"]) for link in listed} == {
        ("11", people["ann"]["id"]),
        ("22", people["bob"]["id"]),
    }
    [event] = events(admin, action="sso.link", target=f"user:{people['bob']['id']}")
    assert event["detail"] == {"provider": "onelogin", "objectId": "22"}


def test_apply_is_all_or_nothing_with_a_result_per_choice(admin, tenant):
    people = _people(admin, f"{tenant.name}.example.com")
    ok = {"action": "add", "objectId": "11", "userId": people["ann"]["id"]}
    admin.post("/sso/links/apply", json={"provider": "onelogin", "choices": [ok]})
    choices = [
        {"action": "add", "objectId": "22", "userId": people["bob"]["id"]},
        {"action": "add", "objectId": "11", "userId": people["cy1"]["id"]},  # taken
        {"action": "add", "objectId": "99", "userId": people["ann"]["id"]},  # ann has one
        {"action": "remove", "objectId": "nope"},
        {"action": "add", "objectId": "77", "userId": "no-such-user"},
    ]
    refused = admin.post("/sso/links/apply", json={"provider": "onelogin", "choices": choices})
    body = assert_error(refused, 409, "apply_failed")
    assert [(r["objectId"], r["result"]) for r in body["results"]] == [
        ("nope", "failed"),
        ("22", "linked"),
        ("11", "failed"),
        ("99", "failed"),
        ("77", "failed"),
    ]
    listed = admin.get("/sso/links").json()["links"]
    assert [(link["objectId"], link["userId"]) for link in listed] == [("11", people["ann"]["id"])]


def test_a_link_can_move_in_one_apply_and_be_removed(admin, tenant):
    people = _people(admin, f"{tenant.name}.example.com")
    first = {"action": "add", "objectId": "11", "userId": people["ann"]["id"]}
    admin.post("/sso/links/apply", json={"provider": "okta", "choices": [first]})
    moved = admin.post(
        "/sso/links/apply",
        json={
            "provider": "okta",
            "choices": [
                {"action": "add", "objectId": "11", "userId": people["bob"]["id"]},
                {"action": "remove", "objectId": "11"},  # applied first
            ],
        },
    )
    assert moved.status_code == 200, moved.text
    assert admin.delete("/sso/links/okta/11").status_code == 204
    assert_error(admin.delete("/sso/links/okta/11"), 404, "not_found")
    assert admin.get("/sso/links").json()["links"] == []
    unlinked = events(admin, action="sso.unlink")
    assert [e["target"] for e in unlinked] == [
        f"user:{people['bob']['id']}",
        f"user:{people['ann']['id']}",
    ]


def test_bad_wizard_requests_are_clear_errors(admin, make_tenant_admin):
    assert_error(_upload(admin, b"mail_address,id\nx@y.z,1\n"), 400, "invalid_value")
    assert_error(
        _upload(admin, _csv("x.example.com"), provider="Not A Name!"), 400, "invalid_value"
    )
    assert_error(admin.get("/sso/snapshots/999999999"), 404, "not_found")
    assert_error(admin.get("/sso/snapshots/x"), 400, "invalid_value")
    for body in (
        {"provider": "okta", "choices": []},
        {"provider": "okta", "choices": [{"action": "link", "objectId": "1"}]},
        {"provider": "okta", "choices": [{"action": "add", "objectId": "1"}]},
        {"choices": [{"action": "remove", "objectId": "1"}]},
    ):
        assert_error(admin.post("/sso/links/apply", json=body), 400, "invalid_value")
    preview = _upload(admin, b"email,object_id\na@b.co,1\n").json()
    with make_tenant_admin() as other:
        assert_error(other.get(f"/sso/snapshots/{preview['snapshotId']}"), 404, "not_found")
