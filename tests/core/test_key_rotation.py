"""Master key rotation re-encrypts every stored key; no key is ever in plain text on disk or in logs."""

from __future__ import annotations

import base64
import io
import logging
import os
import stat

import httpx
import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.key_rotation import (
    PENDING_SUFFIX,
    check_secrets,
    finish_interrupted_rotation,
    rotate_master_key,
)
from core.access.secrets import KEY_FILE_NAME, decrypt, master_key, new_master_key
from core.cli import main
from core.llm.registry import add_provider, check_provider, get_provider, list_providers
from core.platform.config import Settings
from core.platform.errors import SecretError
from core.platform.models import AuditEvent, Provider

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

KEYS = {"acme": "sk-acme-PLAINTEXT-0123456789abcdef", "zeta": "sk-zeta-PLAINTEXT-fedcba9876543210"}


def add_two(db, settings):
    for name, key in KEYS.items():
        add_provider(session=db, settings=settings, name=name, base_url=f"https://{name}.example/v1", model="m",
                     api_key=key, actor_id=SYSTEM)


def stored(db) -> dict[str, str]:
    db.expire_all()
    return {row.name: row.encrypted_key for row in db.exec(select(Provider))}


def test_rotation_re_encrypts_every_key_and_replaces_the_key_file(db, data_dir):
    settings = Settings()
    add_two(db, settings)
    old_key, old_tokens = master_key(settings), stored(db)
    report = rotate_master_key(session=db, settings=settings, actor_id=SYSTEM)
    assert report.secrets == 2 and report.new_key is None and report.key_file == data_dir / KEY_FILE_NAME
    new_key, new_tokens = master_key(settings), stored(db)
    assert new_key != old_key and all(new_tokens[name] != old_tokens[name] for name in KEYS)
    assert {name: get_provider(session=db, settings=settings, name=name).api_key for name in KEYS} == KEYS
    with pytest.raises(SecretError):
        decrypt(new_tokens["acme"], key=old_key, purpose="provider-key:acme")
    assert stat.S_IMODE(os.stat(data_dir / KEY_FILE_NAME).st_mode) == 0o600
    assert not (data_dir / (KEY_FILE_NAME + PENDING_SUFFIX)).exists()
    assert check_secrets(session=db, settings=settings) == 2
    [event] = db.exec(select(AuditEvent).where(AuditEvent.action == "secrets.rotate")).all()
    assert event.detail == {"secrets": 2}


def test_with_the_key_in_the_environment_the_new_key_is_returned(db, monkeypatch):
    old = new_master_key()
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", old)
    add_two(db, Settings())
    report = rotate_master_key(session=db, settings=Settings(), actor_id=SYSTEM)
    assert report.key_file is None and len(base64.b64decode(report.new_key)) == 32
    with pytest.raises(SecretError, match="cannot be decrypted"):
        get_provider(session=db, settings=Settings(), name="acme")  # the old key no longer opens them
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", report.new_key)
    assert get_provider(session=db, settings=Settings(), name="acme").api_key == KEYS["acme"]


def test_a_given_new_key_is_checked(db):
    settings = Settings()
    current = base64.b64encode(master_key(settings)).decode()
    with pytest.raises(SecretError, match="same as the current"):
        rotate_master_key(session=db, settings=settings, new_key=current, actor_id=SYSTEM)
    with pytest.raises(SecretError, match="not valid base64"):
        rotate_master_key(session=db, settings=settings, new_key="not base64!", actor_id=SYSTEM)
    with pytest.raises(SecretError, match="32 random bytes"):
        rotate_master_key(session=db, settings=settings, new_key=base64.b64encode(b"short").decode(), actor_id=SYSTEM)


