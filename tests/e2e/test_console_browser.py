"""The admin console in a real browser: headless Chromium driving a live ``scimd serve``.

The browser is Debian's ``chromium`` with its ``chromium-driver`` (``.ci/run`` installs them;
Selenium is pointed at both, so nothing is ever downloaded). Without them these tests skip, or
fail where ``REQUIRE_BROWSER=1`` (CI sets it). One server with a fresh SQLite store and one
browser serve the whole module; the data is seeded through the admin API over HTTP.

With ``SCIMD_SCREENSHOTS=1``, each page visited is saved to ``docs/screenshots/`` for the
README. The seed data is fixed and the few volatile words are masked, so a screenshot changes
only when its page does.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.live_server import run_scimd, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT = 10

# The seed: (user name, name); fixed, so that screenshots do not churn.
PEOPLE = [
    ("ada.lovelace@example.com", "Ada Lovelace"),
    ("alan.turing@example.com", "Alan Turing"),
    ("barbara.liskov@example.com", "Barbara Liskov"),
    ("donald.knuth@example.com", "Donald Knuth"),
    ("edsger.dijkstra@example.com", "Edsger Dijkstra"),
    ("frances.allen@example.com", "Frances Allen"),
    ("grace.hopper@example.com", "Grace Hopper"),
    ("john.backus@example.com", "John Backus"),
    ("katherine.johnson@example.com", "Katherine Johnson"),
    ("ken.thompson@example.com", "Ken Thompson"),
    ("margaret.hamilton@example.com", "Margaret Hamilton"),
    ("radia.perlman@example.com", "Radia Perlman"),
]
LOCKED_AT_START = ("edsger.dijkstra@example.com", "ken.thompson@example.com")


@dataclass(frozen=True)
class Live:
    origin: str
    """``http://127.0.0.1:PORT``"""
    token: str
    """An admin token, made by ``scimd token create --scope admin``."""
    api: httpx.Client
    """The admin API (``/admin/v1``) with that token."""
    ids: dict[str, str]
    """The seeded users' ids by user name."""

    def url(self, path: str) -> str:
        return f"{self.origin}/console{path}"

    def locked(self) -> set[str]:
        answer = self.api.get("/users", params={"locked": "true", "count": 200})
        assert answer.status_code == 200, answer.text
        return {user["userName"] for user in answer.json()["users"]}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'scimd.db'}"
    made = run_scimd(
        "token", "create", "--tenant", "example", "--scope", "admin", "--database-url", database_url
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    with running_server(database_url) as server:
        origin = server.base_url.removesuffix("/scim/v2")
        with httpx.Client(
            base_url=f"{origin}/admin/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ) as api:
            ids = {}
            for user_name, name in PEOPLE:
                created = api.post(
                    "/users", json={"userName": user_name, "name": name, "email": user_name}
                )
                assert created.status_code == 201, created.text
                ids[user_name] = created.json()["id"]
                allowed = api.post(f"/users/{ids[user_name]}/actions/allow-login", json={})
                assert allowed.status_code == 200, allowed.text
            for user_name in LOCKED_AT_START:
                locked = api.post(f"/users/{ids[user_name]}/actions/lock", json={})
                assert locked.status_code == 200, locked.text
            yield Live(origin, token, api, ids)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        why = f"no browser: {', '.join(missing)} missing (apt-get install chromium chromium-driver)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # As root, Chromium starts only without its sandbox; a laptop's screen.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,800",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    # With the driver's path given, Selenium Manager never runs (and never downloads).
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()


# What changes from run to run, masked before a screenshot: the token's random prefix, times,
# and ids (each id becomes a fixed one, the same wherever it appears on the page).
_MASK = r"""
document.querySelectorAll('.who').forEach((e) => { e.textContent = 'token scimd_…'; });
const ids = new Map();
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  node.textContent = node.textContent
    .replace(/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+]00:00)?/g, '2026-01-31 09:00')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
      const fixed = '00000000-0000-4000-8000-' + String(ids.size + 1).padStart(12, '0');
      if (!ids.has(id)) ids.set(id, fixed);
      return ids.get(id);
    });
}
// Laid out afresh, as if the page had come with the masked words.
document.body.style.display = 'none';
void document.body.offsetHeight;
document.body.style.display = '';
// A blinking caret may or may not be drawn.
const active = document.activeElement;
if (active && active.matches('input, textarea')) active.blur();
"""


def screenshot(driver: WebDriver, name: str, *, whole: bool = False) -> None:
    """docs/screenshots/NAME.png (the window, or the WHOLE page), with SCIMD_SCREENSHOTS=1:
    a test run leaves the tree alone."""
    if os.environ.get("SCIMD_SCREENSHOTS") != "1":
        return
    driver.execute_script(_MASK)
    # Two frames: the masked page is laid out and painted before the shot.
    driver.execute_async_script(
        "const done = arguments[0];"
        " requestAnimationFrame(() => requestAnimationFrame(() => done()));"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if not whole:
        assert driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        return
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT)


def find(driver: WebDriver, css: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, css)


def navigate(driver: WebDriver, element: WebElement) -> None:
    """Click what leaves the page (a submit button, a link) and wait for the next page."""
    driver.execute_script("document.documentElement.dataset.left = 'no'")
    element.click()
    # While the page changes, the driver may answer with errors: ask again.
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete'"
            " && document.documentElement.dataset.left === undefined"
        )
    )


