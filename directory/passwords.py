"""Passwords: argon2 hashes, the tenant's password policy, and generated passwords.

argon2id with argon2-cffi's defaults (RFC 9106's second recommended
profile); a hash made with older parameters is re-made at the next successful
sign-in (``needs_rehash``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from directory.errors import InvalidValue

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this when there is no account costs what a real check costs, so
    response times do not tell which logins exist. Made at first need, not at import: every
    ``scimd`` command would otherwise pay for one hash (~150 ms) before doing anything."""
    return _HASHER.hash(secrets.token_urlsafe(16))


MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; False for no hash, in the time a real check takes."""
    try:
        return (
            _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class PasswordPolicy:
    """What a tenant asks of passwords (part of its environment defaults)."""

    min_length: int = 12
    min_classes: int = 3  # of lower case, upper case, digits, others
    history: int = 5  # earlier passwords that may not be reused

    def check(self, password: str, earlier_hashes: Sequence[str] = ()) -> None:
        """Raise InvalidValue, saying which rule, when ``password`` breaks the policy."""
        if len(password) < self.min_length:
            raise InvalidValue(f"The password must have at least {self.min_length} characters")
        if len(password) > MAX_LENGTH:
            raise InvalidValue(f"The password must have at most {MAX_LENGTH} characters")
        if _classes(password) < self.min_classes:
            raise InvalidValue(
                f"The password must mix at least {self.min_classes} of: lower case, "
                "upper case, digits, other characters"
            )
        for earlier in earlier_hashes[: self.history]:
            if verify(earlier, password):
                raise InvalidValue(
                    f"The password must differ from the last {self.history} passwords"
                )

    def generate(self) -> str:
        """A random password this policy accepts (for automatic resets)."""
        alphabet = string.ascii_letters + string.digits + "-_.!@#%"
        length = max(self.min_length, 16)
        while True:
            password = "".join(secrets.choice(alphabet) for _ in range(length))
            if _classes(password) >= min(self.min_classes, 4):
                return password


def _classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
