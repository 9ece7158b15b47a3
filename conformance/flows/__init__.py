"""Replayable request flows of real identity providers (Entra ID, Okta, OneLogin).

Each module holds ``STEPS``, the requests that IdP sends, in its order, written from its public
documentation (sources are cited in each module), with what the IdP expects back. Replay them
against any deployment::

    python -m conformance.flows https://HOST/scim/v2 --token TOKEN [--idp entra]
"""

from __future__ import annotations

from conformance.flows import entra, okta, onelogin
from conformance.flows.runner import Step, StepResult, run_flow

FLOWS: dict[str, list[Step]] = {
    "entra": entra.STEPS,
    "okta": okta.STEPS,
    "onelogin": onelogin.STEPS,
}

__all__ = ["FLOWS", "Step", "StepResult", "run_flow"]
