"""Entra ID, Okta and OneLogin request flows replayed against a live ``scimd serve``, per backend.

Each flow runs in a tenant of its own, on one server per backend, and must pass every step.
The flows are in ``conformance/flows/`` (one module per IdP, with the public docs they follow).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from conformance.flows import FLOWS
from conformance.flows.runner import run_flow
from tests.support.live_server import create_token, live_server

IDPS = sorted(FLOWS)


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    """One live server per backend for this module."""
    with live_server(database_url) as url:
        yield url


@pytest.mark.parametrize("idp", IDPS)
def test_idp_flow_passes_every_step(idp: str, base_url: str, database_url: str) -> None:
    token = create_token(database_url, f"{idp}-{uuid.uuid4().hex[:10]}")

    results = run_flow(base_url, token, FLOWS[idp])

    failed = [result for result in results if not result.passed]
    for result in failed:
        print(f"--- {idp}: {result.step.name}\n{result.describe()}\n")
    assert not failed, f"{idp}: {len(failed)} of {len(results)} steps failed: " + "; ".join(
        result.step.name for result in failed
    )
    assert len(results) >= 15
