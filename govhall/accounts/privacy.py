"""Personal data at rest: encryption, blind indexes and masking.

Identity numbers and phone numbers are stored three ways, never in clear:
- encrypted with AES-256-GCM (``cryptography``), as ``v1:<key id>:<base64 nonce+ciphertext>``,
  with the purpose (e.g. "identity_number") as associated data, so a value cannot be moved
  into another column and still decrypt; the key id lets keys rotate;
- a keyed blind index (HMAC-SHA256) for exact look-up ("is this identity number registered?");
- a masked copy for display (``110***********002X``, ``138****1234``).

Keys come from settings (``GOVHALL_DATA_KEYS``, ``GOVHALL_DATA_KEY_ID``, ``GOVHALL_INDEX_KEY``),
which read the environment; a development key ring is generated into ./var/ on first run.
Decrypting goes through the services that record who unmasked what and why.
"""

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

FORMAT_VERSION = "v1"
NONCE_BYTES = 12


class KeyRingError(Exception):
    """The configured keys are missing or malformed, or a ciphertext names an unknown key."""


@cache
def _key_ring() -> tuple[dict[str, bytes], str, bytes]:
    keys: dict[str, bytes] = {}
    for item in settings.GOVHALL_DATA_KEYS.split(","):
        key_id, _separator, encoded = item.strip().partition(":")
        key = base64.b64decode(encoded)
        if not key_id or len(key) != 32:
            raise KeyRingError("GOVHALL_DATA_KEYS: each item is <id>:<base64 of 32 bytes>")
        keys[key_id] = key
    current = settings.GOVHALL_DATA_KEY_ID or list(keys)[-1]
    if current not in keys:
        raise KeyRingError(f"GOVHALL_DATA_KEY_ID {current!r} is not in GOVHALL_DATA_KEYS")
    index_key = base64.b64decode(settings.GOVHALL_INDEX_KEY)
    if len(index_key) < 32:
        raise KeyRingError("GOVHALL_INDEX_KEY: base64 of at least 32 bytes")
    return keys, current, index_key


def key_ring_reset() -> None:
    """Forget the cached key ring (tests that rotate keys call this)."""
    _key_ring.cache_clear()


def encrypt(value: str, *, purpose: str) -> str:
    keys, current, _index_key = _key_ring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys[current]).encrypt(nonce, value.encode("utf-8"), purpose.encode("ascii"))
    return f"{FORMAT_VERSION}:{current}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(token: str, *, purpose: str) -> str:
    version, key_id, encoded = token.split(":", 2)
    keys, _current, _index_key = _key_ring()
    if version != FORMAT_VERSION or key_id not in keys:
        raise KeyRingError(f"cannot decrypt a value sealed with key {key_id!r}")
    raw = base64.b64decode(encoded)
    return AESGCM(keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("ascii")).decode("utf-8")


def key_id_of(token: str) -> str:
    return token.split(":", 2)[1]


def needs_rotation(token: str) -> bool:
    """True when ``token`` was sealed with a key other than the current one."""
    _keys, current, _index_key = _key_ring()
    return key_id_of(token) != current


def blind_index(value: str, *, purpose: str) -> str:
    """A keyed, deterministic digest for exact look-up; without the key it reveals nothing."""
    _keys, _current, index_key = _key_ring()
    return hmac.new(index_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def mask_identity_number(value: str) -> str:
    """``11010519491231002X`` → ``110***********002X``."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812341234`` → ``138****1234``."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张**``: the family name stays, as on Chinese government sites."""
    return value[:1] + "*" * (len(value) - 1) if value else ""