def test_a_secret_that_does_not_decrypt_stops_the_rotation_before_any_change(db, data_dir):
    settings = Settings()
    add_two(db, settings)
    row = db.exec(select(Provider).where(Provider.name == "zeta")).one()
    row.encrypted_key = stored(db)["acme"]  # bound to another row: does not decrypt here
    db.add(row)
    db.commit()
    before_tokens, before_key = stored(db), (data_dir / KEY_FILE_NAME).read_text()
    with pytest.raises(SecretError, match="Rotation stopped, nothing changed.*zeta"):
        rotate_master_key(session=db, settings=settings, actor_id=SYSTEM)
    assert stored(db) == before_tokens and (data_dir / KEY_FILE_NAME).read_text() == before_key
    assert not (data_dir / (KEY_FILE_NAME + PENDING_SUFFIX)).exists()


def test_a_crash_after_the_commit_is_finished_by_the_next_run(db, data_dir, monkeypatch):
    settings = Settings()
    add_two(db, settings)

    def crash(*_args):
        raise OSError("power cut")

    monkeypatch.setattr("core.access.key_rotation.os.replace", crash)
    with pytest.raises(OSError):
        rotate_master_key(session=db, settings=settings, actor_id=SYSTEM)
    monkeypatch.undo()
    with pytest.raises(SecretError):  # the database is under the new key, the file still the old one
        get_provider(session=db, settings=settings, name="acme")
    assert "replaced master.key" in finish_interrupted_rotation(session=db, settings=settings)
    assert get_provider(session=db, settings=settings, name="acme").api_key == KEYS["acme"]


def test_a_crash_before_the_commit_leaves_a_pending_key_that_is_removed(db, data_dir):
    settings = Settings()
    add_two(db, settings)
    (data_dir / (KEY_FILE_NAME + PENDING_SUFFIX)).write_text(new_master_key() + "\n")
    assert "was removed" in finish_interrupted_rotation(session=db, settings=settings)
    assert get_provider(session=db, settings=settings, name="zeta").api_key == KEYS["zeta"]
    assert "no master.key.new" in finish_interrupted_rotation(session=db, settings=settings)


def test_no_key_is_in_plain_text_in_the_database_files_or_the_logs(engine, db, data_dir, capsys, caplog, monkeypatch):
    """Add keys (library and command line), use one, rotate twice (library and command line),
    list them; then read every byte of the data directory, the logs and the printed output."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DRAFTGATE_DATABASE_URL", str(engine.url))  # the command line works on the same database
    settings = Settings()
    add_two(db, settings)
    cli_key = "sk-cli-PLAINTEXT-55aa66bb77cc88dd"
    assert main(["provider", "add", "--name", "fromcli", "--base-url", "https://cli.example/v1", "--model", "m",
                 "--api-key", cli_key]) == 0

    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request.headers["authorization"]) or httpx.Response(
        200, json={"id": "c1", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"},
                                                          "finish_reason": "stop"}]}))
    with httpx.Client(transport=transport) as http_client:
        assert check_provider(get_provider(session=db, settings=settings, name="acme"), http_client=http_client).ok
    assert seen == [f"Bearer {KEYS['acme']}"]  # the key is used, decrypted, only in the request

    rotate_master_key(session=db, settings=settings, actor_id=SYSTEM)
    monkeypatch.setattr("sys.stdin", io.StringIO(new_master_key() + "\n"))
    assert main(["rotate-master-key", "--new-key-stdin"]) == 0
    assert main(["provider", "list"]) == 0
    views = list_providers(session=db, settings=Settings())
    assert {v.name for v in views} == {"acme", "zeta", "fromcli"} and all("PLAINTEXT" not in v.key_mask for v in views)

    out, err = capsys.readouterr()
    db.close()
    engine.dispose()
    secrets_ = [*KEYS.values(), cli_key]
    for path in data_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for secret in secrets_:
                assert secret.encode() not in raw, path.name
                assert base64.b64encode(secret.encode()) not in raw, path.name
    logs = caplog.text + out + err
    assert "re-encrypted 3 stored secrets under the new master key" in out
    for secret in secrets_:
        assert secret not in logs and secret[-12:] not in logs
