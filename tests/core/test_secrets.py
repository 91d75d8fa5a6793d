"""Secrets at rest: AES-256-GCM round trips, the master key from the environment or a 0600 file."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from pydantic import SecretStr, ValidationError

from core.access.secrets import KEY_FILE_NAME, decrypt, encrypt, mask, master_key, new_master_key
from core.platform.config import Settings
from core.platform.errors import SecretError

KEY = bytes(range(32))


def test_a_secret_round_trips_and_never_appears_in_its_ciphertext():
    token = encrypt("sk-very-secret-value", key=KEY, purpose="provider-key:a")
    assert token.startswith("v1:") and "sk-very" not in token
    assert decrypt(token, key=KEY, purpose="provider-key:a") == "sk-very-secret-value"
    assert encrypt("same", key=KEY, purpose="p") != encrypt("same", key=KEY, purpose="p")  # fresh nonces


@pytest.mark.parametrize(
    ("change", "purpose"),
    [(lambda t: t, "provider-key:b"), (lambda t: t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB"), "provider-key:a")],
    ids=["another row", "tampered"],
)
def test_a_secret_does_not_decrypt_elsewhere_or_altered(change, purpose):
    token = encrypt("sk-very-secret-value", key=KEY, purpose="provider-key:a")
    with pytest.raises(SecretError, match="cannot be decrypted"):
        decrypt(change(token), key=KEY, purpose=purpose)


def test_a_wrong_master_key_is_a_clear_error():
    token = encrypt("sk-very-secret-value", key=KEY, purpose="p")
    with pytest.raises(SecretError, match="master key has changed"):
        decrypt(token, key=bytes(32), purpose="p")
    with pytest.raises(SecretError, match="unknown format"):
        decrypt("plain", key=KEY, purpose="p")


@pytest.mark.fresh_data_dir
def test_the_key_file_is_created_once_with_mode_0600(data_dir):
    settings = Settings()
    first = master_key(settings)
    path = data_dir / KEY_FILE_NAME
    assert len(first) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert master_key(Settings()) == first
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temporary file left behind


def test_the_environment_key_wins_and_is_checked(monkeypatch, data_dir):
    configured = new_master_key()
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", configured)
    assert master_key(Settings()) == base64.b64decode(configured)
    assert not (data_dir / KEY_FILE_NAME).exists()
    for bad, message in (("not base64!", "not valid base64"), (base64.b64encode(b"short").decode(), "32 bytes")):
        monkeypatch.setenv("DRAFTGATE_MASTER_KEY", bad)
        with pytest.raises(ValidationError, match=message):
            Settings()  # refused when the settings are built (tests/core/test_config.py)
        with pytest.raises(SecretError, match=message):  # and still where the key is read
            master_key(Settings.model_construct(master_key=SecretStr(bad), data_dir=data_dir))


def test_a_key_file_others_can_read_is_used_with_a_warning(data_dir, caplog):
    master_key(Settings())
    os.chmod(data_dir / KEY_FILE_NAME, 0o644)
    master_key(Settings())
    assert "chmod 600" in caplog.text


@pytest.mark.parametrize(
    ("secret", "shown"),
    [("", ""), ("short-key", "••••••••"), ("sk-proj-abcdefghijklmnop1234", "sk-…1234")],
)
def test_masks_show_little(secret, shown):
    assert mask(secret) == shown
