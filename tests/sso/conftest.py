"""The fake identity provider (tests/support/authority.py): one server for the session, its
knobs reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.authority import FakeAuthority, fake_authority


@pytest.fixture(scope="session")
def authority_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeAuthority]:
    with fake_authority(tmp_path_factory.mktemp("authority")) as server:
        yield server


@pytest.fixture
def authority(authority_server: FakeAuthority) -> FakeAuthority:
    """The running fake authority, as it started: default keys, sign-in, no tweaks."""
    authority_server.reset()
    return authority_server
