"""Every error the directory raises, in one hierarchy.

::

    DirectoryError
    ├── NotFound            the tenant, user, group or token does not exist (for this tenant)
    ├── Conflict            a uniqueness rule would be broken (userName, tenant name)
    ├── VersionMismatch     the caller's expected version is not the stored one
    ├── InvalidValue        a value breaks a rule of the directory (empty userName, unknown member)
    ├── Unavailable         the store could not be reached, or stayed locked: nothing was written
    ├── NotConfigured       the installation lacks a setting this needs (a key, a mail server)
    ├── RegistrationClosed  the tenant does not let people create their own accounts
    ├── ProviderFailed      an identity provider (or Microsoft Graph) refused, failed or was away
    └── SignInRefused       a sign-in step failed; ``code`` is all the caller may tell the client
        ├── InvalidCredentials   unknown login, wrong password, wrong or expired code/challenge
        ├── AccountLocked        locked by an admin or by too many failed tries
        ├── LoginNotAllowed      blocked, not yet granted, inactive, or outside its date window
        └── Throttled            too many failures from this address or for this login

Each class carries a ``code`` that the HTTP layers map to their own error shape
in one place (SCIM Error JSON for ``scim/``, the admin JSON errors for ``scimd/``).
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every error the directory raises on purpose."""

    code: str = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DirectoryError):
    """Raised when a resource does not exist, or belongs to another tenant."""

    code = "not_found"


class Conflict(DirectoryError):
    """Raised when a write would break a uniqueness rule."""

    code = "conflict"


class VersionMismatch(DirectoryError):
    """Raised when a conditional write names a version that is no longer current."""

    code = "version_mismatch"


class InvalidValue(DirectoryError):
    """Raised when a value breaks a rule of the directory."""

    code = "invalid_value"


class NotConfigured(DirectoryError):
    """Raised when the installation lacks a setting the request needs; retrying will not help."""

    code = "not_configured"


class RegistrationClosed(DirectoryError):
    """Raised when someone registers where the tenant (or no tenant) allows it."""

    code = "registration_closed"


class ProviderFailed(DirectoryError):
    """Raised when an identity provider the request needed refused, failed or was unreachable."""

    code = "provider_error"


class Unavailable(DirectoryError):
    """Raised when the unit of work lost its database connection or waited out the lock.

    Nothing of the unit was committed, so the caller may safely try again.
    """

    code = "unavailable"


class SignInRefused(DirectoryError):
    """A sign-in step refused; the precise reason goes to the audit log, not to the client."""

    code = "sign_in_refused"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidCredentials(SignInRefused):
    code = "invalid_credentials"


class AccountLocked(SignInRefused):
    code = "account_locked"


class LoginNotAllowed(SignInRefused):
    code = "login_not_allowed"


class Throttled(SignInRefused):
    code = "throttled"
