"""Encryption at rest for secrets such as platform access tokens.

Keys come from ``settings.SMMS_ENCRYPTION_KEYS`` (a list of Fernet keys). The first key encrypts; every key
decrypts, so a new key can be put first and the old ones kept until ``manage.py rotate_encryption_keys`` has
re-encrypted every stored value with the new key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("SMMS_ENCRYPTION_KEYS is empty: at least one Fernet key is required.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "SMMS_ENCRYPTION_KEYS holds a malformed key; generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.SMMS_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise DecryptionError("value is not an encrypted secret")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("no configured key decrypts this value") from exc


def rotate(stored: str) -> str:
    """Re-encrypt a stored value with the first (newest) key."""
    if not stored.startswith(PREFIX):
        raise DecryptionError("value is not an encrypted secret")
    return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column that holds only Fernet ciphertext; Python code sees plaintext.

    Empty strings stay empty (no secret to hide), so "no refresh token" is visible without a key.
    """

    description = "Text encrypted at rest with the SMMS encryption keys"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
