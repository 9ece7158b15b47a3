"""scimd's own schema extension: the account fields admins manage (RFC 7643 §3.3 extension).

Served under ``urn:scimd:schemas:extension:account:2.0:User`` so that IdPs and
scripts can read them, and advertised in ``/Schemas``. What enforces them at
sign-in lives in the directory (``directory.accounts``); here they are the
protocol's view, bridged by ``scim.accounts``. Server-maintained facts (when
locked, last login, failed tries, MFA enrolment) are read-only to clients.
Every attribute is ``returned: request``: a GET shows the extension when asked
(``attributes=urn:scimd:schemas:extension:account:2.0:User``), so that the
common GET needs no account lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from scim2_models import ComplexAttribute, Extension, Mutability, Returned
from scim2_models.urn import URN

ACCOUNT = "urn:scimd:schemas:extension:account:2.0:User"


class Grant(ComplexAttribute):
    """One role, role group, user group or DAC group granted to an account.

    Complex like RFC 7643's ``roles`` and ``entitlements``, so that IdPs and
    PATCH filters address each grant by its ``value``.
    """

    value: str | None = None
    """The code of what is granted."""

    display: str | None = None
    """A human-readable name of what is granted."""


class AccountExtension(Extension):
    __schema__ = URN(ACCOUNT)

    access_locked: Annotated[bool | None, Returned.request] = None
    """The account may not sign in (also true while a new user awaits login access)."""

    locked_date: Annotated[datetime | None, Mutability.read_only, Returned.request] = None
    """When the account was locked (UTC)."""

    locked_reason: Annotated[str | None, Returned.request] = None
    """Why the account was locked or its login blocked."""

    last_login: Annotated[datetime | None, Mutability.read_only, Returned.request] = None
    """The last successful sign-in (UTC)."""

    failed_tries: Annotated[int | None, Mutability.read_only, Returned.request] = None
    """Failed sign-in attempts since the last success or reset."""

    mfa_enabled: Annotated[bool | None, Mutability.read_only, Returned.request] = None
    """A second factor (TOTP) is set up."""

    mfa_required: Annotated[bool | None, Returned.request] = None
    """A second factor is required at sign-in (defaults from the tenant's settings)."""

    force_password_change: Annotated[bool | None, Returned.request] = None
    """The password must be changed at the next sign-in."""

    login_allowed_from: Annotated[datetime | None, Returned.request] = None
    """Sign-in is refused before this moment (UTC)."""

    login_allowed_to: Annotated[datetime | None, Returned.request] = None
    """Sign-in is refused after this moment (UTC); none means no end."""

    access_licence: Annotated[str | None, Returned.request] = None
    """The licence the account uses."""

    user_roles: Annotated[list[Grant] | None, Returned.request] = None
    """Roles granted to the account."""

    role_groups: Annotated[list[Grant] | None, Returned.request] = None
    """Role groups granted to the account."""

    user_groups: Annotated[list[Grant] | None, Returned.request] = None
    """User groups the account belongs to in the admin product."""

    dac_groups: Annotated[list[Grant] | None, Returned.request] = None
    """Data-access-control groups limiting what the account can see."""
