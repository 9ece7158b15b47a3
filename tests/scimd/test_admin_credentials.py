"""Sessions and API keys per user (list, create, revoke), and the CSV export of the grid."""

from __future__ import annotations

import csv
import io

from tests.scimd.accounts import act, assert_error, login, new_user, ready_user


def _me(auth, secret: str):
    return auth.get("/me", headers={"Authorization": f"Bearer {secret}"})


def test_sessions_are_listed_and_ended(admin, auth):
    user = ready_user(admin)
    session = login(auth, user["userName"]).json()["session"]
    assert _me(auth, session).json()["userId"] == user["id"]
    [listed] = admin.get(f"/users/{user['id']}/sessions").json()["sessions"]
    assert listed["client"] and listed["expires"] and session not in str(listed)
    assert admin.delete(f"/users/{user['id']}/sessions/{listed['id']}").status_code == 204
    assert_error(_me(auth, session), 401, "unauthorized")
    assert admin.get(f"/users/{user['id']}/sessions").json()["sessions"] == []
    assert_error(admin.delete(f"/users/{user['id']}/sessions/{listed['id']}"), 404, "not_found")


def test_locking_an_account_stops_its_sessions(admin, auth):
    user = ready_user(admin)
    session = login(auth, user["userName"]).json()["session"]
    act(admin, user["id"], "lock")
    assert_error(_me(auth, session), 401, "unauthorized")
    act(admin, user["id"], "unlock")
    assert _me(auth, session).status_code == 200


def test_api_keys_are_shown_once_listed_and_revoked(admin, auth):
    user = ready_user(admin)
    made = admin.post(f"/users/{user['id']}/api-keys", json={"name": "backup job"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert _me(auth, key).json() == {
        "userId": user["id"],
        "userName": user["userName"],
        "kind": "api_key",
    }
    [listed] = admin.get(f"/users/{user['id']}/api-keys").json()["api-keys"]
    assert listed["id"] == made.json()["id"] and listed["name"] == "backup job"
    assert key not in str(listed)
    assert admin.delete(f"/users/{user['id']}/api-keys/{listed['id']}").status_code == 204
    assert_error(_me(auth, key), 401, "unauthorized")


def test_export_is_the_filtered_grid_as_safe_csv(admin):
    made = [
        new_user(
            admin, userName=f"csv-{n}-{admin.headers['authorization'][-6:]}@example.com", name=name
        )
        for n, name in enumerate(['=HYPERLINK("http://x")', "Zoë Ünicode", "+plain"])
    ]
    act(admin, made[1]["id"], "allow-login")
    response = admin.get("/users/export.csv", params={"search": "csv-", "sort": "userName"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [user["id"] for user in made]
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'  # never a formula
    assert rows[1]["name"] == "Zoë Ünicode" and rows[1]["accessLocked"] == "False"
    assert rows[2]["name"] == "'+plain"
    locked_only = admin.get("/users/export.csv", params={"search": "csv-", "blocked": "false"})
    assert [r["id"] for r in csv.DictReader(io.StringIO(locked_only.text))] == [made[1]["id"]]
