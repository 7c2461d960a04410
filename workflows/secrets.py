"""Encryption at rest and redaction of the per-user secrets that node params read as `{{ secrets.NAME }}`.

Values are Fernet tokens (AES-128-CBC with an HMAC-SHA256) under the keys of the setting
STRUCTFORGE_SECRETS_KEYS: the first key encrypts, every key decrypts, so a key is rotated by
putting a new one first and removing the old one once every secret has been re-saved. With no
keys configured, one key is derived from SECRET_KEY (HKDF-SHA256) so the embedded default works;
the deploy check `structforge.W003` warns when that SECRET_KEY is the built-in one.

Redaction rule (`redact`, `redact_text`): every occurrence of a secret value inside a string is
replaced by "[redacted]"; occurrences of several secrets that overlap or touch are replaced as
one span, so no fragment of any of them is left behind. A value shorter than
MIN_SUBSTRING_REDACT_LENGTH characters (such as "1" or "yes") would blank out ordinary text
everywhere, so it only replaces a string that is exactly equal to it. Empty values are ignored.
Dict keys are redacted like strings. Only the literal value is found: an encoded form of it
(URL-quoted, base64, JSON-escaped) is not.
"""

import base64
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

REDACTED = "[redacted]"
MIN_SUBSTRING_REDACT_LENGTH = 4
HKDF_LABEL = b"structforge-secrets"


class SecretDecryptionError(Exception):
    """A stored token that none of the configured keys opens (a key was removed, or the row was altered)."""


# --- Keys and encryption -------------------------------------------------------------------------


def derive_key(secret_key: str) -> str:
    """The Fernet key used when STRUCTFORGE_SECRETS_KEYS is empty, derived from SECRET_KEY."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_LABEL, info=HKDF_LABEL).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw).decode("ascii")


def configured_keys() -> list[str]:
    """The keys in use, first one encrypting; read at call time so settings overrides apply."""
    return list(settings.STRUCTFORGE_SECRETS_KEYS) or [derive_key(settings.SECRET_KEY)]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current_fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()))


def encrypt(value: str) -> str:
    return _current_fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as exc:
        # The message never carries the token: it is still the secret, only encrypted.
        raise SecretDecryptionError("The secret cannot be decrypted with the configured keys.") from exc


def reencrypt(token: str) -> str:
    """The same value under the current first key (for finishing a key rotation)."""
    try:
        return _current_fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise SecretDecryptionError("The secret cannot be decrypted with the configured keys.") from exc


# --- Redaction ------------------------------------------------------------------------------------


class _Redactor:
    def __init__(self, secrets: Iterable[str]):
        values = {value for value in secrets if isinstance(value, str) and value}
        # Longest first, so a secret that contains another is matched whole before its part.
        self.substrings = sorted((v for v in values if len(v) >= MIN_SUBSTRING_REDACT_LENGTH), key=len, reverse=True)
        self.exact = {v for v in values if len(v) < MIN_SUBSTRING_REDACT_LENGTH}

    def text(self, text: str) -> str:
        if text in self.exact:
            return REDACTED
        spans = []
        for value in self.substrings:
            start = text.find(value)
            while start != -1:
                spans.append((start, start + len(value)))
                start = text.find(value, start + 1)  # +1, not +len: a value can overlap itself
        if not spans:
            return text
        spans.sort()
        # Merge spans that overlap or touch, so the result shows no fragment of any secret.
        merged = [list(spans[0])]
        for start, end in spans[1:]:
            if start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        parts, position = [], 0
        for start, end in merged:
            parts += [text[position:start], REDACTED]
            position = end
        parts.append(text[position:])
        return "".join(parts)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of JSON-like `value` (dicts, lists, strings, scalars) with every secret value redacted."""
    return _Redactor(secrets).value(value)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    return _Redactor(secrets).text(text)
