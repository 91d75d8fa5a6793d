"""LLMClient: talk to one OpenAI-compatible provider, for a whole answer or a stream of text.

Styles: "completions" posts `prompt` to {base_url}/completions and takes one text prompt (a
list of chat messages is refused: continuation prompts are built by the caller); "chat" posts
`messages` to {base_url}/chat/completions (a plain string becomes one user message).
Every request goes through `_send`, the one place where transport failures and HTTP error
statuses become Draftgate errors, and where retries and rate limits can hook in later.
The API key travels only in the Authorization header; error messages are scrubbed of it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from core import constants
from core.errors import (
    InvalidInputError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMStatusError,
    LLMTimeoutError,
)
from core.llm.providers import check_api_key, is_loopback_host
from core.llm.sse import ServerSentEvent, SSEDecoder
from core.llm.types import ChatMessage, GenerationParams, GenerationResult, ProviderConfig, Usage

logger = logging.getLogger(__name__)

Prompt = str | Sequence[ChatMessage]

_ROLES = ("system", "user", "assistant")
_BODY_SNIPPET_CHARS = 200


def check_prompt(prompt: Prompt) -> None:
    """Raise InvalidInputError for an empty or too long prompt, or a malformed message list."""
    if isinstance(prompt, str):
        texts = [prompt]
    else:
        messages = list(prompt)
        if any(not _is_message(message) for message in messages):
            raise InvalidInputError("A chat prompt is a list of messages with role system, user or assistant.")
        texts = [message.content for message in messages]
    if not any(text.strip() for text in texts):
        raise InvalidInputError("The prompt is empty.")
    size = sum(len(text) for text in texts)
    if size > constants.MAX_PROMPT_CHARS:
        raise InvalidInputError(
            f"The prompt is too long: {size:,} characters (at most {constants.MAX_PROMPT_CHARS:,})."
        )


def _is_message(message: object) -> bool:
    return isinstance(message, ChatMessage) and message.role in _ROLES and isinstance(message.content, str)


class LLMClient:
    def __init__(
        self,
        provider: ProviderConfig,
        *,
        http_client: httpx.Client | None = None,
        connect_timeout: float = constants.CONNECT_TIMEOUT_S,
        read_timeout: float = constants.READ_TIMEOUT_S,
    ) -> None:
        check_api_key(provider.api_key)
        self.provider = provider
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            # Proxy variables are meant for the outside world, not for a server on this machine.
            trust_env=not is_loopback_host(httpx.URL(provider.base_url).host),
        )

    def __repr__(self) -> str:
        return f"LLMClient({self.provider!r})"

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool, unless it was handed in by the caller."""
        if self._owns_http:
            self._http.close()

    def generate(self, prompt: Prompt, params: GenerationParams) -> GenerationResult:
        request = self._build_request(prompt, params, stream=False)
        started = time.monotonic()
        response = self._send(request, stream=False)
        data = self._json_body(response)
        choice = _first_choice(data)
        if choice is None:
            raise LLMResponseError("The provider's answer has no choices.")
        return GenerationResult(
            id=str(data.get("id") or ""),
            text=self._choice_text(choice, streaming=False),
            finish_reason=str(choice.get("finish_reason") or ""),
            usage=_usage(data.get("usage")) or Usage(),
            model=_model(data) or self.provider.model,
            latency_s=time.monotonic() - started,
        )

    def stream(self, prompt: Prompt, params: GenerationParams) -> CompletionStream:
        """Send the request now (so HTTP errors raise here) and return the stream of deltas."""
        request = self._build_request(prompt, params, stream=True)
        started = time.monotonic()
        response = self._send(request, stream=True)
        self._check_event_stream(response)
        return CompletionStream(response, client=self, started=started)

    # -- request -----------------------------------------------------------------------------

    def _build_request(self, prompt: Prompt, params: GenerationParams, *, stream: bool) -> httpx.Request:
        params.validate()
        check_prompt(prompt)
        if self.provider.api_style == "chat":
            path, body = "/chat/completions", {"messages": _messages(prompt)}
        elif isinstance(prompt, str):
            path, body = "/completions", {"prompt": prompt}
        else:
            raise InvalidInputError(
                "This provider uses the completions style: give it one text prompt, not chat messages."
            )
        body = {"model": self.provider.model, **body, **_sampling(params)}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if self.provider.api_key:
            headers["Authorization"] = f"Bearer {self.provider.api_key}"
        url = self.provider.base_url + path
        return self._http.build_request("POST", url, json=body, headers=headers, timeout=self._timeout)

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """Send once and return a successful response; raise an LLMError otherwise."""
        with self._translated_errors():
            response = self._http.send(request, stream=stream)
            if response.status_code >= 400:
                _read_and_close(response)
        logger.debug("%s %s -> %s", request.method, request.url, response.status_code)
        if response.status_code >= 400:
            raise self._status_error(response)
        return response

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as err:
            raise LLMTimeoutError(self._timeout_message(err)) from err
        except httpx.RequestError as err:
            reason = self._redact(str(err)) or type(err).__name__
            raise LLMConnectionError(f"Could not reach the provider at {self.provider.base_url}: {reason}") from err

    def _timeout_message(self, err: httpx.TimeoutException) -> str:
        if isinstance(err, httpx.ConnectTimeout):
            what = f"did not accept a connection within {self._timeout.connect:g} s"
        elif isinstance(err, httpx.ReadTimeout):
            what = f"sent nothing for {self._timeout.read:g} s"
        else:
            what = "timed out"
        return f"The provider at {self.provider.base_url} {what}."

    # -- response ----------------------------------------------------------------------------

    def _status_error(self, response: httpx.Response) -> LLMStatusError:
        status = response.status_code
        provider_message = self._provider_message(response.text)
        message = f"The provider answered {status} {response.reason_phrase}"
        if provider_message:
            message += f": {provider_message}"
        return _status_error_class(status)(
            message,
            status_code=status,
            provider_message=provider_message,
            request_id=response.headers.get("x-request-id"),
        )

    def _check_event_stream(self, response: httpx.Response) -> None:
        content_type = response.headers.get("content-type", "")
        if not content_type or content_type.startswith("text/event-stream"):
            return
        with self._translated_errors():
            _read_and_close(response)
        raise LLMResponseError(
            f"The provider did not answer with an event stream ({content_type}): "
            f"{self._provider_message(response.text)}"
        )

    def _json_body(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as err:
            content_type = response.headers.get("content-type") or "no content type"
            raise LLMResponseError(
                f"The provider's answer is not JSON ({content_type}): {self._snippet(response.text)}"
            ) from err
        if not isinstance(data, dict):
            raise LLMResponseError("The provider's answer is not a JSON object.")
        if data.get("error"):
            raise LLMResponseError(f"The provider reported an error: {self._error_text(data)}")
        return data

    def _event_json(self, event: ServerSentEvent) -> dict[str, Any]:
        if event.is_error:
            message = self._provider_message(event.data)
            raise LLMResponseError(f"The provider reported an error mid-stream: {message}")
        try:
            chunk = event.json()
        except ValueError as err:
            raise LLMResponseError(
                f"The provider sent a stream chunk that is not valid JSON: {self._snippet(event.data)}"
            ) from err
        if not isinstance(chunk, dict):
            raise LLMResponseError(
                f"The provider sent a stream chunk that is not a JSON object: {self._snippet(event.data)}"
            )
        if chunk.get("error"):
            raise LLMResponseError(f"The provider reported an error mid-stream: {self._error_text(chunk)}")
        return chunk

    def _choice_text(self, choice: dict[str, Any], *, streaming: bool) -> str:
        if self.provider.api_style == "chat":
            part = choice.get("delta" if streaming else "message")
            text = part.get("content") if isinstance(part, dict) else None
        else:
            text = choice.get("text")
        if text is None:
            return ""
        if not isinstance(text, str):
            raise LLMResponseError("The provider's answer holds text that is not a string.")
        return text

    def _provider_message(self, body: str) -> str:
        """The provider's own words: error.message of a JSON body, else the start of the body."""
        try:
            data = json.loads(body)
        except ValueError:
            return self._snippet(body)
        return self._error_text(data) if isinstance(data, dict) else self._snippet(body)

    def _error_text(self, data: dict[str, Any]) -> str:
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return self._redact(_one_line(error["message"]))
        for value in (error, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value.strip():
                return self._redact(_one_line(value))
        return self._snippet(str(data))

    def _snippet(self, text: str) -> str:
        return self._redact(_one_line(text))[:_BODY_SNIPPET_CHARS]

    def _redact(self, text: str) -> str:
        key = self.provider.api_key
        return text.replace(key, "***") if key else text


class CompletionStream:
    """Iterate for the text deltas; once exhausted, `.result` holds the whole GenerationResult.

    `.text` is the text so far at any moment, so a caller can keep it when an error ends the
    stream. The response is closed when the stream ends, fails, or `close()` is called.
    """

    def __init__(self, response: httpx.Response, *, client: LLMClient, started: float) -> None:
        self._response = response
        self._client = client
        self._started = started
        self.text = ""
        self.result: GenerationResult | None = None
        self._id = ""
        self._finish_reason = ""
        self._usage = Usage()
        self._model = client.provider.model
        self._deltas = self._iter_deltas()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._deltas)

    def __enter__(self) -> CompletionStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._deltas.close()
        self._response.close()

    def _iter_deltas(self) -> Iterator[str]:
        seen_event = False
        try:
            with self._client._translated_errors():
                for event in SSEDecoder().iter_events(self._response.iter_lines()):
                    seen_event = True
                    if event.is_done:
                        break
                    delta = self._absorb(self._client._event_json(event))
                    if delta:
                        self.text += delta
                        yield delta
            if not seen_event:
                raise LLMResponseError("The provider's stream ended without sending any data.")
            self.result = GenerationResult(
                id=self._id,
                text=self.text,
                finish_reason=self._finish_reason,
                usage=self._usage,
                model=self._model,
                latency_s=time.monotonic() - self._started,
            )
        finally:
            self._response.close()

    def _absorb(self, chunk: dict[str, Any]) -> str:
        """Keep the chunk's id, model, usage and finish reason; return its text."""
        self._id = self._id or str(chunk.get("id") or "")
        self._model = _model(chunk) or self._model
        self._usage = _usage(chunk.get("usage")) or self._usage
        choice = _first_choice(chunk)
        if choice is None:  # e.g. the usage-only chunk after the last choice
            return ""
        self._finish_reason = str(choice.get("finish_reason") or self._finish_reason)
        return self._client._choice_text(choice, streaming=True)


def _messages(prompt: Prompt) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": message.role, "content": message.content} for message in prompt]


def _sampling(params: GenerationParams) -> dict[str, Any]:
    body: dict[str, Any] = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
    }
    if params.stop:
        body["stop"] = list(params.stop)
    if params.seed is not None:
        body["seed"] = params.seed
    return body


def _status_error_class(status: int) -> type[LLMStatusError]:
    if status in (401, 403):
        return LLMAuthenticationError
    if status == 429:
        return LLMRateLimitError
    if status >= 500:
        return LLMServerError
    return LLMBadRequestError


def _read_and_close(response: httpx.Response) -> None:
    try:
        response.read()
    finally:
        response.close()


def _first_choice(data: dict[str, Any]) -> dict[str, Any] | None:
    choices = data.get("choices")
    if not choices:
        return None
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise LLMResponseError("The provider's answer has choices that cannot be read.")
    return choices[0]


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    prompt, completion = count("prompt_tokens"), count("completion_tokens")
    total = count("total_tokens") or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _model(data: dict[str, Any]) -> str:
    model = data.get("model")
    return model if isinstance(model, str) else ""


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