def open_page(driver: WebDriver, url: str) -> None:
    driver.get(url)
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def notice(driver: WebDriver) -> str:
    """The page's notice after a form (or, failing the test, what the page says instead)."""
    found = driver.find_elements(By.CSS_SELECTOR, ".notice[role=status]")
    assert found, f"no notice at {driver.current_url}: {find(driver, 'main').text[:500]!r}"
    return found[0].text


def grid_names(driver: WebDriver) -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, "table.grid tbody td[data-column=userName] a")
    return [cell.text for cell in cells]


def focused(driver: WebDriver) -> Any:
    """What has the keyboard focus, as a short description."""
    return driver.execute_script(
        """
        const e = document.activeElement;
        const tag = e.tagName.toLowerCase();
        const label = e.getAttribute('aria-label');
        return e.id ? '#' + e.id
          : label ? tag + '[' + label + ']'
          : tag + ':' + (e.value && tag !== 'a' ? e.value : e.textContent.trim());
        """
    )


def sign_in(driver: WebDriver, live: Live) -> None:
    find(driver, "#token").send_keys(live.token)
    navigate(driver, find(driver, "form[aria-labelledby=with-token] button[type=submit]"))


@pytest.fixture
def signed_in(driver: WebDriver, live: Live) -> WebDriver:
    """The browser with a console session (signed in with the admin token when it has none)."""
    open_page(driver, live.url("/users"))
    if "/console/signin" in driver.current_url:
        sign_in(driver, live)
    assert driver.current_url.startswith(live.url("/users")), driver.current_url
    return driver


def test_sign_in_with_the_admin_token_lands_on_the_page_asked_for(
    driver: WebDriver, live: Live
) -> None:
    driver.delete_all_cookies()
    open_page(driver, live.url("/users?locked=true"))
    assert driver.current_url.startswith(live.url("/signin?next="))
    assert find(driver, "h1").text == "Sign in to the console"
    screenshot(driver, "signin")

    find(driver, "#token").send_keys("scimd_not-a-token")
    navigate(driver, find(driver, "form[aria-labelledby=with-token] button[type=submit]"))
    problem = find(driver, "[role=alert]")
    assert "cannot administer this directory" in problem.text

    sign_in(driver, live)

    assert driver.current_url == live.url("/users?locked=true")
    assert find(driver, "h1").text.startswith("Users")
    assert sorted(grid_names(driver)) == sorted(LOCKED_AT_START)
    open_page(driver, live.url("/users"))
    assert grid_names(driver) == sorted(name for name, _ in PEOPLE)
    screenshot(driver, "users")


def test_search_and_the_locked_filter_narrow_the_grid(signed_in: WebDriver, live: Live) -> None:
    driver = signed_in
    find(driver, "#search").send_keys("grace")
    navigate(driver, find(driver, "form.filters button[type=submit]"))
    assert grid_names(driver) == ["grace.hopper@example.com"]
    assert "search=grace" in driver.current_url

    find(driver, "#search").clear()
    Select(find(driver, "#flag-locked")).select_by_visible_text("yes")
    navigate(driver, find(driver, "form.filters button[type=submit]"))

    assert grid_names(driver) == sorted(live.locked())
    assert Select(find(driver, "#flag-locked")).first_selected_option.text == "yes"
    assert find(driver, "h1 .count").text == str(len(live.locked()))


