def test_create_then_get_user(scim):
    created = scim.post("/Users", json={"userName": "alice@example.com"})
    assert created.status_code == 201, created.text
    fetched = scim.get(f"/Users/{created.json()['id']}")
    assert fetched.json()["userName"] == "alice@example.com"
