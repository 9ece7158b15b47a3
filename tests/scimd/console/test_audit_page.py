"""The console's audit log: events newest first, filters (dates as whole UTC days), paging to
older events, and exports with the same filters — each read through the admin API."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from directory import audit
from directory.audit import Actor
from tests.scimd.accounts import act, admin_token, new_user
from tests.scimd.console.pages import browser, sign_in_with_token

ROBOT = Actor("system", "robot", "192.0.2.7")


@pytest.fixture
def web(app, engine, tenant):
    with browser(app) as client:
        sign_in_with_token(client, admin_token(engine, tenant))
        yield client


def targets(html: str) -> list[str]:
    """The Target cells of the table, in order."""
    rows = re.findall(r"<tr>\s*<td><time[^>]*>[^<]*</time></td>(.*?)</tr>", html, re.S)
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row)[2] for row in rows]


def record(engine, tenant, count: int, action: str = "test.event") -> list[str]:
    with engine.begin() as conn:
        audit.record_many(
            conn, tenant.id, ROBOT, [(action, f"n:{n}", {"n": n}) for n in range(count)]
        )
    return [f"n:{n}" for n in range(count)]


def test_the_log_shows_events_newest_first_with_every_column(web, admin):
    user = new_user(admin, name="Ada")
    act(admin, user["id"], "lock", reason="left the company")
    page = web.get("/console/audit")
    assert page.status_code == 200 and page.text.count("<h1>") == 1
    assert targets(page.text)[:2] == [f"user:{user['id']}"] * 2
    first = page.text.index("account.lock")
    assert first < page.text.index("user.create")
    assert "reason: left the company" in page.text
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', page.text
    )
    assert '<th scope="col">Client</th>' in page.text


def test_filters_narrow_the_log_and_stay_in_the_form(web, admin, engine, tenant):
    user = new_user(admin)
    act(admin, user["id"], "lock")
    record(engine, tenant, 3)
    locked = web.get("/console/audit", params={"action": "account.lock"}).text
    assert targets(locked) == [f"user:{user['id']}"]
    assert 'value="account.lock"' in locked
    by_target = web.get("/console/audit", params={"target": "n:1"}).text
    assert targets(by_target) == ["n:1"]
    by_actor = web.get("/console/audit", params={"actor": "system:robot", "result": "ok"}).text
    assert sorted(targets(by_actor)) == ["n:0", "n:1", "n:2"]
    assert "192.0.2.7" in by_actor
    nothing = web.get("/console/audit", params={"result": "refused"}).text
    assert "No events match." in nothing


def test_dates_are_whole_days_and_a_bad_date_is_said_plainly(web, engine, tenant):
    record(engine, tenant, 2)
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    on_today = web.get("/console/audit", params={"since": today, "until": today}).text
    assert sorted(targets(on_today)) == ["n:0", "n:1"]
    assert f'value="{today}"' in on_today
    assert "No events match." in web.get("/console/audit", params={"until": yesterday}).text
    assert "No events match." in web.get("/console/audit", params={"since": tomorrow}).text
    bad = web.get("/console/audit", params={"since": "27/11/2026"})
    assert bad.status_code == 400
    assert "From is a date like 2026-11-27, not &#39;27/11/2026&#39;." in bad.text
    assert 'role="alert"' in bad.text and 'value="27/11/2026"' in bad.text


def test_older_pages_show_every_event_once(web, engine, tenant):
    made = record(engine, tenant, 120)
    seen: list[str] = []
    page = web.get("/console/audit", params={"action": "test.event"}).text
    pages = 1
    while True:
        seen += targets(page)
        older = re.search(r'<a href="(/console/audit\?[^"]+)" rel="next">Older</a>', page)
        if older is None:
            break
        page = web.get(older.group(1).replace("&amp;", "&")).text
        pages += 1
        assert "action=test.event" in older.group(1) and ">Newest</a>" in page
    assert pages == 3
    assert seen == list(reversed(made))


def test_exports_hold_the_filtered_events(web, admin, engine, tenant):
    record(engine, tenant, 3)
    new_user(admin)
    page = web.get("/console/audit", params={"action": "test.event"}).text
    assert 'href="/console/audit/export.csv?action=test.event"' in page
    exported = web.get("/console/audit/export.csv", params={"action": "test.event"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["target"] for r in rows] == ["n:0", "n:1", "n:2"]
    lines = web.get(
        "/console/audit/export.jsonl",
        params={"action": "test.event", "until": datetime.now(UTC).date()},
    )
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in lines.text.splitlines()]
    assert [e["detail"] for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert web.get("/console/audit/export.xml").status_code == 404
    assert web.get("/console/audit/export.csv", params={"since": "soon"}).status_code == 400


def test_a_long_detail_is_folded(web, engine, tenant):
    with engine.begin() as conn:
        audit.record(conn, tenant.id, ROBOT, "test.long", "x", detail={"note": "word " * 60})
    page = web.get("/console/audit").text
    assert re.search(r"<details><summary>note: word word[^<]*…</summary>note: word", page)


def test_the_log_needs_a_session(app):
    with browser(app) as client:
        answer = client.get("/console/audit", follow_redirects=False)
    assert answer.status_code == 303 and "/console/signin" in answer.headers["location"]