def test_bulk_lock_asks_in_a_dialog_then_locks_exactly_the_ticked_users(
    signed_in: WebDriver, live: Live
) -> None:
    driver = signed_in
    before = live.locked()
    chosen = ["alan.turing@example.com", "barbara.liskov@example.com"]
    for user_name in chosen:
        find(driver, f'input[aria-label="Select {user_name}"]').click()
    dialog = find(driver, "#confirm-dialog")

    # Cancel changes nothing.
    find(driver, "#bulk button[name=action][value=lock]").click()
    wait(driver).until(lambda d: dialog.get_attribute("open") is not None)
    find(driver, "#confirm-dialog button[value=cancel]").click()
    wait(driver).until(lambda d: dialog.get_attribute("open") is None)
    assert driver.current_url == live.url("/users")
    assert live.locked() == before

    find(driver, "#bulk button[name=action][value=lock]").click()
    wait(driver).until(lambda d: dialog.get_attribute("open") is not None)
    assert find(driver, "#confirm-text").text == "Lock 2 users?"
    screenshot(driver, "users-confirm")
    navigate(driver, find(driver, "#confirm-yes"))

    assert notice(driver) == "The selected users are locked."
    assert live.locked() == before | set(chosen)
    rows = {
        row.find_element(By.CSS_SELECTOR, "td[data-column=userName]").text: row.find_element(
            By.CSS_SELECTOR, "td[data-column=accessLocked]"
        ).text
        for row in driver.find_elements(By.CSS_SELECTOR, "table.grid tbody tr")
    }
    assert [rows[name] for name in chosen] == ["yes", "yes"]


def test_without_javascript_a_bulk_action_is_confirmed_on_a_page(
    signed_in: WebDriver, live: Live
) -> None:
    driver = signed_in
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        open_page(driver, live.url("/users?locked=true"))
        locked = grid_names(driver)
        for user_name in locked[:2]:
            find(driver, f'input[aria-label="Select {user_name}"]').click()
        navigate(driver, find(driver, "#bulk button[name=action][value=unlock]"))
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})

    assert find(driver, "h1").text == "Unlock 2 users?"
    assert [item.text for item in driver.find_elements(By.CSS_SELECTOR, "main li")] == [
        f"{user_name} ({dict(PEOPLE)[user_name]})" for user_name in locked[:2]
    ]
    screenshot(driver, "users-confirm-page")
    navigate(driver, find(driver, "#confirm"))

    assert notice(driver) == "The selected users are unlocked."
    assert driver.current_url.startswith(live.url("/users?locked=true"))
    assert not set(locked[:2]) & live.locked()


def test_the_grid_works_from_the_keyboard(signed_in: WebDriver, live: Live) -> None:
    driver = signed_in
    keys = ActionChains(driver)

    # The first Tab reaches the skip link, shown when focused; Enter moves focus to the content.
    keys.send_keys(Keys.TAB).perform()
    skip = driver.switch_to.active_element
    assert skip.text == "Skip to content"
    assert skip.rect["x"] >= 0 and skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: focused(d) == "#main")

    # From there, Tab reaches every control of the grid, in reading order.
    order = []
    for _ in range(60):
        keys.send_keys(Keys.TAB).perform()
        order.append(focused(driver))
        if order[-1] == "a:ada.lovelace@example.com":
            break
    wanted = [
        "#search",
        "#flag-locked",
        "button:Apply",
        "summary:Columns",
        "button:lock",
        "button:delete",
        "#select-all",
        "input[Select ada.lovelace@example.com]",
        "a:ada.lovelace@example.com",
    ]
    assert [step for step in order if step in wanted] == wanted, order
    outline = driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible

    # Space ticks a row; Enter on Lock opens the dialog and Escape closes it, changing nothing.
    before = live.locked()
    keys.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    keys.send_keys(Keys.SPACE).perform()
    assert find(driver, 'input[aria-label="Select ada.lovelace@example.com"]').is_selected()
    find(driver, "#bulk button[name=action][value=lock]").send_keys(Keys.ENTER)
    dialog = find(driver, "#confirm-dialog")
    wait(driver).until(lambda d: dialog.get_attribute("open") is not None)
    keys.send_keys(Keys.ESCAPE).perform()
    wait(driver).until(lambda d: dialog.get_attribute("open") is None)
    assert live.locked() == before


