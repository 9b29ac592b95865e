"""Secrets kept in the database (the Zalo OA's access and refresh tokens) are sealed with a
key from the environment: whoever reads the database, or a backup of it, does not get
working tokens. Fernet (from `cryptography`): AES-128-CBC with an HMAC-SHA256, a
timestamp, and a key that can be generated with Fernet.generate_key().

The key is CDHT_SECRET_KEY when set; otherwise one derived from the Zalo app's secrets
(also only in the environment), so a deployment works without another setting. A value
stored before sealing existed is read as it is and sealed when written next."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"


class SealError(Exception):
    """A sealed value cannot be opened: the key changed since it was sealed."""


def derived_key(*secrets: str) -> bytes:
    """A Fernet key derived from other secrets (HKDF-SHA256)."""
    material = "\x00".join(secrets).encode()
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cdht-bot tokens").derive(
        material
    )
    return base64.urlsafe_b64encode(raw)


class Sealer:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        """The value; one stored before sealing (no prefix) as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise SealError(
                "a token in the database was sealed with another key (CDHT_SECRET_KEY, or the "
                "Zalo app secret it is derived from, changed)"
            ) from exc


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
