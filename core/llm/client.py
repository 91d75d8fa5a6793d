"""LLMClient: talk to one OpenAI-compatible provider, for a whole answer or a stream of text.

Styles: "completions" posts `prompt` to {base_url}/completions and takes one text prompt (a
list of chat messages is refused: continuation prompts are built by the caller); "chat" posts
`messages` to {base_url}/chat/completions (a plain string becomes one user message).
Streams ask for usage (`stream_options.include_usage`) in both styles; "task" submits and
polls (core.llm.task). One call goes: response cache -> rate limit -> HTTP -> retries.
Every request goes through `_send`, the one place where the rate limit is waited for,
transport failures and HTTP error statuses become Draftgate errors, and retries happen
(core.llm.retry). The API key travels only in the Authorization header; error messages are
scrubbed of it.

A stream is whole only when the provider says so:

    text ... finish_reason ... [DONE]   complete (either sign alone will do)
    text ... end of body                incomplete: LLMIncompleteError(partial_text), never cached
    no text for the idle timeout        cut off: LLMTimeoutError (keep-alives and chunks without
                                        text are no progress)
    not finished by the deadline        cut off: LLMTimeoutError, counted from the request

Text is made storable on the way in (core.platform.text.storable): a surrogate pair split across two
chunks is joined, NUL and lone surrogates become U+FFFD, in streams, whole answers, task
results and cache hits alike.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

import httpx

from core.platform import constants
from core.platform.errors import (
    InvalidInputError,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConnectionError,
    LLMError,
    LLMIncompleteError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
    LLMStatusError,
    LLMTimeoutError,
)
from core.llm.cache import CACHE_MODES, CacheMode, CacheOrigin, ResponseCache, cache_key, reads, stores
from core.llm.providers import check_api_key, is_loopback_host, validate_base_url
from core.llm.ratelimit import ProviderRateLimiter, estimate_tokens, provider_limiter
from core.llm.retry import Attempts, RetryPolicy, retry_after_s
from core.llm.sse import ServerSentEvent, SSEDecoder
from core.llm.task import run_task
from core.llm.types import ChatMessage, GenerationParams, GenerationResult, ProviderConfig, Usage
from core.platform.text import storable

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
            raise InvalidInputError(
                "A chat prompt is a list of messages with role system, user or assistant."
            )
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
        stream_idle_timeout: float = constants.STREAM_IDLE_TIMEOUT_S,
        stream_deadline: float = constants.STREAM_DEADLINE_S,
        retry: RetryPolicy | None = None,
        limiter: ProviderRateLimiter | None = None,
        cache: ResponseCache | None = None,
        task_poll_interval: float = constants.TASK_POLL_INTERVAL_S,
        task_deadline: float = constants.TASK_DEADLINE_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`limiter` defaults to this process's shared limiter of the provider (None without
        limits); `sleep` and `clock` are for tests (retry waits, idle and deadline checks, task
        polling)."""
        check_api_key(provider.api_key)
        self.provider = provider
        self._base_url = validate_base_url(provider.base_url)
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self.stream_idle_timeout = stream_idle_timeout
        self.stream_deadline = stream_deadline
        self.retry = retry or RetryPolicy()
        self.limiter = limiter if limiter is not None else provider_limiter(provider)
        self.cache = cache
        self.task_poll_interval = task_poll_interval
        self.task_deadline = task_deadline
        self._sleep = sleep
        self._clock = clock
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            limits=httpx.Limits(
                max_connections=constants.HTTP_POOL_CONNECTIONS,
                max_keepalive_connections=constants.HTTP_POOL_CONNECTIONS,
            ),
            # Proxy variables are meant for the outside world, not for a server on this machine.
            trust_env=not is_loopback_host(httpx.URL(self._base_url).host),
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

    def generate(
        self, prompt: Prompt, params: GenerationParams, *, cache: CacheMode = "auto", origin: CacheOrigin | None = None
    ) -> GenerationResult:
        """The whole answer. `cache` decides whether the response cache is read and stored
        (see core.llm.cache); `result.cached` tells a cache hit. `origin`: the session and
        draft a stored answer belongs to (deleting them purges it)."""
        path, body = self._body(prompt, params)
        key = self._cache_key(body, params, cache)
        started = self._clock()
        hit = self._lookup(key, params, cache, started)
        if hit is not None:
            return hit
        if self.provider.api_style == "task":
            result = run_task(self, body, started=started)
        else:
            request = self._request("POST", path, body, stream=False)
            response = self._send(request, stream=False, tokens=estimate_tokens(body))
            result = self._answer(response, started)
        if key and stores(cache, params):
            self.cache.put(key, result, origin)
        return result

    def stream(
        self, prompt: Prompt, params: GenerationParams, *, cache: CacheMode = "auto", origin: CacheOrigin | None = None
    ) -> CompletionStream:
        """Send the request now (so HTTP errors raise here) and return the stream of deltas
        (`cache` and `origin` as for generate).

        A cache hit (or a task-style provider) gives a stream that delivers the whole text at
        once; `stream.cache_hit` tells which.
        """
        path, body = self._body(prompt, params)
        key = self._cache_key(body, params, cache)
        started = self._clock()
        hit = self._lookup(key, params, cache, started)
        if hit is not None:
            return CompletionStream.replaying(hit, client=self)
        store = (lambda result: self.cache.put(key, result, origin)) if key and stores(cache, params) else None
        if self.provider.api_style == "task":
            result = run_task(self, body, started=started)
            if store:
                store(result)
            return CompletionStream.replaying(result, client=self)
        stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        request = self._request("POST", path, stream_body, stream=True)
        attempts = self._attempts()
        tokens = estimate_tokens(body)

        def open_response() -> httpx.Response:
            return self._open_stream(request, attempts, tokens)

        return CompletionStream(open_response(), client=self, started=started, attempts=attempts,
                                reopen=open_response, on_result=store)

    # -- request -----------------------------------------------------------------------------

    def _body(self, prompt: Prompt, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        params.validate()
        check_prompt(prompt)
        style = self.provider.api_style
        if style == "chat" or (style == "task" and not isinstance(prompt, str)):
            path, body = "/chat/completions", {"messages": _messages(prompt)}
        elif isinstance(prompt, str):
            path, body = "/completions", {"prompt": prompt}
        else:
            raise InvalidInputError(
                "This provider uses the completions style: give it one text prompt, not chat messages."
            )
        body = {"model": self.provider.model, **body, **_sampling(params)}
        if _keeps_requests_by_default(self.provider.base_url):
            body["store"] = False  # the provider's "do not store" flag; others reject unknown fields
        return path, body

    def _cache_key(self, body: dict[str, Any], params: GenerationParams, mode: CacheMode) -> str | None:
        if mode not in CACHE_MODES:
            raise InvalidInputError(f"The cache mode must be one of {', '.join(CACHE_MODES)} (got {mode!r}).")
        if self.cache is None or not (reads(mode, params) or stores(mode, params)):
            return None
        return cache_key(self.provider, body)

    def _lookup(
        self, key: str | None, params: GenerationParams, mode: CacheMode, started: float
    ) -> GenerationResult | None:
        if key is None or not reads(mode, params):
            return None
        hit = self.cache.get(key)
        return replace(hit, latency_s=self._clock() - started) if hit is not None else None

    def _request(self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool) -> httpx.Request:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if self.provider.api_key:
            headers["Authorization"] = f"Bearer {self.provider.api_key}"
        url = self._base_url + path
        return self._http.build_request(method, url, json=body, headers=headers, timeout=self._timeout)

    def _attempts(self) -> Attempts:
        return Attempts(self.retry)

    def _send(
        self, request: httpx.Request, *, stream: bool, attempts: Attempts | None = None, tokens: int = 0
    ) -> httpx.Response:
        """Send (within the rate limit, retrying what deserves it) and return a successful
        response; raise an LLMError otherwise."""
        attempts = attempts or self._attempts()
        while True:
            attempts.made += 1
            try:
                return self._send_once(request, stream=stream, tokens=tokens)
            except LLMError as err:
                wait = attempts.wait_after(err)
                if wait is None:
                    raise
                logger.info("try %d of %s %s failed (%s); retrying in %.2f s",
                            attempts.made, request.method, request.url, err, wait)
                self._sleep(wait)

    def _send_once(self, request: httpx.Request, *, stream: bool, tokens: int) -> httpx.Response:
        if self.limiter is not None:
            self.limiter.acquire(tokens)
        with self._translated_errors():
            response = self._http.send(request, stream=stream)
            if response.status_code >= 400:
                _read_and_close(response)
        logger.debug("%s %s -> %s", request.method, request.url, response.status_code)
        if response.status_code >= 400:
            raise self._status_error(response)
        return response

    def _open_stream(self, request: httpx.Request, attempts: Attempts, tokens: int) -> httpx.Response:
        request.extensions["timeout"] = self._timeout.as_dict()
        response = self._send(request, stream=True, attempts=attempts, tokens=tokens)
        self._check_event_stream(response)
        # httpcore takes the body's read timeout when the body is first read: from here on the
        # longest silence allowed is the idle timeout (the read timeout was for the headers).
        request.extensions["timeout"]["read"] = self.stream_idle_timeout
        return response

    @contextmanager
    def _translated_errors(self, *, streaming: bool = False) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as err:
            raise LLMTimeoutError(self._timeout_message(err, streaming=streaming)) from err
        except httpx.RequestError as err:
            reason = self._redact(_one_line(str(err))) or type(err).__name__
            raise LLMConnectionError(f"Could not reach the provider at {self._base_url}: {reason}") from err

    def _timeout_message(self, err: httpx.TimeoutException, *, streaming: bool = False) -> str:
        if isinstance(err, httpx.ConnectTimeout):
            what = f"did not accept a connection within {self._timeout.connect:g} s"
        elif isinstance(err, httpx.ReadTimeout) and streaming:
            return self.idle_message()
        elif isinstance(err, httpx.ReadTimeout):
            what = f"sent nothing for {self._timeout.read:g} s"
        else:
            what = "timed out"
        return f"The provider at {self._base_url} {what}."

    def idle_message(self) -> str:
        return (
            f"The provider at {self._base_url} went silent for {self.stream_idle_timeout:g} s "
            "in the middle of its answer (stream idle timeout)."
        )

    def deadline_message(self) -> str:
        return (
            f"The provider at {self._base_url} did not finish its answer within "
            f"{self.stream_deadline:g} s (stream deadline)."
        )

    # -- response ----------------------------------------------------------------------------

    def _answer(self, response: httpx.Response, started: float) -> GenerationResult:
        data = self._json_body(response)
        choice = _first_choice(data)
        if choice is None:
            raise LLMResponseError("The provider's answer has no choices.")
        return GenerationResult(
            id=str(data.get("id") or ""),
            text=self._choice_text(choice, streaming=False),
            finish_reason=str(choice.get("finish_reason") or ""),
            usage=Usage.from_json(data.get("usage")) or Usage(),
            model=_model(data) or self.provider.model,
            latency_s=self._clock() - started,
        )

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
            retry_after_s=retry_after_s(response.headers),
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

    def _json_body(self, response: httpx.Response, *, error_is_failure: bool = True) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as err:
            content_type = response.headers.get("content-type") or "no content type"
            raise LLMResponseError(
                f"The provider's answer is not JSON ({content_type}): {self._snippet(response.text)}"
            ) from err
        if not isinstance(data, dict):
            raise LLMResponseError("The provider's answer is not a JSON object.")
        if error_is_failure and data.get("error"):
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
        """`text` (from the provider, or about it) without the API key, fit to be stored."""
        key = self.provider.api_key
        return storable(text.replace(key, "***") if key else text)


class CompletionStream:
    """Iterate for the text deltas; once exhausted, `.result` holds the whole GenerationResult.

    `.text` is the text so far at any moment (storable). A connection that fails before any
    text arrived is opened again (within the client's retries, and the deadline); one that
    fails after the first text is not (the text would start over): its error says how much had
    arrived and carries it as `err.partial_text`. A stream that ends without [DONE] and
    without a finish reason raises LLMIncompleteError. The response is closed when the stream
    ends, fails, or `close()` is called. `abort()` (from any thread) ends a stream at once,
    even one waiting on a silent provider.
    """

    def __init__(
        self,
        response: httpx.Response | None,
        *,
        client: LLMClient,
        started: float,
        attempts: Attempts | None = None,
        reopen: Callable[[], httpx.Response] | None = None,
        on_result: Callable[[GenerationResult], None] | None = None,
        replayed: GenerationResult | None = None,
    ) -> None:
        self._response = response
        self._client = client
        self._started = started
        self._attempts = attempts
        self._reopen = reopen
        self._on_result = on_result
        self._replayed = replayed
        self.cache_hit = bool(replayed and replayed.cached)
        self.text = ""
        self.result: GenerationResult | None = None
        self._id = ""
        self._finish_reason = ""
        self._done = False  # [DONE] arrived
        self._held = ""  # a high surrogate that ended the last delta, waiting for its low half
        self._last_text_at = started
        self._usage = Usage()
        self._model = client.provider.model
        self.aborted = False
        self._deltas = self._replay() if replayed else self._iter_deltas()

    @classmethod
    def replaying(cls, result: GenerationResult, *, client: LLMClient) -> CompletionStream:
        """A stream that delivers a finished answer (a cache hit, a task's result) in one piece."""
        return cls(None, client=client, started=0.0, replayed=result)

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
        if self._response is not None:
            self._response.close()

    def abort(self) -> None:
        """Stop the stream from another thread: its connection is shut down, so that a read
        waiting on it fails at once (and is not retried); the reader still calls close()."""
        self.aborted = True
        network = self._response.extensions.get("network_stream") if self._response is not None else None
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            with suppress(OSError):  # closed already
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, under any TLS

    def _replay(self) -> Iterator[str]:
        if self._replayed.text:
            self.text = self._replayed.text
            yield self.text
        self.result = self._replayed

    def _iter_deltas(self) -> Iterator[str]:
        try:
            while True:
                try:
                    yield from self._read_events()
                    break
                except LLMConnectionError as err:
                    wait = None if self.text or self.aborted else self._attempts.wait_after(err)
                    if wait is None or self._past_deadline(self._client._clock() + wait):
                        raise
                    self._response.close()
                    self._client._sleep(wait)
                    self._response = self._reopen()
            self.result = GenerationResult(
                id=self._id,
                text=self.text,
                finish_reason=self._finish_reason,
                usage=self._usage,
                model=self._model,
                latency_s=self._client._clock() - self._started,
            )
        except LLMError as err:
            if self.text and not err.partial_text:
                err.partial_text = self.text
                err.args = (f"The stream broke after {len(self.text):,} characters: {err}",)
            raise
        finally:
            self._response.close()
        if self._on_result is not None:
            self._on_result(self.result)

    def _read_events(self) -> Iterator[str]:
        seen_event = False
        self._last_text_at = self._client._clock()
        with self._client._translated_errors(streaming=True):
            lines = self._watched(self._response.iter_lines())
            for event in SSEDecoder().iter_events(lines):
                seen_event = True
                if event.is_done:
                    self._done = True
                    break
                delta = self._storable(self._absorb(self._client._event_json(event)))
                if delta:
                    self.text += delta
                    yield delta
        if not seen_event:
            raise LLMResponseError("The provider's stream ended without sending any data.")
        rest, self._held = storable(self._held), ""
        if rest:
            self.text += rest
            yield rest
        if not (self._done or self._finish_reason):
            raise LLMIncompleteError(self._incomplete_message(), partial_text=self.text)

    def _incomplete_message(self) -> str:
        arrived = f"{len(self.text):,} characters had arrived" if self.text else "no text had arrived"
        return f"The provider's stream ended before the answer was finished: {arrived}."

    def _storable(self, delta: str) -> str:
        """`delta` fit to be stored; a high surrogate at its end waits for the next delta, whose
        low surrogate completes it (a JSON escape pair split across two chunks)."""
        if not delta:
            return ""
        self._last_text_at = self._client._clock()
        delta, self._held = self._held + delta, ""
        if "\ud800" <= delta[-1] <= "\udbff":
            delta, self._held = delta[:-1], delta[-1]
        return storable(delta)

    def _watched(self, lines: Iterator[str]) -> Iterator[str]:
        """The lines, cut off by the idle timeout (no text for so long) or the deadline. Checked
        after each line that ends an event (once its text is counted) and each comment."""
        for line in lines:
            yield line
            if not line or line.startswith(":"):
                self._check_time()

    def _check_time(self) -> None:
        now = self._client._clock()
        if self._past_deadline(now):
            raise LLMTimeoutError(self._client.deadline_message())
        if now - self._last_text_at > self._client.stream_idle_timeout:
            raise LLMTimeoutError(self._client.idle_message())

    def _past_deadline(self, now: float | None = None) -> bool:
        now = self._client._clock() if now is None else now
        return now - self._started > self._client.stream_deadline

    def _absorb(self, chunk: dict[str, Any]) -> str:
        """Keep the chunk's id, model, usage and finish reason; return its text. A reasoning
        model's thoughts are no part of the answer, but they are progress for the idle timeout."""
        self._id = self._id or str(chunk.get("id") or "")
        self._model = _model(chunk) or self._model
        self._usage = Usage.from_json(chunk.get("usage")) or self._usage
        choice = _first_choice(chunk)
        if choice is None:  # e.g. the usage-only chunk after the last choice
            return ""
        self._finish_reason = str(choice.get("finish_reason") or self._finish_reason)
        if _reasoning(choice):
            self._last_text_at = self._client._clock()
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


REASONING_FIELDS = ("reasoning_content", "reasoning")  # deltas of reasoning models before the answer


def _reasoning(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return False
    return any(isinstance(delta.get(name), str) and delta[name] for name in REASONING_FIELDS)


def _model(data: dict[str, Any]) -> str:
    model = data.get("model")
    return model if isinstance(model, str) else ""


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


NO_STORE_HOSTS = ("api.openai.com",)


def _keeps_requests_by_default(base_url: str) -> bool:
    """Providers that store requests unless told not to (OpenAI's `store`)."""
    return httpx.URL(base_url).host in NO_STORE_HOSTS
