"""Filters over HTTP, compiled to SQL on both backends (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

import pytest

from tests.scim.helpers import ENTERPRISE, assert_scim_error, group, unique, user


@pytest.fixture
def people(scim):
    """Three users with distinct attributes, keyed by a short name."""
    made = {
        "ann": user(
            unique("Ann"),
            externalId="EXT-ann",
            displayName="Ann Lee",
            active=True,
            emails=[{"value": "ann@corp.example", "type": "work"}],
            **{ENTERPRISE: {"department": "Sales"}},
        ),
        "bob": user(
            unique("bob"),
            externalId="EXT-bob",
            displayName="Bob Ray",
            active=False,
            emails=[{"value": "bob@home.example", "type": "home"}],
        ),
        "cat": user(unique("cat"), displayName="Cat Ng", title="CTO"),
    }
    return {key: scim.post("/Users", json=body).json() for key, body in made.items()}


def _ids(scim, text, endpoint="/Users"):
    response = scim.get(endpoint, params={"filter": text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == len(body["Resources"])
    return sorted(r["id"] for r in body["Resources"])


def _expect(people, *keys):
    return sorted(people[key]["id"] for key in keys)


def test_user_name_eq_is_case_insensitive(scim, people):
    assert _ids(scim, f'userName eq "{people["ann"]["userName"].upper()}"') == _expect(
        people, "ann"
    )


def test_external_id_eq_is_case_exact(scim, people):
    assert _ids(scim, 'externalId eq "EXT-bob"') == _expect(people, "bob")
    assert _ids(scim, 'externalId eq "ext-bob"') == []


def test_display_name_and_id_eq_joined_by_and(scim, people):
    text = f'id eq "{people["cat"]["id"]}" and displayName eq "cat ng"'
    assert _ids(scim, text) == _expect(people, "cat")
    assert _ids(scim, f'id eq "{people["cat"]["id"]}" and displayName eq "Ann Lee"') == []


def test_or_not_and_parentheses(scim, people):
    assert _ids(scim, 'displayName sw "ann" or displayName sw "bob"') == _expect(
        people, "ann", "bob"
    )
    assert _ids(scim, 'not (displayName sw "ann" or displayName sw "bob")') == _expect(
        people, "cat"
    )


def test_ne_includes_resources_without_the_attribute(scim, people):
    assert _ids(scim, 'externalId ne "EXT-ann"') == _expect(people, "bob", "cat")


def test_co_sw_ew_and_pr(scim, people):
    assert _ids(scim, 'displayName co "RAY"') == _expect(people, "bob")
    assert _ids(scim, 'displayName ew "ng"') == _expect(people, "cat")
    assert _ids(scim, "externalId pr") == _expect(people, "ann", "bob")


def test_like_wildcards_in_values_are_literal(scim, people):
    assert _ids(scim, 'displayName co "%"') == []
    assert _ids(scim, 'displayName sw "_"') == []


def test_active_boolean(scim, people):
    assert _ids(scim, "active eq false") == _expect(people, "bob")
    # cat was sent without `active`: it is absent, not true (RFC 7644 §3.4.2.2).
    assert _ids(scim, "active eq true") == _expect(people, "ann")
    assert _ids(scim, "active eq null") == _expect(people, "cat")


def test_emails_value_and_value_path_filters(scim, people):
    assert _ids(scim, 'emails.value eq "ANN@corp.example"') == _expect(people, "ann")
    assert _ids(scim, 'emails[type eq "work" and value co "@corp"]') == _expect(people, "ann")
    assert _ids(scim, 'emails[type eq "work" and value co "@home"]') == []
    assert _ids(scim, "emails pr") == _expect(people, "ann", "bob")


def test_enterprise_attribute_by_full_urn_and_plain_attribute_from_the_document(scim, people):
    assert _ids(scim, f'{ENTERPRISE}:department eq "sales"') == _expect(people, "ann")
    assert _ids(scim, 'title eq "CTO"') == _expect(people, "cat")


def test_meta_last_modified_compares_as_a_date(scim, people):
    created = people["ann"]["meta"]["created"]
    assert _ids(scim, 'meta.created gt "2000-01-01T00:00:00Z"') == _expect(
        people, "ann", "bob", "cat"
    )
    assert _ids(scim, f'meta.created lt "{created}"') == []
    assert _ids(scim, 'meta.lastModified gt "2999-01-01T00:00:00+02:00"') == []


def test_no_match_is_an_empty_list_not_404(scim, people):
    body = scim.get("/Users", params={"filter": 'userName eq "nobody@nowhere"'}).json()
    assert body["totalResults"] == 0
    assert body["Resources"] == []


def test_plus_encoded_query_string_is_decoded(scim, people):
    name = people["bob"]["userName"]
    response = scim.get(f"/Users?filter=userName+eq+%22{name}%22")
    assert [r["id"] for r in response.json()["Resources"]] == [people["bob"]["id"]]


def test_invalid_filter_is_400_invalid_filter(scim):
    assert_scim_error(scim.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")
    assert_scim_error(scim.get("/Users", params={"filter": "(userName"}), 400, "invalidFilter")


def test_group_filters_by_display_name_and_member(scim, people):
    team = scim.post("/Groups", json=group("Team A", people["ann"]["id"])).json()
    scim.post("/Groups", json=group("Team B", people["bob"]["id"]))
    assert _ids(scim, 'displayName eq "team a"', "/Groups") == [team["id"]]
    assert _ids(scim, f'members[value eq "{people["ann"]["id"]}"]', "/Groups") == [team["id"]]
    assert _ids(scim, f'members.value eq "{people["ann"]["id"]}"', "/Groups") == [team["id"]]


def test_search_endpoint_takes_the_filter_in_the_body(scim, people):
    response = scim.post(
        "/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'displayName sw "ann"',
            "attributes": ["userName"],
        },
    )
    assert response.status_code == 200, response.text
    (found,) = response.json()["Resources"]
    assert found["userName"] == people["ann"]["userName"]
    assert "displayName" not in found


def test_root_search_pages_across_users_then_groups(scim, people):
    scim.post("/Groups", json=group("Only group"))
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 2}
    first = scim.post("/.search", json=body).json()
    second = scim.post("/.search", json={**body, "startIndex": 3}).json()
    assert first["totalResults"] == second["totalResults"] == 4
    kinds = [r["meta"]["resourceType"] for r in first["Resources"] + second["Resources"]]
    assert kinds == ["User", "User", "User", "Group"]


@pytest.fixture
def profiled(scim):
    """Users with attributes that live only in the stored JSON document."""
    ann = scim.post(
        "/Users",
        json=user(
            unique("ann"),
            name={"givenName": "Ann", "familyName": "Lee"},
            phoneNumbers=[
                {"value": "+1 555 0100", "type": "work", "primary": True},
                {"value": "+1 555 0199", "type": "mobile"},
            ],
            addresses=[{"locality": "Boston", "type": "work"}],
            roles=[{"value": "Admin"}],
            **{ENTERPRISE: {"manager": {"value": "MGR-1"}, "costCenter": "CC1"}},
        ),
    ).json()
    bob = scim.post(
        "/Users",
        json=user(
            unique("bob"),
            name={"givenName": "Bob"},
            phoneNumbers=[{"value": "+44 20 7946 0000", "type": "work"}],
            addresses=[{"locality": "London", "type": "home", "primary": True}],
            **{ENTERPRISE: {"manager": {"value": "mgr-1"}}},
        ),
    ).json()
    return {"ann": ann, "bob": bob}


def test_sub_attribute_in_the_document_is_case_insensitive(scim, profiled):
    assert _ids(scim, 'name.givenName eq "ANN"') == _expect(profiled, "ann")
    assert _ids(scim, "name.familyName pr") == _expect(profiled, "ann")
    assert _ids(scim, "not (name.familyName pr)") == _expect(profiled, "bob")


def test_case_exact_extension_attribute_compares_exactly(scim, profiled):
    manager = f"{ENTERPRISE}:manager.value"
    assert _ids(scim, f'{manager} eq "MGR-1"') == _expect(profiled, "ann")
    assert _ids(scim, f'{manager} eq "mgr-1"') == _expect(profiled, "bob")
    assert _ids(scim, f'{ENTERPRISE}:costCenter eq "cc1"') == _expect(profiled, "ann")


def test_multi_valued_attributes_in_the_document(scim, profiled):
    assert _ids(scim, 'phoneNumbers.value sw "+1"') == _expect(profiled, "ann")
    assert _ids(scim, 'phoneNumbers[type eq "work" and value co "7946"]') == _expect(
        profiled, "bob"
    )
    assert _ids(scim, 'phoneNumbers[type eq "mobile"]') == _expect(profiled, "ann")
    assert _ids(scim, 'addresses.locality eq "london"') == _expect(profiled, "bob")
    assert _ids(scim, "roles pr") == _expect(profiled, "ann")
    assert _ids(scim, 'roles.value eq "admin"') == _expect(profiled, "ann")


def test_booleans_inside_multi_valued_attributes(scim, profiled):
    assert _ids(scim, "phoneNumbers[primary eq true]") == _expect(profiled, "ann")
    assert _ids(scim, "addresses[primary eq true]") == _expect(profiled, "bob")
    assert _ids(scim, "addresses[primary eq false]") == []


def test_entra_filtered_email_value_comparison(scim, people):
    text = 'emails[type eq "work"].value eq "ann@corp.example"'
    assert _ids(scim, text) == _expect(people, "ann")


def test_email_filters_accept_partial_addresses(scim, people):
    assert _ids(scim, 'emails.value co "corp"') == _expect(people, "ann")
    assert _ids(scim, 'emails sw "bob"') == _expect(people, "bob")


def test_legacy_unquoted_value_is_read_as_a_string(scim, people):
    assert _ids(scim, f"userName eq {people['cat']['userName']}") == _expect(people, "cat")


def test_type_mismatches_are_invalid_filter(scim):
    for text in ('active eq "maybe"', 'meta.created gt "yesterday"', "active gt true", "nope eq 1"):
        assert_scim_error(scim.get("/Users", params={"filter": text}), 400, "invalidFilter")


def test_users_by_group_membership_and_groups_by_member(scim, people):
    team = scim.post("/Groups", json=group("Team", people["ann"]["id"], people["bob"]["id"])).json()
    assert _ids(scim, f'groups.value eq "{team["id"]}"') == _expect(people, "ann", "bob")
    assert _ids(scim, f'groups[value eq "{team["id"]}"] and active eq false') == _expect(
        people, "bob"
    )
    assert _ids(scim, 'groups.display eq "team"') == _expect(people, "ann", "bob")
    assert _ids(scim, "not (groups pr)") == _expect(people, "cat")


@pytest.mark.parametrize(
    "spelling",
    [
        'userName eq "{name}"',
        'USERNAME EQ "{upper}"',
        '  userName   eq   "{name}"  ',
        'userName eq "{unicode}"',
    ],
)
def test_user_name_eq_lookup_answers_as_the_general_filter_does(scim, spelling):
    """``userName eq`` is answered by one index lookup; its answer must be the general path's
    (``... and userName pr`` takes that path), body for body."""
    name = unique('Quote"d')
    created = scim.post("/Users", json=user(name, displayName="Q", groups=[])).json()
    scim.post("/Groups", json=group(unique("g"), created["id"]))
    escaped = name.replace('"', '\\"')
    unicode = name.replace('"', "\\u0022")
    text = spelling.format(name=escaped, upper=escaped.upper(), unicode=unicode)
    fast = scim.get("/Users", params={"filter": text})
    general = scim.get("/Users", params={"filter": f"({text}) and userName pr"})
    assert fast.status_code == general.status_code == 200, fast.text
    assert fast.json() == general.json()
    assert fast.json()["totalResults"] == 1
    assert fast.json()["Resources"][0]["groups"][0]["display"]


def test_user_name_eq_lookup_of_nobody_is_an_empty_list(scim):
    body = scim.get("/Users", params={"filter": 'userName eq "nobody@nowhere.example"'}).json()
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_user_name_eq_past_the_first_page_or_by_cursor_is_still_paged(scim):
    name = unique("paged")
    scim.post("/Users", json=user(name))
    text = f'userName eq "{name}"'
    second = scim.get("/Users", params={"filter": text, "startIndex": 2}).json()
    assert second["totalResults"] == 1 and second["Resources"] == []
    by_cursor = scim.get("/Users", params={"filter": text, "cursor": ""}).json()
    assert by_cursor["totalResults"] == 1 and len(by_cursor["Resources"]) == 1
    assert "startIndex" not in by_cursor
    assert_scim_error(
        scim.get("/Users", params={"filter": text, "sortBy": "nonsense"}), 400, "invalidValue"
    )
