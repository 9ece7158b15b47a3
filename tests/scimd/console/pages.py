"""Driving the console in process, as a browser without JavaScript would: follow redirects,
keep cookies, post forms with their hidden fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.scimd.accounts import random_address


@contextmanager
def browser(app: Starlette) -> Iterator[TestClient]:
    """A cookie-keeping client at the server root, from an address of its own."""
    with TestClient(
        app, base_url="http://testserver", client=(random_address(), 50000), follow_redirects=True
    ) as client:
        yield client


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input called ``name``."""
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} in the page"
    return unescape(found.group(1))


def sign_in_with_token(web: TestClient, token: str) -> Any:
    page = web.get("/console/signin")
    return web.post(
        "/console/signin",
        data={
            "pre": hidden(page.text, "pre"),
            "method": "token",
            "token": token,
            "next": "/console/users",
        },
    )


def sign_in_with_password(web: TestClient, login: str, password: str, **fields: Any) -> Any:
    """The sign-in form's first step for an account (``fields``: e.g. ``next``)."""
    page = web.get("/console/signin").text
    return web.post(
        "/console/signin",
        data={
            "pre": hidden(page, "pre"),
            "method": "password",
            "login": login,
            "password": password,
            **fields,
        },
    )


def post_form(web: TestClient, page_html: str, path: str, fields: dict[str, Any]) -> Any:
    """POST ``fields`` to ``path`` with the CSRF token of the page it was read from."""
    return web.post(path, data={"csrf": hidden(page_html, "csrf"), **fields})
