"""The fast rendering path gives exactly what validating and dumping through the models gives."""

from __future__ import annotations

from scim2_models import Context

from scim.provider import PROVIDER, GroupModel, UserModel
from tests.scim.helpers import ENTERPRISE, group, user

ACCOUNT = "urn:scimd:schemas:extension:account:2.0:User"


def _through_models(model, body):
    with PROVIDER:
        return model.model_validate(body).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def test_default_user_response_equals_the_models_dump(scim):
    boss = scim.post("/Users", json=user()).json()
    rich = user(
        name={"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        displayName="Ann",
        active=True,
        emails=[{"value": "ann@x.example", "type": "work", "primary": True}],
        phoneNumbers=[{"value": "+1 555", "type": "mobile"}],
        addresses=[{"locality": "Paris", "type": "work", "primary": True}],
        roles=[{"value": "admin", "display": "Admin"}],
        **{
            ENTERPRISE: {"department": "R&D", "manager": boss["id"]},
            ACCOUNT: {"mfaRequired": True, "loginAllowedFrom": "2026-01-01T08:00:00Z"},
        },
    )
    created = scim.post("/Users", json=rich).json()
    scim.post("/Groups", json=group("Team", created["id"]))
    fast = scim.get(f"/Users/{created['id']}").json()
    assert fast["groups"] and fast[ENTERPRISE]["manager"]["$ref"]
    assert fast == _through_models(UserModel, fast)


def test_default_group_response_equals_the_models_dump(scim):
    uid = scim.post("/Users", json=user(displayName="Shown")).json()["id"]
    created = scim.post("/Groups", json={**group("Team", uid), "externalId": "e1"}).json()
    fast = scim.get(f"/Groups/{created['id']}").json()
    assert fast["members"][0]["display"] == "Shown"
    assert fast == _through_models(GroupModel, fast)


def test_projected_and_default_responses_agree_on_shared_attributes(scim):
    created = scim.post("/Users", json=user(title="T", displayName="D")).json()
    default = scim.get(f"/Users/{created['id']}").json()
    projected = scim.get(f"/Users/{created['id']}", params={"excludedAttributes": "title"}).json()
    assert {k: v for k, v in default.items() if k != "title"} == projected
