import pytest
from pydantic import SecretStr, ValidationError

from core.llm.providers import build_provider, provider_from_settings, validate_base_url
from core.platform.config import Settings
from core.platform.errors import InvalidInputError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        ("  HTTPS://API.DeepSeek.com  ", "https://api.deepseek.com"),
        (
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
        ),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),
        ("http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1"),
        ("http://127.8.9.10/v1", "http://127.8.9.10/v1"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
    ],
)
def test_accepted_base_urls_are_normalised(url, expected):
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://example.com/v1", "only allowed for a server on this machine"),
        ("http://10.0.0.5:8000/v1", "only allowed for a server on this machine"),
        ("http://localhost.example.com/v1", "only allowed for a server on this machine"),
        ("ftp://example.com/v1", "must start with https://"),
        ("api.openai.com/v1", "must start with https://"),
        ("https:///v1", "no host"),
        ("https://user:pw@api.example.com/v1", "user name or password"),
        ("https://api.example.com/v1?key=abc", "query"),
        ("https://api.example.com:port/v1", "not a valid URL"),
        ("https://api.exa mple.com/v1", "spaces"),
    ],
)
def test_refused_base_urls_say_why(url, message):
    with pytest.raises(InvalidInputError, match=message):
        validate_base_url(url)


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_no_base_url_in_settings_means_the_embedded_model():
    assert provider_from_settings(settings(llm_base_url="", llm_model="")) is None


def test_provider_from_settings_carries_url_model_style_and_key():
    configured = provider_from_settings(
        settings(
            llm_base_url="https://api.openai.com/v1/",
            llm_model="gpt-4o-mini",
            llm_api_style="chat",
            llm_api_key=SecretStr("sk-abc"),
        )
    )
    assert configured.name == "configured"
    assert configured.base_url == "https://api.openai.com/v1"
    assert (configured.model, configured.api_style, configured.api_key) == ("gpt-4o-mini", "chat", "sk-abc")
    assert "sk-abc" not in repr(configured)


def test_provider_from_settings_needs_a_model():
    with pytest.raises(ValidationError, match="DRAFTGATE_LLM_MODEL"):  # refused when the settings are built
        settings(llm_base_url="https://api.openai.com/v1", llm_model=" ")
    with pytest.raises(InvalidInputError, match="DRAFTGATE_LLM_MODEL"):  # and still where a provider is made
        provider_from_settings(Settings.model_construct(llm_base_url="https://api.openai.com/v1", llm_model=" "))


def test_provider_from_settings_refuses_plain_http_to_another_machine():
    with pytest.raises(ValidationError, match="https://"):
        settings(llm_base_url="http://example.com/v1", llm_model="m")
    with pytest.raises(InvalidInputError, match="https://"):
        provider_from_settings(Settings.model_construct(llm_base_url="http://example.com/v1", llm_model="m",
                                                        llm_api_key=SecretStr(""), llm_api_style="chat"))


def test_build_provider_strips_the_key_and_refuses_keys_that_cannot_be_sent():
    assert (
        build_provider(name="p", base_url="https://a.example", model="m", api_key=" sk-1\n").api_key == "sk-1"
    )
    with pytest.raises(InvalidInputError, match="API key") as caught:
        build_provider(name="p", base_url="https://a.example", model="m", api_key="sk-1 sk-2")
    assert "sk-1" not in str(caught.value)


def test_build_provider_checks_style_and_model():
    with pytest.raises(InvalidInputError, match="API style"):
        build_provider(name="p", base_url="https://a.example", model="m", api_style="tasks")
    with pytest.raises(InvalidInputError, match="model"):
        build_provider(name="p", base_url="https://a.example", model="")
