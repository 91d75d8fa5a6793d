"""LLMClient: talk to one OpenAI-compatible provider, for a whole answer or a stream of text.

Styles: "completions" posts `prompt` to {base_url}/completions and takes one text prompt (a
list of chat messages is refused: continuation prompts are built by the caller); "chat" posts
`messages` to {base_url}/chat/completions (a plain string becomes one user message).
Streams ask for usage (`stream_options.include_usage`) in both styles; "task" submits and
polls (core.llm.task). One call goes:

    generate / stream ── body (checked) ── response cache ──hit──> the stored answer
                                                  │ miss
                                                  v
                         Transport (core.llm.transport): rate limit -> HTTP -> retries -> errors
                                                  │
                         whole answer: read here  │  stream: CompletionStream (core.llm.stream)
                                                  v
                                    the answer, stored in the cache when reproducible

The client builds the request bodies and reads whole answers; sending, retrying, translating
failures into errors and keeping the API key out of them is the Transport's. Text is made
storable on the way in (core.platform.text.storable), in streams, whole answers, task results
and cache hits alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Self

import httpx

from core.llm.cache import CACHE_MODES, CacheMode, CacheOrigin, ResponseCache, cache_key, reads, stores
from core.llm.choices import UnreadableAnswer, choice_text, first_choice, model_of
from core.llm.ratelimit import ProviderRateLimiter, estimate_tokens
from core.llm.retry import RetryPolicy
from core.llm.slots import SlotAffinity
from core.llm.stopping import RequestStop
from core.llm.stream import CompletionStream
from core.llm.task import run_task
from core.llm.transport import Transport
from core.llm.types import ChatMessage, GenerationParams, GenerationResult, ProviderConfig, Usage
from core.platform import constants
from core.platform.errors import InvalidInputError, LLMResponseError
from core.platform.i18n import N_, Message

__all__ = ["CompletionStream", "LLMClient", "Prompt", "check_prompt"]

Prompt = str | Sequence[ChatMessage]

_ROLES = ("system", "user", "assistant")


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
            Message(N_('The prompt is too long: {size:,} characters (at most {max_prompt_chars:,}).'), size=size, max_prompt_chars=constants.MAX_PROMPT_CHARS)
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
        polling): the Transport owns them."""
        self.provider = provider
        self.transport = Transport(
            provider, http_client=http_client, connect_timeout=connect_timeout, read_timeout=read_timeout,
            retry=retry, limiter=limiter, sleep=sleep, clock=clock,
        )
        self.stream_idle_timeout = stream_idle_timeout
        self.stream_deadline = stream_deadline
        self.cache = cache
        self.task_poll_interval = task_poll_interval
        self.task_deadline = task_deadline
        self.slots = SlotAffinity(provider.slots) if provider.slots > 0 else None
        self._says_do_not_store = _keeps_requests_by_default(provider.base_url)  # (a URL parsed once, not per request)

    def __repr__(self) -> str:
        return f"LLMClient({self.provider!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def retry(self) -> RetryPolicy:
        return self.transport.retry

    @property
    def limiter(self) -> ProviderRateLimiter | None:
        return self.transport.limiter

    def close(self) -> None:
        """Close the HTTP connection pool, unless it was handed in by the caller."""
        self.transport.close()

    def generate(
        self, prompt: Prompt, params: GenerationParams, *, cache: CacheMode = "auto", origin: CacheOrigin | None = None
    ) -> GenerationResult:
        """The whole answer. `cache` decides whether the response cache is read and stored
        (see core.llm.cache); `result.cached` tells a cache hit. `origin`: the session and
        draft a stored answer belongs to (deleting them purges it)."""
        path, body = self._body(prompt, params)
        key = self._cache_key(body, params, cache)
        started = self.transport.clock()
        hit = self._lookup(key, params, cache, started)
        if hit is not None:
            return hit
        if self.provider.api_style == "task":
            result = self._run_task(body, started)
        else:
            transport = self.transport
            slot = self._slot_for(origin)
            try:
                request = transport.request("POST", path, {**body, **_slot_fields(slot)}, stream=False)
                result = self._answer(transport.send(request, tokens=estimate_tokens(body)), started)
            finally:
                if slot is not None:
                    self._release(slot)
        if key and stores(cache, params):
            self._store(key, result, origin)
        return result

    def stream(
        self, prompt: Prompt, params: GenerationParams, *, cache: CacheMode = "auto", origin: CacheOrigin | None = None,
        stop: RequestStop | None = None,
    ) -> CompletionStream:
        """Send the request now (so HTTP errors raise here) and return the stream of deltas
        (`cache` and `origin` as for generate). `stop` set from another thread ends the request,
        even while it is being sent or its provider is silent (LLMStoppedError or a broken stream).

        A cache hit (or a task-style provider) gives a stream that delivers the whole text at
        once; `stream.cache_hit` tells which.
        """
        path, body = self._body(prompt, params)
        key = self._cache_key(body, params, cache)
        started = self.transport.clock()
        hit = self._lookup(key, params, cache, started)
        if hit is not None:
            return CompletionStream.replaying(hit)
        store = (lambda result: self._store(key, result, origin)) if key and stores(cache, params) else None
        stop = stop or RequestStop()
        if self.provider.api_style == "task":
            with stop.scope():
                result = self._run_task(body, started)
            if store:
                store(result)
            return CompletionStream.replaying(result)
        slot = self._slot_for(origin)
        stream_body = {**body, **_slot_fields(slot), "stream": True, "stream_options": {"include_usage": True}}
        return CompletionStream.open(
            self.transport, self.transport.request("POST", path, stream_body, stream=True),
            tokens=estimate_tokens(body), idle_timeout_s=self.stream_idle_timeout,
            deadline_s=self.stream_deadline, started=started, on_result=store, stop=stop,
            on_end=None if slot is None else lambda: self._release(slot),
        )

    # -- prompt cache: a session's requests to its llama.cpp slot (core.llm.slots) --------------

    def _slot_for(self, origin: CacheOrigin | None) -> int | None:
        if self.slots is None or origin is None or origin.session_id is None:
            return None
        return self.slots.acquire(origin.session_id)

    def _release(self, slot: int) -> None:
        if self.slots is not None:
            self.slots.release(slot)

    # -- request -----------------------------------------------------------------------------

    def _body(self, prompt: Prompt, params: GenerationParams) -> tuple[str, dict[str, Any]]:
        params.validate()
        check_prompt(prompt)
        style = self.provider.api_style
        body: dict[str, Any]
        if style == "chat" or (style == "task" and not isinstance(prompt, str)):
            path, body = "/chat/completions", {"messages": _messages(prompt)}
        elif isinstance(prompt, str):
            path, body = "/completions", {"prompt": prompt}
        else:
            raise InvalidInputError(
                "This provider uses the completions style: give it one text prompt, not chat messages."
            )
        body = {"model": self.provider.model, **body, **_sampling(params, self.provider.extra_body)}
        if self._says_do_not_store:
            body["store"] = False  # the provider's "do not store" flag; others reject unknown fields
        return path, body

    def _run_task(self, body: dict[str, Any], started: float) -> GenerationResult:
        return run_task(self.transport, body, started=started, poll_interval_s=self.task_poll_interval,
                        deadline_s=self.task_deadline)

    # -- cache -------------------------------------------------------------------------------

    def _cache_key(self, body: dict[str, Any], params: GenerationParams, mode: CacheMode) -> str | None:
        if mode not in CACHE_MODES:
            raise InvalidInputError(Message(N_('The cache mode must be one of {value} (got {mode!r}).'), value=', '.join(CACHE_MODES), mode=mode))
        if self.cache is None or not (reads(mode, params) or stores(mode, params)):
            return None
        return cache_key(self.provider, body)

    def _lookup(
        self, key: str | None, params: GenerationParams, mode: CacheMode, started: float
    ) -> GenerationResult | None:
        if key is None or self.cache is None or not reads(mode, params):
            return None
        hit = self.cache.get(key)
        return replace(hit, latency_s=self.transport.clock() - started) if hit is not None else None

    def _store(self, key: str, result: GenerationResult, origin: CacheOrigin | None) -> None:
        if self.cache is not None:
            self.cache.put(key, result, origin)

    # -- answer ------------------------------------------------------------------------------

    def _answer(self, response: httpx.Response, started: float) -> GenerationResult:
        data = self.transport.json_body(response)
        try:
            choice = first_choice(data)
            text = choice_text(choice, chat=self.provider.api_style == "chat", streaming=False) if choice is not None else ""
        except UnreadableAnswer as err:
            raise LLMResponseError(str(err)) from err
        if choice is None:
            raise LLMResponseError("The provider's answer has no choices.")
        return GenerationResult(
            id=str(data.get("id") or ""),
            text=text,
            finish_reason=str(choice.get("finish_reason") or ""),
            usage=Usage.from_json(data.get("usage")) or Usage(),
            model=model_of(data) or self.provider.model,
            latency_s=self.transport.clock() - started,
        )


def _messages(prompt: Prompt) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": message.role, "content": message.content} for message in prompt]


def _sampling(params: GenerationParams, extra: dict[str, Any]) -> dict[str, Any]:
    """The request's sampling fields over the provider's `extra` ones; stop sequences of both."""
    body: dict[str, Any] = {
        **{name: value for name, value in extra.items() if name != "stop"},
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "frequency_penalty": params.frequency_penalty,
        "presence_penalty": params.presence_penalty,
    }
    stop = list(params.stop) + [s for s in extra.get("stop", ()) if s not in params.stop]
    if stop:
        body["stop"] = stop
    if params.seed is not None:
        body["seed"] = params.seed
    return body


def _slot_fields(slot: int | None) -> dict[str, Any]:
    return {} if slot is None else {"id_slot": slot, "cache_prompt": True}


NO_STORE_HOSTS = ("api.openai.com",)


def _keeps_requests_by_default(base_url: str) -> bool:
    """Providers that store requests unless told not to (OpenAI's `store`)."""
    return httpx.URL(base_url).host in NO_STORE_HOSTS
