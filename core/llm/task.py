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

The task is polled every `poll_interval_s` seconds, for at most `deadline_s` seconds in all
(the client's task_poll_interval and task_deadline). The submission and each poll go through the
Transport: its rate limit, retries and clock (a submission retried after a 5xx may create a
second task at the provider: the protocol has no idempotency key). A stream from such a provider
delivers the whole answer when it is ready. A task id that could not be stored or sent back (a
NUL, a lone surrogate) is refused; the result's text is made storable (GenerationResult).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import quote

from core.llm.ratelimit import estimate_tokens
from core.llm.transport import Transport
from core.llm.types import GenerationResult, Usage
from core.platform.errors import LLMResponseError, LLMTaskFailedError, LLMTimeoutError
from core.platform.i18n import N_, Message
from core.platform.text import storable

TASKS_PATH = "/tasks"


class TaskStatus(StrEnum):
    """The statuses of a provider's task (the protocol's words, not Draftgate's)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


WAITING = (TaskStatus.PENDING, TaskStatus.RUNNING)


def run_task(
    transport: Transport, body: dict[str, Any], *, started: float, poll_interval_s: float, deadline_s: float
) -> GenerationResult:
    """Submit `body` as a task and poll it until it completes (its result), fails or outlasts
    `deadline_s` (counted from `started`, on the transport's clock)."""
    task_id = submit_task(transport, body)
    deadline = started + deadline_s
    while True:
        state = poll_task(transport, task_id)
        status = state.get("status")
        if status == TaskStatus.COMPLETED:
            return _result(transport, task_id, state, started)
        if status == TaskStatus.FAILED:
            raise LLMTaskFailedError(Message(N_("The provider's task {task_id} failed: {value}"), task_id=task_id, value=_error_text(transport, state)))
        if status not in WAITING:
            raise LLMResponseError(
                Message(N_("The provider's task {task_id} has a status that cannot be read: {value}"), task_id=task_id, value=transport.snippet(str(status)))
            )
        if transport.clock() + poll_interval_s > deadline:
            raise LLMTimeoutError(
                Message(N_("The provider's task {task_id} did not finish within {deadline_s:g} s (it was still {status})."), task_id=task_id, deadline_s=deadline_s, status=status)
            )
        transport.wait(poll_interval_s)
        transport.check_stopped()


def submit_task(transport: Transport, body: dict[str, Any]) -> str:
    request = transport.request("POST", TASKS_PATH, body, stream=False)
    data = transport.json_body(transport.send(request, tokens=estimate_tokens(body)))
    task_id = data.get("task_id")
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool) or not str(task_id).strip():
        raise LLMResponseError("The provider accepted the task but sent no task_id.")
    task_id = str(task_id)
    if storable(task_id) != task_id:
        raise LLMResponseError(
            Message(N_('The provider accepted the task but sent a task_id that cannot be used: {value}'), value=transport.snippet(task_id))
        )
    return task_id


def poll_task(transport: Transport, task_id: str) -> dict[str, Any]:
    request = transport.request("GET", f"{TASKS_PATH}/{quote(task_id, safe='')}", None, stream=False)
    return transport.json_body(transport.send(request), error_is_failure=False)


def _result(transport: Transport, task_id: str, state: dict[str, Any], started: float) -> GenerationResult:
    result = state.get("result")
    text = result.get("text") if isinstance(result, dict) else None
    if not isinstance(result, dict) or not isinstance(text, str):
        raise LLMResponseError(Message(N_("The provider's task {task_id} completed without a text result."), task_id=task_id))
    model = result.get("model")
    return GenerationResult(
        id=task_id,
        text=text,
        finish_reason=str(result.get("finish_reason") or "stop"),
        usage=Usage.from_json(result.get("usage")) or Usage(),
        model=model if isinstance(model, str) and model else transport.provider.model,
        latency_s=transport.clock() - started,
    )


def _error_text(transport: Transport, state: dict[str, Any]) -> str:
    error = state.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    if isinstance(error, str) and error.strip():
        return transport.snippet(error)
    return "no reason given"