def test_a_column_hidden_with_the_chooser_stays_hidden_after_a_reload(
    signed_in: WebDriver, live: Live
) -> None:
    driver = signed_in
    header = 'table.grid th[data-column="email"]'
    assert find(driver, header).is_displayed()
    find(driver, ".chooser summary").click()
    email = find(driver, '.chooser input[name=column][value="email"]')
    email.click()
    assert not find(driver, header).is_displayed()

    driver.refresh()
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")

    assert not find(driver, header).is_displayed()
    assert not find(driver, 'table.grid td[data-column="email"]').is_displayed()
    find(driver, ".chooser summary").click()
    email = find(driver, '.chooser input[name=column][value="email"]')
    assert not email.is_selected()
    email.click()  # back as it was, for the pages after this one
    assert find(driver, header).is_displayed()


def test_block_login_with_a_reason_on_the_user_page(signed_in: WebDriver, live: Live) -> None:
    driver = signed_in
    user_name = "margaret.hamilton@example.com"
    navigate(driver, driver.find_element(By.LINK_TEXT, user_name))
    assert driver.current_url == live.url(f"/users/{live.ids[user_name]}")
    assert find(driver, "h1").text.startswith(user_name)
    page = driver.current_url

    # No reason, no blocking: the browser says so and nothing is sent.
    reason = find(driver, "#block-reason")
    button = find(driver, "#action-block-login button[type=submit]")
    button.click()
    assert driver.execute_script("return arguments[0].validity.valueMissing", reason)
    assert driver.current_url == page

    reason.send_keys("Left the company on 31 January")
    navigate(driver, button)

    assert notice(driver) == "Login access is blocked."
    assert find(driver, "#reason").text == "Left the company on 31 January"
    user = live.api.get(f"/users/{live.ids[user_name]}").json()
    assert user["loginAllowed"] is False and user["accessLocked"] is True
    assert user["lockedReason"] == "Left the company on 31 January"
    screenshot(driver, "user")


IMPORT_CSV = """\
Username,First name,Last name,Email,Date from,User roles
hedy.lamarr@example.com,Hedy,Lamarr,hedy.lamarr@example.com,,
claude.shannon@example.com,Claude,Shannon,claude.shannon@example.com,2026-01-31,
alonzo.church@example.com,Alonzo,Church,alonzo.church@example.com,2026-31-01,
kurt.goedel@example.com,Kurt,Goedel,kurt.goedel@example.com,,admin
"""


