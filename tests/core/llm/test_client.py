import json

import httpx
import pytest

from core.llm import ChatMessage, GenerationParams, GenerationResult, LLMClient, Usage
from core.platform import constants
from core.platform.errors import InvalidInputError, LLMResponseError
from tests.core.llm.helpers import SECRET_KEY, provider

PARAMS = GenerationParams(
    temperature=0.3, top_p=0.9, max_tokens=64, frequency_penalty=0.5, presence_penalty=-0.5
)


def completion(text="Once upon a time", finish_reason="stop", **extra):
    return {
        "id": "cmpl-42",
        "model": "mock-1-2025",
        "choices": [{"index": 0, "text": text, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
        **extra,
    }


def chat_completion(content="Bonjour", finish_reason="stop"):
    return {
        "id": "chatcmpl-7",
        "model": "gpt-mock",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
    }


class Recorder:
    def __init__(self, answer: dict):
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answer)

    @property
    def body(self) -> dict:
        return json.loads(self.requests[-1].content)


def test_completions_style_posts_prompt_and_every_sampling_parameter(mock_client):
    recorder = Recorder(completion())
    mock_client(recorder).generate("Once upon a time", PARAMS)
    request = recorder.requests[-1]
    assert request.method == "POST"
    assert str(request.url) == "https://llm.example/v1/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert recorder.body == {
        "model": "mock-1",
        "prompt": "Once upon a time",
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 64,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
    }


def test_chat_style_posts_messages_and_wraps_a_plain_string_as_one_user_message(mock_client):
    recorder = Recorder(chat_completion())
    client = mock_client(recorder, api_style="chat", base_url="https://api.example.com/compatible-mode/v1")
    client.generate("Say hello in French", PARAMS)
    assert str(recorder.requests[-1].url) == "https://api.example.com/compatible-mode/v1/chat/completions"
    assert recorder.body["messages"] == [{"role": "user", "content": "Say hello in French"}]
    assert "prompt" not in recorder.body

    client.generate([ChatMessage("system", "Be brief."), ChatMessage("user", "写一句问候")], PARAMS)
    assert recorder.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "写一句问候"},
    ]


def test_stop_and_seed_are_sent_only_when_set(mock_client):
    recorder = Recorder(completion())
    client = mock_client(recorder)
    client.generate("x", GenerationParams())
    assert "stop" not in recorder.body and "seed" not in recorder.body
    client.generate("x", GenerationParams(stop=("\n\n", "END"), seed=0))
    assert recorder.body["stop"] == ["\n\n", "END"]
    assert recorder.body["seed"] == 0


def test_no_authorization_header_without_a_key(mock_client):
    recorder = Recorder(completion())
    mock_client(recorder, api_key="").generate("x", PARAMS)
    assert "authorization" not in recorder.requests[-1].headers


def test_answer_is_parsed_into_a_generation_result(mock_client):
    result = mock_client(Recorder(completion(" the end", finish_reason="length"))).generate("x", PARAMS)
    assert isinstance(result, GenerationResult)
    assert (result.id, result.text, result.finish_reason, result.model) == (
        "cmpl-42",
        " the end",
        "length",
        "mock-1-2025",
    )
    assert result.usage == Usage(prompt_tokens=5, completion_tokens=4, total_tokens=9)
    assert result.latency_s >= 0


def test_chat_answer_is_parsed_from_the_message(mock_client):
    result = mock_client(Recorder(chat_completion("Bonjour !", "length")), api_style="chat").generate(
        "x", PARAMS
    )
    assert (result.text, result.finish_reason, result.usage.total_tokens) == ("Bonjour !", "length", 13)


def test_missing_usage_model_and_finish_reason_fall_back_to_defaults(mock_client):
    answer = {"choices": [{"text": "hi"}]}
    result = mock_client(Recorder(answer)).generate("x", PARAMS)
    assert (result.id, result.text, result.finish_reason, result.model) == ("", "hi", "", "mock-1")
    assert result.usage == Usage()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (GenerationParams(temperature=5), "temperature must be between 0 and 2"),
        (GenerationParams(max_tokens=0), "max_tokens must be between 1 and"),
        (GenerationParams(top_p=1.5), "top_p must be between 0 and 1"),
    ],
)
def test_bad_parameters_are_refused_before_any_request(mock_client, params, message):
    recorder = Recorder(completion())
    with pytest.raises(InvalidInputError, match=message):
        mock_client(recorder).generate("x", params)
    with pytest.raises(InvalidInputError, match=message):
        mock_client(recorder).stream("x", params)
    assert recorder.requests == []


