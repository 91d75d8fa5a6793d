"""Registered providers: validation, encrypted keys (never in the database file in clear),
masked views, edits, removal, the tiny test request, profiles, audit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.access.actors import SYSTEM
from core.access.secrets import new_master_key
from core.llm.registry import (
    PROFILES,
    add_provider,
    check_provider,
    default_params,
    get_provider,
    list_providers,
    remove_provider,
    update_provider,
)
from core.platform.config import Settings
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError, SecretError
from core.platform.models import AuditEvent, Provider

pytestmark = pytest.mark.also_on_postgres  # its tests that use `engine` run on both (tests/conftest.py)

KEY = "sk-registry-test-SECRET-9876543210"


@pytest.fixture
def settings():
    return Settings()


def add(db, settings, **changes):
    fields = dict(name="openai", base_url="https://api.openai.com/v1", model="gpt-4o-mini", api_key=KEY, actor_id=SYSTEM)
    return add_provider(session=db, settings=settings, **{**fields, **changes})


def test_a_provider_is_listed_with_its_key_masked(db, settings):
    view = add(db, settings, qps_limit=5, default_params={"temperature": 0.3})
    assert view.key_mask == "sk-…3210" and view.has_key
    [listed] = list_providers(session=db, settings=settings)
    assert listed == view and KEY not in repr(listed)
    assert listed.default_params["temperature"] == 0.3 and listed.qps_limit == 5


def test_the_client_config_carries_the_decrypted_key_and_limits(db, settings):
    add(db, settings, qps_limit=2, tpm_limit=10_000)
    config = get_provider(session=db, settings=settings, name="openai")
    assert config.api_key == KEY and config.qps_limit == 2 and config.tpm_limit == 10_000
    assert KEY not in repr(config)


def test_the_database_file_never_holds_a_key_in_clear(engine, db, settings, data_dir):
    add(db, settings)
    update_provider(session=db, settings=settings, name="openai", new_name="openai-2", actor_id=SYSTEM)
    add(db, settings, name="second", api_key=KEY + "-two")
    engine.dispose()  # checkpoint the WAL into the file
    raw = b"".join(path.read_bytes() for path in data_dir.iterdir() if path.name.startswith("test.db"))
    assert b"registry-test-SECRET" not in raw
    assert "registry-test-SECRET".encode("utf-16-le") not in raw
    row = db.exec(select(Provider).where(Provider.name == "second")).one()
    assert row.encrypted_key.startswith("v1:")


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"base_url": "http://api.example.com/v1"}, InvalidInputError, "Plain http://"),
        ({"base_url": "ftp://x"}, InvalidInputError, "https://"),
        ({"model": " "}, InvalidInputError, "Name the model"),
        ({"api_style": "soap"}, InvalidInputError, "API style"),
        ({"name": "has space"}, InvalidInputError, "provider name"),
        ({"name": "embedded"}, InvalidInputError, "reserved"),
        ({"api_key": "sk bad"}, InvalidInputError, "API key"),
        ({"qps_limit": -1}, InvalidInputError, "QPS"),
        ({"default_params": {"temperature": 9}}, InvalidInputError, "temperature"),
        ({"default_params": {"colour": "red"}}, InvalidInputError, "Unknown default parameters: colour"),
    ],
)
def test_bad_providers_are_refused_and_nothing_is_stored(db, settings, changes, error, message):
    with pytest.raises(error, match=message):
        add(db, settings, **changes)
    assert db.exec(select(Provider)).all() == []


def test_loopback_http_is_allowed_and_needs_no_key(db, settings):
    view = add(db, settings, name="ollama", base_url="http://127.0.0.1:11434/v1", model="llama3.2", api_key="")
    assert view.key_mask == "" and not view.has_key


def test_names_are_unique(db, settings):
    add(db, settings)
    with pytest.raises(ConflictError, match="exists already"):
        add(db, settings)


def test_edits_keep_what_is_not_given_and_can_rename_and_rekey(db, settings):
    add(db, settings)
    view = update_provider(session=db, settings=settings, name="openai", model="gpt-4o", qps_limit=3, actor_id=SYSTEM)
    assert (view.model, view.qps_limit, view.key_mask) == ("gpt-4o", 3, "sk-…3210")
    update_provider(session=db, settings=settings, name="openai", new_name="work", actor_id=SYSTEM)
    assert get_provider(session=db, settings=settings, name="work").api_key == KEY  # re-encrypted for its new name
    update_provider(session=db, settings=settings, name="work", api_key="sk-replacement-key-00001111", actor_id=SYSTEM)
    assert get_provider(session=db, settings=settings, name="work").api_key == "sk-replacement-key-00001111"
    view = update_provider(session=db, settings=settings, name="work", api_key="", actor_id=SYSTEM)
    assert not view.has_key and get_provider(session=db, settings=settings, name="work").api_key == ""
    with pytest.raises(InvalidInputError, match="Plain http://"):
        update_provider(session=db, settings=settings, name="work", base_url="http://example.com/v1", actor_id=SYSTEM)


def test_removed_providers_are_gone(db, settings):
    add(db, settings)
    remove_provider(session=db, name="openai", actor_id=SYSTEM)
    assert list_providers(session=db, settings=settings) == []
    with pytest.raises(NotFoundError, match="no provider named 'openai'"):
        get_provider(session=db, settings=settings, name="openai")


def test_a_changed_master_key_is_reported_not_crashed_on(db, settings, monkeypatch):
    add(db, settings)
    monkeypatch.setenv("DRAFTGATE_MASTER_KEY", new_master_key())
    changed = Settings()
    [view] = list_providers(session=db, settings=changed)
    assert "cannot be decrypted" in view.key_mask
    with pytest.raises(SecretError, match="provider 'openai' cannot be decrypted"):
        get_provider(session=db, settings=changed, name="openai")


def test_changes_are_audited_without_the_key(db, settings):
    add(db, settings)
    update_provider(session=db, settings=settings, name="openai", api_key="sk-other-key-abcdefgh1234", actor_id=SYSTEM)
    remove_provider(session=db, name="openai", actor_id=SYSTEM)
    events = db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["provider.add", "provider.edit", "provider.remove"]
    assert events[1].detail["key_changed"] is True
    assert all("SECRET" not in str(e.detail) and "sk-other" not in str(e.detail) for e in events)


def test_default_params_come_back_as_generation_params(db, settings):
    add(db, settings, default_params={"temperature": 0.2, "max_tokens": 100})
    params = default_params(session=db, name="openai")
    assert (params.temperature, params.max_tokens) == (0.2, 100)


def test_check_provider_sends_a_tiny_request(fake_provider, db, settings):
    add(db, settings, name="local", base_url=fake_provider.base_url, api_key="")
    check = check_provider(get_provider(session=db, settings=settings, name="local"))
    assert check.ok and "answered with model gpt-4o-mini" in check.message
    assert fake_provider.requests[0]["body"]["max_tokens"] == 4


def test_check_provider_reports_a_failure_without_the_key():
    from core.llm.providers import build_provider
    from tests.core.llm.helpers import closed_port

    config = build_provider(name="x", base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m", api_key=KEY)
    check = check_provider(config)
    assert not check.ok and "Could not reach the provider" in check.message and KEY not in check.message


def test_profiles_cover_the_usual_providers_and_are_valid():
    from core.llm.providers import build_provider

    assert set(PROFILES) == {"openai", "deepseek", "qwen", "moonshot", "vllm", "ollama", "llamacpp"}
    for profile in PROFILES.values():
        build_provider(name=profile.name, base_url=profile.base_url, model=profile.model_hints[0],
                       api_style=profile.api_style)
    assert PROFILES["qwen"].base_url == "https://dashscope.aliyuncs.com/compatible-mode/v1"
    assert not PROFILES["ollama"].needs_key and PROFILES["deepseek"].needs_key
