"""Settings are checked when they are built: each rule refuses with a message naming the variables."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from core.cli import main
from core.platform.config import Settings, SettingsError, get_settings


def refusal(monkeypatch, **env: str) -> str:
    """The message get_settings() refuses these DRAFTGATE_* variables with."""
    for name, value in env.items():
        monkeypatch.setenv(f"DRAFTGATE_{name}", value)
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert isinstance(caught.value.__cause__, ValidationError)
    return str(caught.value)


def test_the_defaults_are_acceptable():
    settings = get_settings()
    assert settings.uses_embedded_model and settings.llm_api_style == "chat"


def test_a_base_url_needs_a_model(monkeypatch):
    message = refusal(monkeypatch, LLM_BASE_URL="https://api.example.com/v1")
    assert "DRAFTGATE_LLM_BASE_URL is set but DRAFTGATE_LLM_MODEL is not" in message


@pytest.mark.parametrize("name", ["LLM_MODEL", "LLM_API_KEY"])
def test_a_model_or_key_without_a_base_url_would_be_ignored(monkeypatch, name):
    message = refusal(monkeypatch, **{name: "gpt-4o-mini"})
    assert f"DRAFTGATE_{name} is set but DRAFTGATE_LLM_BASE_URL is not" in message
    assert "embedded model" in message


def test_a_chat_or_task_style_without_a_base_url_is_refused_and_completions_is_fine(monkeypatch):
    assert "DRAFTGATE_LLM_API_STYLE is set but DRAFTGATE_LLM_BASE_URL" in refusal(monkeypatch, LLM_API_STYLE="task")
    monkeypatch.setenv("DRAFTGATE_LLM_API_STYLE", "completions")
    assert get_settings().llm_api_style == "completions"


def test_several_ignored_settings_are_named_together(monkeypatch):
    message = refusal(monkeypatch, LLM_MODEL="m", LLM_API_KEY="sk-1")
    assert "DRAFTGATE_LLM_MODEL and DRAFTGATE_LLM_API_KEY are set but DRAFTGATE_LLM_BASE_URL is not" in message


def test_an_unknown_api_style_is_refused_and_case_does_not_matter(monkeypatch):
    message = refusal(monkeypatch, LLM_BASE_URL="https://api.example.com/v1", LLM_MODEL="m", LLM_API_STYLE="tasks")
    assert "DRAFTGATE_LLM_API_STYLE: the API style is completions, chat or task, not 'tasks'." in message
    monkeypatch.setenv("DRAFTGATE_LLM_API_STYLE", " Chat ")
    assert get_settings().llm_api_style == "chat"


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://example.com/v1", "use https://"), ("ftp://example.com/v1", "must start with https://"),
     ("https://user:pw@api.example.com/v1", "user name or password")],
)
def test_a_base_url_is_checked_as_a_providers_is(monkeypatch, url, reason):
    message = refusal(monkeypatch, LLM_BASE_URL=url, LLM_MODEL="m")
    assert message.startswith("The settings are not valid: DRAFTGATE_LLM_BASE_URL: ") and reason in message


def test_the_base_url_is_normalised_and_the_model_stripped(monkeypatch):
    settings = Settings(llm_base_url=" HTTPS://API.Example.com/v1/ ", llm_model=" m-1 ")
    assert (settings.llm_base_url, settings.llm_model) == ("https://api.example.com/v1", "m-1")


def test_an_api_key_that_cannot_travel_in_a_header_is_refused_without_showing_it(monkeypatch):
    message = refusal(monkeypatch, LLM_BASE_URL="https://api.example.com/v1", LLM_MODEL="m", LLM_API_KEY="sk-1 sk-2")
    assert "DRAFTGATE_LLM_API_KEY: The API key contains spaces" in message and "sk-1" not in message


def test_a_task_deadline_shorter_than_the_poll_interval_is_refused(monkeypatch):
    message = refusal(monkeypatch, LLM_TASK_POLL_INTERVAL_S="5", LLM_TASK_DEADLINE_S="2")
    assert ("DRAFTGATE_LLM_TASK_DEADLINE_S (2 s) is shorter than DRAFTGATE_LLM_TASK_POLL_INTERVAL_S (5 s)"
            in message)
    monkeypatch.setenv("DRAFTGATE_LLM_TASK_DEADLINE_S", "5")
    assert get_settings().llm_task_deadline_s == 5


def test_a_longest_retry_delay_shorter_than_the_first_is_refused(monkeypatch):
    message = refusal(monkeypatch, LLM_RETRY_INITIAL_DELAY_S="4", LLM_RETRY_MAX_DELAY_S="1")
    assert "DRAFTGATE_LLM_RETRY_MAX_DELAY_S (1 s) is shorter than DRAFTGATE_LLM_RETRY_INITIAL_DELAY_S (4 s)" in message


def test_both_rules_across_settings_are_reported_at_once(monkeypatch):
    message = refusal(monkeypatch, LLM_MODEL="m", LLM_TASK_POLL_INTERVAL_S="5", LLM_TASK_DEADLINE_S="2")
    assert "DRAFTGATE_LLM_MODEL is set" in message and "DRAFTGATE_LLM_TASK_DEADLINE_S (2 s)" in message


@pytest.mark.parametrize(
    ("url", "reason"),
    [("mysql://u@h/db", "Draftgate runs on SQLite or PostgreSQL, not 'mysql'"), ("not a url", "not a database URL")],
)
def test_a_database_url_must_name_sqlite_or_postgresql(monkeypatch, url, reason):
    message = refusal(monkeypatch, DATABASE_URL=url)
    assert f"DRAFTGATE_DATABASE_URL: {reason}" in message


def test_a_redis_url_must_be_one(monkeypatch):
    message = refusal(monkeypatch, REDIS_URL="127.0.0.1:6379")
    assert "DRAFTGATE_REDIS_URL: a Redis URL starts with redis://, rediss:// or unix://" in message
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert get_settings().redis_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("key", "reason"), [("not base64!", "not valid base64"), (base64.b64encode(b"short").decode(), "32 bytes")]
)
def test_a_master_key_must_be_base64_of_32_bytes(monkeypatch, key, reason):
    message = refusal(monkeypatch, MASTER_KEY=key)
    assert "DRAFTGATE_MASTER_KEY: " in message and reason in message and key not in message


def test_retention_days_empty_means_keep(monkeypatch):
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "")
    assert Settings().retention_days is None
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "30")
    assert Settings().retention_days == 30
    monkeypatch.setenv("DRAFTGATE_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="retention_days"):
        Settings()


def test_the_command_line_says_what_is_wrong_one_line_per_problem(monkeypatch, capsys):
    monkeypatch.setenv("DRAFTGATE_LLM_BASE_URL", "https://api.example.com/v1")
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", "localhost")
    assert main(["provider", "list"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: DRAFTGATE_REDIS_URL: a Redis URL starts with redis://, rediss:// or unix://; e.g. redis://127.0.0.1:6379/0."
    ]  # a field's problem first: the rules across settings are checked once every field is acceptable
    monkeypatch.setenv("DRAFTGATE_REDIS_URL", "")
    assert main(["provider", "list"]) == 1
    assert capsys.readouterr().err == (
        "error: DRAFTGATE_LLM_BASE_URL is set but DRAFTGATE_LLM_MODEL is not: name the model to use there.\n")
