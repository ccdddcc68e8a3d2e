"""Secrets at rest and their fingerprints.

Secrets are stored as MultiFernet tokens (first key of
GATEHOUSE_ENCRYPTION_KEYS encrypts, all decrypt). Revisions and history show a
fingerprint instead: an HMAC under a server key, so a copy of the database or
the history cannot be used to test guesses of a secret offline.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

FINGERPRINT_PREFIX = "sha256:"


class SecretUnreadable(Exception):
    """A token that none of the configured keys can decrypt."""


def fernet_keys_problem(keys) -> str | None:
    if not keys:
        return "no key is set"
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
    return None


@lru_cache(maxsize=1)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _multifernet(tuple(settings.GATEHOUSE_ENCRYPTION_KEYS))


def secret_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key decrypts this secret") from None


def secret_reencrypt(token: str) -> str:
    """The same secret under the first (newest) key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key decrypts this secret") from None


def _fingerprint_key(server_key: str) -> bytes:
    # Not the encryption keys, so rotating those changes no fingerprint (and
    # no revision). GATEHOUSE_FINGERPRINT_KEY rather than SECRET_KEY, so
    # rotating SECRET_KEY does not either (console/settings.py).
    return hmac.new(server_key.encode(), b"gatehouse.secret-fingerprint", hashlib.sha256).digest()


def _fingerprint_server_keys() -> list[str]:
    """The key fingerprints are made with, then the older keys still accepted."""
    if settings.GATEHOUSE_FINGERPRINT_KEY:
        return [settings.GATEHOUSE_FINGERPRINT_KEY, *settings.GATEHOUSE_FINGERPRINT_KEY_FALLBACKS]
    # Keyed on SECRET_KEY (no dedicated key configured): a SECRET_KEY rotated
    # Django's way, the old one in SECRET_KEY_FALLBACKS, still matches.
    return [settings.SECRET_KEY, *settings.GATEHOUSE_FINGERPRINT_KEY_FALLBACKS, *settings.SECRET_KEY_FALLBACKS]


def _fingerprint_with(server_key: str, value: str) -> str:
    digest = hmac.new(_fingerprint_key(server_key), value.encode(), hashlib.sha256).hexdigest()
    return FINGERPRINT_PREFIX + digest[:16]


def secret_fingerprint(value: str) -> str:
    return _fingerprint_with(_fingerprint_server_keys()[0], value)


def secret_fingerprints(value: str) -> list[str]:
    """Every fingerprint `value` may carry in a stored revision, current first."""
    return [_fingerprint_with(key, value) for key in _fingerprint_server_keys() if key]


@receiver(setting_changed)
def _forget_keys(setting, **kwargs):
    if setting == "GATEHOUSE_ENCRYPTION_KEYS":
        _multifernet.cache_clear()
