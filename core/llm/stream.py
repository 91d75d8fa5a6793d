"""CompletionStream: the text of one answer as it arrives, read from a provider's event stream.

A stream is whole only when the provider says so:

    text ... finish_reason ... [DONE]   complete (either sign alone will do)
    text ... end of body                incomplete: LLMIncompleteError(partial_text), never cached
    no text for the idle timeout        cut off: LLMTimeoutError (keep-alives and chunks without
                                        text are no progress; a reasoning model's thoughts are)
    not finished by the deadline        cut off: LLMTimeoutError, counted from the request

A connection that fails before any text arrived is opened again, within the request's retries
(core.llm.retry) and the deadline; one that fails after the first text is not (the text would
start over). Each error is built once where the stream gives up: after text it reads "The stream
broke after N characters: ..." and carries the text as `err.partial_text`.

Text is made storable on the way in (core.platform.text.storable): a surrogate pair split across
two chunks is joined, NUL and lone surrogates become U+FFFD.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Self

import httpx

import core.llm.stopping as stopping
from core.llm.choices import UnreadableAnswer, choice_text, first_choice, is_reasoning, model_of
from core.llm.retry import Attempts, Failure
from core.llm.sse import ServerSentEvent, SSEDecoder
from core.llm.transport import Transport
from core.llm.types import GenerationResult, Usage
from core.platform.errors import LLMError, LLMIncompleteError, LLMResponseError, LLMTimeoutError
from core.platform.i18n import N_, Message
from core.platform.text import storable


@dataclass(frozen=True)
class _Connection:
    """What a live stream reads from, and how it is opened again."""

    transport: Transport
    request: httpx.Request
    attempts: Attempts
    tokens: int  # the request's estimated cost, for the rate limit
    idle_timeout_s: float
    deadline_s: float

    @property
    def chat(self) -> bool:
        return self.transport.provider.api_style == "chat"

    def open(self) -> httpx.Response:
        return self.transport.open_stream(self.request, attempts=self.attempts, tokens=self.tokens,
                                          idle_timeout_s=self.idle_timeout_s)


MID_STREAM_ERROR = N_("The provider reported an error mid-stream: {words}")


class _TryFailed(Exception):
    """This connection failed (it may be opened again): carries the failure out of the reading."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class CompletionStream:
    """Iterate for the text deltas; once exhausted, `.result` holds the whole GenerationResult.

    `.text` is the text so far at any moment (storable); `.cache_hit` tells a replayed cache
    entry. The response is closed when the stream ends, fails, or `close()` is called. `abort()`
    (from any thread) ends a stream at once, even one waiting on a silent provider.
    Made by `open` (a live stream) or `replaying` (a finished answer).
    """

    def __init__(
        self,
        source: _Connection | GenerationResult,
        *,
        started: float = 0.0,
        on_result: Callable[[GenerationResult], None] | None = None,
        stop: stopping.RequestStop | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        """`source`: the connection to read (opened now, within `stop`'s scope: a Stop from another
        thread ends the opening too), or a finished answer to replay; `on_end` is called once when
        the stream ends (read to its end, failed or closed)."""
        self._stop = stop or stopping.RequestStop()
        self._started = started
        self._on_result = on_result
        self._on_end = on_end
        self.cache_hit = isinstance(source, GenerationResult) and source.cached
        self.text = ""
        self.result: GenerationResult | None = None
        self._id = ""
        self._finish_reason = ""
        self._done = False  # [DONE] arrived
        self._held = ""  # a high surrogate that ended the last delta, waiting for its low half
        self._usage = Usage()
        self._last_text_at = started
        self._response: httpx.Response | None = None
        self._deltas: Generator[str, None, None]
        if isinstance(source, GenerationResult):
            self._model = source.model
            self._clock: Callable[[], float] = time.monotonic  # never read: nothing arrives
            self._deltas = self._replay(source)
        else:
            self._model = source.transport.provider.model
            self._clock = source.transport.clock
            with self._stop.scope():
                self._response = source.open()
            self._deltas = self._iter_deltas(source)

    @classmethod
    def open(
        cls,
        transport: Transport,
        request: httpx.Request,
        *,
        tokens: int,
        idle_timeout_s: float,
        deadline_s: float,
        started: float,
        on_result: Callable[[GenerationResult], None] | None = None,
        stop: stopping.RequestStop | None = None,
        on_end: Callable[[], None] | None = None,
    ) -> CompletionStream:
        """Send `request` now, within the rate limit and the retries (so HTTP errors raise here),
        and return the stream of its deltas; `on_result` gets the whole answer once it is complete,
        `on_end` is called once the stream ends (also when opening it fails).
        `stop` set from another thread (or `abort()`) ends it, even while it is being opened."""
        connection = _Connection(transport, request, transport.attempts(), tokens, idle_timeout_s, deadline_s)
        try:
            return cls(connection, started=started, on_result=on_result, stop=stop, on_end=on_end)
        except BaseException:
            if on_end is not None:
                on_end()
            raise

    @classmethod
    def replaying(cls, result: GenerationResult) -> CompletionStream:
        """A stream that delivers a finished answer (a cache hit, a task's result) in one piece."""
        return cls(result)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        with self._stop.scope():
            return next(self._deltas)

    @property
    def aborted(self) -> bool:
        return self._stop.is_set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._deltas.close()
        self._close_response()
        self._end()

    def _end(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    def abort(self) -> None:
        """Stop the stream from another thread: its connection is shut down, so that a read
        waiting on it fails at once (and is not retried); the reader still calls close()."""
        self._stop.set()
        if self._response is not None:  # a client handed in by the caller is not watched (core.llm.stopping)
            stopping.shut_down(self._response.extensions.get("network_stream"))

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()

    def _replay(self, replayed: GenerationResult) -> Generator[str, None, None]:
        if replayed.text:
            self.text = replayed.text
            yield self.text
        self.result = replayed

    # -- a live stream ------------------------------------------------------------------------

    def _iter_deltas(self, connection: _Connection) -> Generator[str, None, None]:
        try:
            while True:
                try:
                    yield from self._read_events(connection)
                    break
                except _TryFailed as failed:
                    failure = failed.failure
                self._open_again(connection, failure)
            self.result = GenerationResult(
                id=self._id,
                text=self.text,
                finish_reason=self._finish_reason,
                usage=self._usage,
                model=self._model,
                latency_s=self._clock() - self._started,
            )
        finally:
            self._close_response()
            self._end()
        if self._on_result is not None:
            self._on_result(self.result)

    def _open_again(self, connection: _Connection, failure: Failure) -> None:
        """Open the connection again after `failure`, if no text has arrived and the retries and
        the deadline allow it; otherwise raise the failure's error."""
        attempts = connection.attempts
        if self.text or self.aborted:
            raise failure.error(attempts=attempts.made, partial_text=self.text) from failure.cause
        wait = attempts.wait_after(failure)
        if wait is None:
            raise attempts.error(failure) from failure.cause
        if self._past_deadline(connection, self._clock() + wait):
            raise failure.error(attempts=attempts.made) from failure.cause
        self._close_response()
        connection.transport.wait(wait)
        connection.transport.check_stopped(attempts)
        self._response = connection.open()

    def _read_events(self, connection: _Connection) -> Iterator[str]:
        assert self._response is not None  # opened before any reading
        seen_event = False
        self._last_text_at = self._clock()
        try:
            lines = self._watched(connection, self._response.iter_lines())
            for event in SSEDecoder().iter_events(lines):
                seen_event = True
                if event.is_done:
                    self._done = True
                    break
                delta = self._storable(self._absorb(connection, self._chunk(connection, event)))
                if delta:
                    self.text += delta
                    yield delta
        except httpx.ReadTimeout as err:  # the body's read timeout is the idle timeout
            raise _TryFailed(Failure(LLMTimeoutError, self._idle_message(connection), cause=err)) from None
        except httpx.RequestError as err:
            raise _TryFailed(connection.transport.failure_of(err)) from None
        if not seen_event:
            raise self._unreadable(connection, Message(N_("The provider's stream ended without sending any data.")))
        rest, self._held = storable(self._held), ""
        if rest:
            self.text += rest
            yield rest
        if not (self._done or self._finish_reason):
            raise LLMIncompleteError(self._incomplete_message(), partial_text=self.text,
                                     attempts=connection.attempts.made)

    def _unreadable(self, connection: _Connection, message: Message) -> LLMError:
        """The error of a stream that cannot be read on (never retried: asking again would not help)."""
        return Failure(LLMResponseError, message).error(attempts=connection.attempts.made, partial_text=self.text)

    def _incomplete_message(self) -> Message:
        if self.text:
            return Message(N_("The provider's stream ended before the answer was finished: {n:,} characters had "
                              "arrived."), n=len(self.text))
        return Message(N_("The provider's stream ended before the answer was finished: no text had arrived."))

    def _chunk(self, connection: _Connection, event: ServerSentEvent) -> dict[str, Any]:
        transport = connection.transport
        if event.is_error:
            message = transport.provider_message(event.data)
            raise self._unreadable(connection, Message(MID_STREAM_ERROR, words=message))
        try:
            chunk = event.json()
        except ValueError as err:
            raise self._unreadable(connection, Message(N_("The provider sent a stream chunk that is not valid JSON: "
                                                          "{chunk}"), chunk=transport.snippet(event.data))) from err
        if not isinstance(chunk, dict):
            raise self._unreadable(connection, Message(N_("The provider sent a stream chunk that is not a JSON object: "
                                                          "{chunk}"), chunk=transport.snippet(event.data)))
        if chunk.get("error"):
            raise self._unreadable(connection, Message(MID_STREAM_ERROR, words=transport.error_text(chunk)))
        return chunk

    def _absorb(self, connection: _Connection, chunk: dict[str, Any]) -> str:
        """Keep the chunk's id, model, usage and finish reason; return its text. A reasoning
        model's thoughts are no part of the answer, but they are progress for the idle timeout."""
        self._id = self._id or str(chunk.get("id") or "")
        self._model = model_of(chunk) or self._model
        self._usage = Usage.from_json(chunk.get("usage")) or self._usage
        try:
            choice = first_choice(chunk)
            if choice is None:  # e.g. the usage-only chunk after the last choice
                return ""
            self._finish_reason = str(choice.get("finish_reason") or self._finish_reason)
            if is_reasoning(choice):
                self._last_text_at = self._clock()
            return choice_text(choice, chat=connection.chat, streaming=True)
        except UnreadableAnswer as err:
            raise self._unreadable(connection, Message(str(err))) from err  # its text is a msgid

    def _storable(self, delta: str) -> str:
        """`delta` fit to be stored; a high surrogate at its end waits for the next delta, whose
        low surrogate completes it (a JSON escape pair split across two chunks)."""
        if not delta:
            return ""
        self._last_text_at = self._clock()
        delta, self._held = self._held + delta, ""
        if "\ud800" <= delta[-1] <= "\udbff":
            delta, self._held = delta[:-1], delta[-1]
        return storable(delta)

    def _watched(self, connection: _Connection, lines: Iterator[str]) -> Iterator[str]:
        """The lines, cut off by the idle timeout (no text for so long) or the deadline. Checked
        after each line that ends an event (once its text is counted) and each comment."""
        for line in lines:
            yield line
            if not line or line.startswith(":"):
                self._check_time(connection)

    def _check_time(self, connection: _Connection) -> None:
        now = self._clock()
        if self._past_deadline(connection, now):
            raise _TryFailed(Failure(LLMTimeoutError, self._deadline_message(connection)))
        if now - self._last_text_at > connection.idle_timeout_s:
            raise _TryFailed(Failure(LLMTimeoutError, self._idle_message(connection)))

    def _past_deadline(self, connection: _Connection, now: float) -> bool:
        return now - self._started > connection.deadline_s

    def _idle_message(self, connection: _Connection) -> Message:
        return Message(N_("The provider at {url} went silent for {seconds:g} s in the middle of its answer (stream "
                          "idle timeout)."), url=connection.transport.base_url, seconds=connection.idle_timeout_s)

    def _deadline_message(self, connection: _Connection) -> Message:
        return Message(N_("The provider at {url} did not finish its answer within {seconds:g} s (stream deadline)."),
                       url=connection.transport.base_url, seconds=connection.deadline_s)