def test_an_import_with_bad_rows_reports_them_and_imports_the_others(
    signed_in: WebDriver, live: Live, tmp_path: Path
) -> None:
    driver = signed_in
    sheet = tmp_path / "staff.csv"
    sheet.write_text(IMPORT_CSV)
    navigate(driver, driver.find_element(By.LINK_TEXT, "Import and export"))
    assert find(driver, "h1").text == "Import and export"
    screenshot(driver, "import")

    find(driver, "#file").send_keys(str(sheet))
    find(driver, "#opt-skipErrors").click()
    navigate(driver, find(driver, "form[enctype='multipart/form-data'] button[type=submit]"))

    assert find(driver, "h1").text.endswith(": staff.csv")
    assert notice(driver) == "The file was read: its report is below."
    counts = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, ".counts tbody td")]
    assert counts == ["4", "2", "0", "0", "2"]  # total, created, updated, unchanged, failed
    errors = [
        [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td")]
        for row in driver.find_elements(
            By.CSS_SELECTOR, "table[aria-labelledby=errors-title] tbody tr"
        )
    ]
    assert [(row, column) for row, column, _ in errors] == [
        ("4", "Date from"),
        ("5", "User roles"),
    ]
    assert "admin" in errors[1][2]
    screenshot(driver, "import-report", whole=True)

    imported = live.api.get("/users", params={"search": "", "count": 200}).json()["users"]
    names = {user["userName"] for user in imported}
    assert {"hedy.lamarr@example.com", "claude.shannon@example.com"} <= names
    assert not {"alonzo.church@example.com", "kurt.goedel@example.com"} & names


SSO_CSV = """\
email,object_id
ada.lovelace@example.com,00u1ada
grace.hopper@example.com,00u1grace
radia.perlman@example.com,00u1radia
nobody@example.com,00u1nobody
not-an-email,00u1bad
"""


def test_the_sso_wizard_links_the_ticked_users_from_a_csv(
    signed_in: WebDriver, live: Live, tmp_path: Path
) -> None:
    driver = signed_in
    listing = tmp_path / "onelogin.csv"
    listing.write_text(SSO_CSV)
    navigate(driver, driver.find_element(By.LINK_TEXT, "SSO links"))
    assert find(driver, "h1").text == "SSO links"
    screenshot(driver, "sso")

    find(driver, "#provider").send_keys("onelogin")
    find(driver, "#sso-file").send_keys(str(listing))
    navigate(driver, find(driver, "form[enctype='multipart/form-data'] button[type=submit]"))

    assert find(driver, "h1").text.startswith("onelogin users")
    statuses = {
        row.find_elements(By.CSS_SELECTOR, "td")[1].text.split(" (line")[0]: row.find_element(
            By.CSS_SELECTOR, "td"
        ).text
        for row in driver.find_elements(By.CSS_SELECTOR, "table.grid tbody tr")
    }
    assert statuses == {
        "ada.lovelace@example.com": "Match",
        "grace.hopper@example.com": "Match",
        "radia.perlman@example.com": "Match",
        "nobody@example.com": "No local user",
        "not-an-email": statuses["not-an-email"],
    }
    assert statuses["not-an-email"].startswith("Invalid")

    for email in ("ada.lovelace@example.com", "grace.hopper@example.com"):
        row = driver.find_element(
            By.XPATH, f"//table[contains(@class,'grid')]//tr[td[2][starts-with(., '{email}')]]"
        )
        row.find_element(By.CSS_SELECTOR, "input[name=add]").click()
    screenshot(driver, "sso-list", whole=True)
    navigate(driver, driver.find_element(By.XPATH, "//button[.='Apply the ticked changes']"))

    assert find(driver, "h1").text == "Links applied (onelogin)"
    assert notice(driver) == "All 2 changes made."
    screenshot(driver, "sso-result")
    links = live.api.get("/sso/links").json()
    linked = {(link["objectId"], link["userId"]) for link in links["links"]}
    assert linked == {
        ("00u1ada", live.ids["ada.lovelace@example.com"]),
        ("00u1grace", live.ids["grace.hopper@example.com"]),
    }


def test_approvals_audit_and_settings_pages(signed_in: WebDriver, live: Live) -> None:
    driver = signed_in
    opened = live.api.put("/settings", json={"self_registration": True})
    assert opened.status_code == 200, opened.text
    for user_name, name in (
        ("tim.berners-lee@example.com", "Tim Berners-Lee"),
        ("vint.cerf@example.com", "Vint Cerf"),
    ):
        registered = httpx.post(
            f"{live.origin}/auth/register",
            json={
                "tenant": "example",
                "userName": user_name,
                "email": user_name,
                "name": name,
                "password": "Correct-horse-9-battery",
            },
            timeout=10,
        )
        assert registered.status_code == 201, registered.text

    navigate(driver, driver.find_element(By.LINK_TEXT, "Approvals"))
    assert find(driver, "h1").text == "Pending approvals 2"
    navigate(driver, find(driver, 'button[aria-label="Approve vint.cerf@example.com"]'))
    assert notice(driver) == "Approved."
    # After the decision: two pending accounts are listed in no fixed order.
    screenshot(driver, "approvals")
    waiting = live.api.get("/approvals").json()
    assert [user["userName"] for user in waiting["users"]] == ["tim.berners-lee@example.com"]

    navigate(driver, driver.find_element(By.LINK_TEXT, "Settings"))
    assert find(driver, "h1").text == "Settings"
    assert find(driver, "#self_registration").is_selected()
    screenshot(driver, "settings", whole=True)

    navigate(driver, driver.find_element(By.LINK_TEXT, "Audit log"))
    assert find(driver, "h1").text == "Audit log"
    actions = [
        cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "table.audit td:nth-child(3)")
    ]
    assert "account.block_login" in actions and "account.approve" in actions
    screenshot(driver, "audit")
