"""scimd's own schema extension: the account fields admins manage (RFC 7643 §3.3 extension).

Served under ``urn:scimd:schemas:extension:account:2.0:User`` so that IdPs and
scripts can read them, and advertised in ``/Schemas``. What enforces them at
sign-in lives in the directory (the account-administration work); here they
are the protocol's view. Server-maintained facts (when locked, last login,
failed tries, MFA enrolment) are read-only to clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from scim2_models import ComplexAttribute, Extension, Mutability
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

    access_locked: bool | None = None
    """The account may not sign in (also true while a new user awaits login access)."""

    locked_date: Annotated[datetime | None, Mutability.read_only] = None
    """When the account was locked (UTC)."""

    locked_reason: str | None = None
    """Why the account was locked or its login blocked."""

    last_login: Annotated[datetime | None, Mutability.read_only] = None
    """The last successful sign-in (UTC)."""

    failed_tries: Annotated[int | None, Mutability.read_only] = None
    """Failed sign-in attempts since the last success or reset."""

    mfa_enabled: Annotated[bool | None, Mutability.read_only] = None
    """A second factor (TOTP) is set up."""

    mfa_required: bool | None = None
    """A second factor is required at sign-in (defaults from the tenant's settings)."""

    force_password_change: bool | None = None
    """The password must be changed at the next sign-in."""

    login_allowed_from: datetime | None = None
    """Sign-in is refused before this moment (UTC)."""

    login_allowed_to: datetime | None = None
    """Sign-in is refused after this moment (UTC); none means no end."""

    access_licence: str | None = None
    """The licence the account uses."""

    user_roles: list[Grant] | None = None
    """Roles granted to the account."""

    role_groups: list[Grant] | None = None
    """Role groups granted to the account."""

    user_groups: list[Grant] | None = None
    """User groups the account belongs to in the admin product."""

    dac_groups: list[Grant] | None = None
    """Data-access-control groups limiting what the account can see."""
