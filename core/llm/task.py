"""Task-style providers: submit the request, then poll the task until it is done.

The shape supported (base_url is what the provider was registered with, e.g. https://x.example/v1):

    POST {base_url}/tasks
        body: the same JSON as a chat or completions request (model, messages or prompt, every
        sampling parameter), never with stream fields
        -> 200, 201 or 202  {"task_id": "abc123"}
    GET  {base_url}/tasks/{task_id}
        -> 200  {"status": "pending" | "running" | "completed" | "failed",
                 "result": {"text": "...",                      (when completed)
                            "finish_reason": "stop",            (optional)
                            "usage": {"prompt_tokens": .., "completion_tokens": ..},  (optional)
                            "model": "..."},                    (optional)
                 "error": "..." or {"message": "..."}}          (when failed)

The task is polled every `client.task_poll_interval` seconds, for at most `client.task_deadline`
seconds in all. The submission and each poll go through the client's rate limit and retries
(a submission retried after a 5xx may create a second task at the provider: the protocol has
no idempotency key). A stream from such a provider delivers the whole answer when it is ready.
A task id that could not be stored or sent back (a NUL, a lone surrogate) is refused; the
result's text is made storable (GenerationResult).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.platform.errors import LLMResponseError, LLMTaskFailedError, LLMTimeoutError
from core.llm.ratelimit import estimate_tokens
from core.llm.types import GenerationResult, Usage
from core.platform.text import storable

if TYPE_CHECKING:
    from core.llm.client import LLMClient

TASKS_PATH = "/tasks"
WAITING = ("pending", "running")


def run_task(client: LLMClient, body: dict[str, Any], *, started: float) -> GenerationResult:
    task_id = submit_task(client, body)
    deadline = started + client.task_deadline
    while True:
        state = poll_task(client, task_id)
        status = state.get("status")
        if status == "completed":
            return _result(client, task_id, state, started)
        if status == "failed":
            raise LLMTaskFailedError(f"The provider's task {task_id} failed: {_error_text(client, state)}")
        if status not in WAITING:
            raise LLMResponseError(
                f"The provider's task {task_id} has a status that cannot be read: {client._snippet(str(status))}"
            )
        if client._clock() + client.task_poll_interval > deadline:
            raise LLMTimeoutError(
                f"The provider's task {task_id} did not finish within {client.task_deadline:g} s "
                f"(it was still {status})."
            )
        client._sleep(client.task_poll_interval)


def submit_task(client: LLMClient, body: dict[str, Any]) -> str:
    request = client._request("POST", TASKS_PATH, body, stream=False)
    data = client._json_body(client._send(request, stream=False, tokens=estimate_tokens(body)))
    task_id = data.get("task_id")
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool) or not str(task_id).strip():
        raise LLMResponseError("The provider accepted the task but sent no task_id.")
    task_id = str(task_id)
    if storable(task_id) != task_id:
        raise LLMResponseError(
            f"The provider accepted the task but sent a task_id that cannot be used: {client._snippet(task_id)}"
        )
    return task_id


def poll_task(client: LLMClient, task_id: str) -> dict[str, Any]:
    request = client._request("GET", f"{TASKS_PATH}/{quote(task_id, safe='')}", None, stream=False)
    return client._json_body(client._send(request, stream=False), error_is_failure=False)


def _result(client: LLMClient, task_id: str, state: dict[str, Any], started: float) -> GenerationResult:
    result = state.get("result")
    text = result.get("text") if isinstance(result, dict) else None
    if not isinstance(text, str):
        raise LLMResponseError(f"The provider's task {task_id} completed without a text result.")
    model = result.get("model")
    return GenerationResult(
        id=task_id,
        text=text,
        finish_reason=str(result.get("finish_reason") or "stop"),
        usage=Usage.from_json(result.get("usage")) or Usage(),
        model=model if isinstance(model, str) and model else client.provider.model,
        latency_s=client._clock() - started,
    )


def _error_text(client: LLMClient, state: dict[str, Any]) -> str:
    error = state.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str) and error.strip():
        return client._snippet(error)
    return "no reason given"