@pytest.mark.parametrize("prompt", ["", "   \n\t", [], [ChatMessage("user", "  ")]])
def test_empty_prompt_is_refused(mock_client, prompt):
    recorder = Recorder(chat_completion())
    with pytest.raises(InvalidInputError, match="^The prompt is empty.$"):
        mock_client(recorder, api_style="chat").generate(prompt, PARAMS)
    assert recorder.requests == []


def test_too_long_prompt_is_refused(mock_client):
    recorder = Recorder(completion())
    with pytest.raises(InvalidInputError, match="too long"):
        mock_client(recorder).generate("x" * (constants.MAX_PROMPT_CHARS + 1), PARAMS)
    mock_client(recorder).generate("x" * constants.MAX_PROMPT_CHARS, PARAMS)
    assert len(recorder.requests) == 1


def test_completions_provider_refuses_chat_messages(mock_client):
    recorder = Recorder(completion())
    with pytest.raises(InvalidInputError, match="completions style"):
        mock_client(recorder).generate([ChatMessage("user", "hi")], PARAMS)
    assert recorder.requests == []


def test_malformed_messages_are_refused(mock_client):
    with pytest.raises(InvalidInputError, match="role system, user or assistant"):
        mock_client(Recorder(chat_completion()), api_style="chat").generate(
            [{"role": "user", "content": "hi"}], PARAMS
        )


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(200, content=b"{not json"), "not JSON"),
        (
            httpx.Response(200, html="<html><body>Welcome to nginx!</body></html>"),
            r"not JSON \(text/html.*Welcome to nginx",
        ),
        (httpx.Response(200, json=["a", "list"]), "not a JSON object"),
        (httpx.Response(200, json={"id": "x"}), "no choices"),
        (httpx.Response(200, json={"choices": []}), "no choices"),
        (httpx.Response(200, json={"choices": "text"}), "cannot be read"),
        (httpx.Response(200, json={"choices": [{"text": 42}]}), "not a string"),
        (
            httpx.Response(200, json={"error": {"message": "model overloaded"}}),
            "reported an error: model overloaded",
        ),
    ],
)
def test_unreadable_answers_raise_response_errors(mock_client, response, message):
    with pytest.raises(LLMResponseError, match=message):
        mock_client(lambda request: response).generate("x", PARAMS)


def test_malformed_json_error_keeps_the_parser_error_as_its_cause(mock_client):
    with pytest.raises(LLMResponseError) as caught:
        mock_client(lambda request: httpx.Response(200, content=b"{not json")).generate("x", PARAMS)
    assert isinstance(caught.value.__cause__, ValueError)


def test_client_closes_its_own_pool_but_not_a_shared_one():
    shared = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=completion()))
    )
    with LLMClient(provider(), http_client=shared) as client:
        client.generate("x", PARAMS)
    assert not shared.is_closed
    shared.close()

    with LLMClient(provider()) as owned:
        assert not owned.transport.is_closed
    assert owned.transport.is_closed


def test_repr_shows_the_provider_but_never_the_key():
    with LLMClient(provider()) as client:
        assert "llm.example" in repr(client)
        assert SECRET_KEY not in repr(client)


def test_client_uses_the_configured_timeouts_and_pool_limits(mock_client):
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=completion())

    mock_client(handler).generate("x", PARAMS)
    assert seen == [{"connect": 2, "read": 3, "write": 3, "pool": 2}]
    with LLMClient(provider(), connect_timeout=4, read_timeout=50) as client:
        assert client.transport.timeout == httpx.Timeout(connect=4, read=50, write=50, pool=4)
        pool = client.transport._http._transport._pool  # httpx's own pool: no public view of its limits
        assert (pool._max_connections, pool._max_keepalive_connections) == (64, 64)


def test_client_checks_the_base_url_and_drops_a_trailing_slash(mock_client):
    with pytest.raises(InvalidInputError, match="https://"):
        LLMClient(provider(base_url="http://llm.example/v1"))
    recorder = Recorder(completion())
    mock_client(recorder, base_url="https://llm.example/v1/").generate("x", PARAMS)
    assert str(recorder.requests[-1].url) == "https://llm.example/v1/completions"


def test_openai_is_told_not_to_store_the_request_and_others_get_no_unknown_field(mock_client):
    recorder = Recorder(chat_completion())
    mock_client(recorder, base_url="https://api.openai.com/v1", api_style="chat").generate("Hi", PARAMS)
    assert recorder.body["store"] is False
    mock_client(recorder, api_style="chat").generate("Hi", PARAMS)
    assert "store" not in recorder.body
