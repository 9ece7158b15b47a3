"""Secrets the server must read back (TOTP seeds), sealed with the server's key.

A TOTP seed is a shared secret: whoever reads it can make codes forever, so a
copy of the database (a backup, a replica, a leaked dump) must not be enough.
Seeds are sealed with AES-256-GCM under a key that lives outside the database
(``SCIMD_SECRET_KEY`` or its key file), and bound to their owner by the
associated data, so a sealed seed copied onto another account does not open.

Sealed text is ``v1.<key id>.<base64 of nonce + ciphertext>``; the key id (the
first bytes of the key's SHA-256) says which key sealed it, so that a key
rotation can keep older keys for opening only. Text without the prefix is a
seed stored before sealing existed and is read as it is; it is sealed the next
time it is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from directory.errors import InvalidValue, NotConfigured

PREFIX = "v1"
KEY_BYTES = 32
_NONCE_BYTES = 12


def new_key() -> str:
    """A fresh key, as the text ``SCIMD_SECRET_KEY`` and the key file hold."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(text: str) -> bytes:
    """The key bytes of a key's text; ``InvalidValue``, readably, for anything else."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise InvalidValue(
            f"a secret key is {KEY_BYTES} random bytes in URL-safe base64 "
            "(make one with: scimd key new)"
        )
    return key


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


class Sealer:
    """Seals with the current key; opens with it or any older key still configured."""

    def __init__(self, key: bytes | None, older: Sequence[bytes] = ()) -> None:
        self._current = key
        self._keys = {_key_id(k): AESGCM(k) for k in ([key] if key else []) + list(older)}

    @property
    def configured(self) -> bool:
        return self._current is not None

    def seal(self, secret: str, owner: str) -> str:
        if self._current is None:
            raise NotConfigured(
                "the server has no secret key for MFA secrets (set SCIMD_SECRET_KEY)"
            )
        key_id = _key_id(self._current)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[key_id].encrypt(nonce, secret.encode(), owner.encode())
        return f"{PREFIX}.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def is_stale(self, text: str) -> bool:
        """Whether ``text`` was sealed by no key or an older one, and should be sealed again."""
        if self._current is None:
            return False
        return not text.startswith(f"{PREFIX}.{_key_id(self._current)}.")

    def open(self, text: str, owner: str) -> str | None:
        """The secret, or None when it cannot be opened (unknown key, altered, other owner)."""
        if not text.startswith(PREFIX + "."):
            return text  # stored before sealing
        _, key_id, body = text.split(".", 2)
        aead = self._keys.get(key_id)
        if aead is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], owner.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            return None
