"""SCIMD_SCIM_STRICT: what the lenient default accepts from IdPs is refused, as a SCIM error."""

from __future__ import annotations

import pytest

from scimd.app import create_app
from scimd.settings import Settings
from tests.conftest import scim_client
from tests.scim.helpers import USER_SCHEMA, assert_scim_error, patch, unique, user


@pytest.fixture
def strict(engine, tenant):
    with scim_client(
        create_app(Settings(scim_strict=True, shared_logins=True), engine=engine), tenant.token
    ) as client:
        yield client


def test_unknown_attribute_is_refused_in_strict_mode_and_ignored_by_default(strict, scim):
    body = user(unique(), favouriteColour="blue")
    assert_scim_error(strict.post("/Users", json=body), 400)
    assert scim.post("/Users", json=body).status_code == 201


def test_unknown_schema_urn_is_refused_in_strict_mode(strict):
    body = {"schemas": [USER_SCHEMA, "urn:example:unknown"], "userName": unique()}
    assert_scim_error(strict.post("/Users", json=body), 400)


def test_entra_remove_with_value_is_refused_in_strict_mode_on_a_user(strict):
    created = strict.post("/Users", json=user(emails=[{"value": "a@example.com", "type": "work"}]))
    assert created.status_code == 201, created.text
    response = strict.patch(
        f"/Users/{created.json()['id']}",
        json=patch({"op": "remove", "path": "emails", "value": [{"value": "a@example.com"}]}),
    )
    assert_scim_error(response, 400)
    assert strict.get(f"/Users/{created.json()['id']}").json()["emails"]


def test_strict_mode_still_serves_valid_requests(strict):
    created = strict.post("/Users", json=user(displayName="Valid"))
    assert created.status_code == 201, created.text
    assert strict.get(f"/Users/{created.json()['id']}").json()["displayName"] == "Valid"
