"""Secrets at rest: AES-256-GCM under one master key.

The master key is DRAFTGATE_MASTER_KEY (base64 of 32 random bytes) or, when that is empty, the
file `master.key` in the data directory, created with mode 0600 on first use. Losing it makes
stored secrets unreadable (they must be entered again); anyone holding it and the database can
read them, so keep it out of backups of the database.

Keys for other purposes (keyed hashes in the audit trail) are derived from it (derived_key).

An encrypted value is "v1:" + base64(12-byte nonce + ciphertext + tag). The `purpose` (e.g.
"provider:openai") is authenticated with it, so a value copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.platform.errors import SecretError
from core.platform.i18n import N_, Message

if TYPE_CHECKING:
    from core.platform.config import Settings

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "master.key"
KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1:"


def master_key(settings: Settings) -> bytes:
    """The master key of these settings: from the environment, else the key file (made if missing)."""
    configured = settings.master_key.get_secret_value().strip()
    if configured:
        return _decode_key(configured, "DRAFTGATE_MASTER_KEY")
    return _key_file(settings.data_dir / KEY_FILE_NAME)


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A key of its own for `purpose` (e.g. "audit:unknown-user-name"), derived from the master
    key (HMAC-SHA256 of the purpose), so the master key itself only ever encrypts. Rotating the
    master key changes every derived key too."""
    return hmac.new(master_key(settings), purpose.encode(), hashlib.sha256).digest()


def new_master_key() -> str:
    """A fresh master key, base64-encoded (for DRAFTGATE_MASTER_KEY)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def encrypt(plaintext: str, *, key: bytes, purpose: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), purpose.encode())
    return VERSION + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str, *, key: bytes, purpose: str) -> str:
    if not token.startswith(VERSION):
        raise SecretError("A stored secret is in an unknown format.")
    try:
        raw = base64.b64decode(token[len(VERSION):], validate=True)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as err:
        raise SecretError(
            "A stored secret cannot be decrypted: the master key has changed or the value was "
            "tampered with. Enter the secret again."
        ) from err


def mask(secret: str) -> str:
    """What a page may show of a secret: its first 3 and last 4 characters when it is long."""
    if not secret:
        return ""
    if len(secret) < 16:
        return "•" * 8
    return f"{secret[:3]}…{secret[-4:]}"


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise SecretError(Message(N_('{source} is not valid base64.'), source=source)) from err
    if len(key) != KEY_BYTES:
        raise SecretError(Message(N_('{source} must hold {key_bytes} bytes (base64 of 32 random bytes), not {count_of_key}.'), source=source, key_bytes=KEY_BYTES, count_of_key=len(key)))
    return key


def _key_file(path: Path) -> bytes:
    if not path.exists():
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        logger.warning("the master key %s can be read by other users: chmod 600 it", path)
    return _decode_key(path.read_text().strip(), str(path))


def _create_key_file(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: a process that
    loses the race to create it reads the winner's complete key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_master_key() + "\n")
        os.link(temporary, path)
        logger.warning("created the master key %s: keep it safe, stored API keys need it", path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
