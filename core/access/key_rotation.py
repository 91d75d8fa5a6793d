"""Master key rotation: re-encrypt every stored secret under a new master key.

    rotate_master_key(session=..., settings=..., new_key=None)

1. Every stored secret is decrypted with the current key first; one that does not decrypt
   stops the rotation before anything changed.
2. With a key file (no DRAFTGATE_MASTER_KEY), the new key is written next to it (mode 0600).
3. All secrets are re-encrypted and committed in one transaction, with an audit event.
4. The new key file replaces the old one (an atomic rename). With DRAFTGATE_MASTER_KEY,
   the new key is returned instead: set it in the environment and restart the app.

A crash between 2 and 4 leaves the new key in `master.key.new`: `python -m core
rotate-master-key --finish` moves it into place or removes it, whichever the database needs. Running processes read the key file at
each use, so they pick up the new key at once; with the environment variable they need a
restart. The secrets themselves are never logged or printed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from core.access.actors import Actor, require_actor
from core.access.secrets import KEY_BYTES, KEY_FILE_NAME, decrypt, encrypt, master_key, new_master_key
from core.platform import audit
from core.platform.errors import SecretError
from core.platform.i18n import N_, Message
from core.platform.models import Provider, utcnow

if TYPE_CHECKING:
    from core.platform.config import Settings

PENDING_SUFFIX = ".new"


@dataclass(frozen=True)
class SecretColumn:
    """A column holding secrets: its table, the column's name, and the purpose each value is bound to."""

    model: Any
    column: str
    purpose: Callable[[Any], str]


# Every encrypted column in the schema (core.llm.registry binds a provider's key to its name).
SECRET_COLUMNS: tuple[SecretColumn, ...] = (
    SecretColumn(Provider, "encrypted_key", lambda row: f"provider-key:{row.name}"),
)


@dataclass(frozen=True)
class RotationReport:
    secrets: int  # how many stored secrets were re-encrypted
    new_key: str | None  # base64; only when DRAFTGATE_MASTER_KEY must be changed by hand
    key_file: Path | None  # the file now holding the key, when a key file is used


def rotate_master_key(
    *, session: Session, settings: Settings, new_key: str | None = None, actor_id: Actor
) -> RotationReport:
    require_actor(session, actor_id, "admin")
    old = master_key(settings)
    fresh_text = new_key.strip() if new_key else new_master_key()
    fresh = _decode(fresh_text)
    if fresh == old:
        raise SecretError("The new master key is the same as the current one.")

    rows = []  # (row, column, plaintext): all decrypted before anything changes
    for secret in SECRET_COLUMNS:
        for row in session.exec(select(secret.model)):
            token = getattr(row, secret.column)
            if token:
                try:
                    rows.append((row, secret, decrypt(token, key=old, purpose=secret.purpose(row))))
                except SecretError as err:
                    raise SecretError(
                        Message(N_('Rotation stopped, nothing changed: a secret in {tablename} (row {value}) does not decrypt with the current master key. {err}'), tablename=secret.model.__tablename__, value=_row_name(row), err=err)
                    ) from err

    uses_file = not settings.master_key.get_secret_value().strip()
    key_path = settings.data_dir / KEY_FILE_NAME
    pending = key_path.with_name(key_path.name + PENDING_SUFFIX)
    if uses_file:
        _write_private(pending, fresh_text)
    try:
        for row, secret, plaintext in rows:
            setattr(row, secret.column, encrypt(plaintext, key=fresh, purpose=secret.purpose(row)))
            if hasattr(row, "updated_at"):
                row.updated_at = utcnow()
            session.add(row)
        audit.record(session, actor_id=actor_id, action="secrets.rotate", target="master key", secrets=len(rows))
        session.commit()
    except BaseException:
        session.rollback()
        if uses_file:
            pending.unlink(missing_ok=True)
        raise
    if uses_file:
        os.replace(pending, key_path)
        return RotationReport(secrets=len(rows), new_key=None, key_file=key_path)
    return RotationReport(secrets=len(rows), new_key=fresh_text, key_file=None)


def finish_interrupted_rotation(*, session: Session, settings: Settings) -> str:
    """Settle a left-over `master.key.new` (a crash during rotation) and say what was done.

    If the stored secrets decrypt with it, the database was committed: move it into place.
    If they decrypt with the current key, the database was not: remove it."""
    key_path = settings.data_dir / KEY_FILE_NAME
    pending = key_path.with_name(key_path.name + PENDING_SUFFIX)
    if not pending.exists():
        return "No interrupted rotation: there is no master.key.new."
    pending_key = _decode(pending.read_text().strip())
    if _all_decrypt(session, pending_key):
        os.replace(pending, key_path)
        return "The stored secrets use the new key: master.key.new replaced master.key."
    if _all_decrypt(session, master_key(settings)):
        pending.unlink()
        return "The stored secrets still use the current key: master.key.new was removed."
    raise SecretError("The stored secrets decrypt with neither master.key nor master.key.new; nothing was changed.")


def _all_decrypt(session: Session, key: bytes) -> bool:
    try:
        for secret in SECRET_COLUMNS:
            for row in session.exec(select(secret.model)):
                token = getattr(row, secret.column)
                if token:
                    decrypt(token, key=key, purpose=secret.purpose(row))
    except SecretError:
        return False
    return True


def check_secrets(*, session: Session, settings: Settings) -> int:
    """How many stored secrets decrypt with the current key; raises SecretError on the first that does not."""
    key = master_key(settings)
    count = 0
    for secret in SECRET_COLUMNS:
        for row in session.exec(select(secret.model)):
            token = getattr(row, secret.column)
            if token:
                decrypt(token, key=key, purpose=secret.purpose(row))
                count += 1
    return count


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _row_name(row: Any) -> str:
    return str(getattr(row, "name", None) or getattr(row, "id", "?"))


def _decode(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as err:
        raise SecretError("The new master key is not valid base64.") from err
    if len(key) != KEY_BYTES:
        raise SecretError(Message(N_('The new master key must be base64 of {key_bytes} random bytes, not {count_of_key} bytes.'), key_bytes=KEY_BYTES, count_of_key=len(key)))
    return key
