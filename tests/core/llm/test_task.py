"""Task-style providers: submit, poll {base}/tasks/{id} until completed or failed, within a deadline."""

from __future__ import annotations

import pytest

from core.llm import ChatMessage, GenerationParams, LLMClient
from core.llm.providers import build_provider
from core.llm.retry import RetryPolicy
from core.platform.errors import LLMResponseError, LLMTaskFailedError, LLMTimeoutError
from tests.core.llm.faulty_server import FakeClock, FakeSleep, status, task_state, task_submitted
from tests.core.llm.helpers import provider

PARAMS = GenerationParams(temperature=0.2, max_tokens=32)
DONE = {"status": "completed", "result": {"text": "A finished essay.", "usage": {"prompt_tokens": 9, "completion_tokens": 3}}}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def client(faulty, clock):
    with LLMClient(provider(base_url=faulty.base_url, api_style="task"), sleep=FakeSleep(clock), clock=clock,
                   retry=RetryPolicy(jitter=0), task_poll_interval=2, task_deadline=30) as made:
        yield made


def test_a_task_is_submitted_then_polled_until_it_completes(faulty, client):
    faulty.script(task_submitted("t/42"), task_state({"status": "pending"}), task_state({"status": "running"}),
                  task_state(DONE))
    result = client.generate("Write an essay", PARAMS)
    assert result.text == "A finished essay." and result.id == "t/42" and result.finish_reason == "stop"
    assert result.usage.completion_tokens == 3 and result.model == "mock-1"
    assert result.latency_s == 4  # two polls waited 2 s each on the fake clock
    submit, *polls = faulty.requests
    assert (submit.method, submit.path) == ("POST", "/v1/tasks")
    assert submit.body == {"model": "mock-1", "prompt": "Write an essay", "temperature": 0.2, "top_p": 0.95,
                           "max_tokens": 32, "frequency_penalty": 0.0, "presence_penalty": 0.0}
    assert [(p.method, p.path) for p in polls] == [("GET", "/v1/tasks/t%2F42")] * 3


def test_chat_messages_are_submitted_as_messages(faulty, client):
    faulty.script(task_submitted(), task_state(DONE))
    client.generate([ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")], PARAMS)
    assert faulty.requests[0].body["messages"] == [{"role": "system", "content": "Be brief."},
                                                  {"role": "user", "content": "Hi"}]


def test_a_stream_delivers_the_whole_result_at_once(faulty, client):
    faulty.script(task_submitted(), task_state({"status": "running"}), task_state(DONE))
    stream = client.stream("Write", PARAMS)
    assert list(stream) == ["A finished essay."] and stream.result.text == "A finished essay."
    assert "stream" not in faulty.requests[0].body


@pytest.mark.parametrize(
    ("state", "message"),
    [({"status": "failed", "error": "GPU on fire"}, "failed: GPU on fire"),
     ({"status": "failed", "error": {"message": "quota"}}, "failed: quota"),
     ({"status": "failed"}, "failed: no reason given")],
)
def test_a_failed_task_says_why(faulty, client, state, message):
    faulty.script(task_submitted("t-9"), task_state(state))
    with pytest.raises(LLMTaskFailedError, match=rf"^The provider's task t-9 {message}$"):
        client.generate("Write", PARAMS)


def test_a_task_past_its_deadline_times_out(faulty, client, clock):
    faulty.script(task_submitted("slow"), *[task_state({"status": "running"})] * 20)
    with pytest.raises(LLMTimeoutError, match=r"task slow did not finish within 30 s \(it was still running\)"):
        client.generate("Write", PARAMS)
    assert len(faulty.requests) == 1 + 16  # polls at 0, 2, ..., 30 s


@pytest.mark.parametrize(
    ("acts", "message"),
    [((status(202, body={"id": "x"}),), "sent no task_id"),
     ((task_submitted(), task_state({"status": "exploded"})), "status that cannot be read"),
     ((task_submitted(), task_state({"status": "completed", "result": {}})), "completed without a text result")],
)
def test_unreadable_task_answers_are_clear_errors(faulty, client, acts, message):
    faulty.script(*acts)
    with pytest.raises(LLMResponseError, match=message):
        client.generate("Write", PARAMS)


def test_a_poll_that_fails_transiently_is_retried(faulty, client):
    faulty.script(task_submitted(), status(503), task_state(DONE))
    assert client.generate("Write", PARAMS).text == "A finished essay."
    assert len(faulty.requests) == 3


def test_task_is_an_api_style_a_provider_can_have():
    config = build_provider(name="t", base_url="https://tasks.example/v1", model="m", api_style="task")
    assert config.api_style == "task"
