"""Discovery endpoints (RFC 7644 §4), generated from the models."""

from __future__ import annotations

from tests.scim.helpers import ENTERPRISE, assert_scim_error

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ACCOUNT = "urn:scimd:schemas:extension:account:2.0:User"


def test_service_provider_config_advertises_what_is_served(scim):
    body = scim.get("/ServiceProviderConfig").json()
    assert body["patch"] == {"supported": True}
    assert body["filter"]["supported"] is True
    assert body["filter"]["maxResults"] == 1000
    assert body["etag"] == {"supported": True}
    assert body["bulk"]["supported"] is True
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


def test_resource_types_list_users_with_enterprise_extension_and_groups(scim):
    body = scim.get("/ResourceTypes").json()
    assert body["totalResults"] == 2
    by_id = {rt["id"]: rt for rt in body["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schemaExtensions"] == [
        {"schema": ENTERPRISE, "required": False},
        {"schema": ACCOUNT, "required": False},
    ]
    assert by_id["Group"]["schema"] == GROUP
    assert scim.get("/ResourceTypes/User").json()["schema"] == USER
    assert_scim_error(scim.get("/ResourceTypes/Pet"), 404)


def test_schemas_describe_user_enterprise_and_group_attributes(scim):
    body = scim.get("/Schemas").json()
    ids = {schema["id"] for schema in body["Resources"]}
    assert ids == {USER, ENTERPRISE, ACCOUNT, GROUP}
    user_schema = scim.get(f"/Schemas/{USER}").json()
    attributes = {a["name"]: a for a in user_schema["attributes"]}
    assert attributes["userName"]["uniqueness"] == "server"
    assert attributes["userName"]["caseExact"] is False
    assert attributes["password"]["returned"] == "never"
    assert attributes["emails"]["multiValued"] is True
    assert_scim_error(scim.get("/Schemas/urn:nothing"), 404)


def test_unknown_endpoint_and_wrong_method_are_scim_errors(scim):
    assert_scim_error(scim.get("/Pets"), 404)
    assert_scim_error(scim.delete("/Users"), 405)


def test_account_extension_schema_marks_server_facts_read_only(scim):
    attributes = {a["name"]: a for a in scim.get(f"/Schemas/{ACCOUNT}").json()["attributes"]}
    assert attributes["lastLogin"]["mutability"] == "readOnly"
    assert attributes["failedTries"]["mutability"] == "readOnly"
    assert attributes["mfaRequired"]["mutability"] == "readWrite"
    assert attributes["userRoles"]["multiValued"] is True


def test_enterprise_schema_describes_manager(scim):
    attributes = {a["name"]: a for a in scim.get(f"/Schemas/{ENTERPRISE}").json()["attributes"]}
    manager = {s["name"]: s for s in attributes["manager"]["subAttributes"]}
    assert set(manager) == {"value", "$ref", "displayName"}
    assert manager["displayName"]["mutability"] == "readOnly"
    assert {"employeeNumber", "costCenter", "organization", "division", "department"} <= set(
        attributes
    )


def test_me_is_501_for_tenant_tokens_and_401_without_one(scim, app):
    from tests.conftest import scim_client

    assert_scim_error(scim.get("/Me"), 501)
    assert_scim_error(scim.patch("/Me", json={}), 501)
    with scim_client(app, None) as anonymous:
        assert_scim_error(anonymous.get("/Me"), 401)
