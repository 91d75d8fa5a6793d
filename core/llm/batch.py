"""Batches: many requests to one provider at once, each with its own result or error.

At most `concurrency` requests (up to MAX_BATCH_CONCURRENCY) are in flight together, on threads
sharing the client's connection pool, whose keep-alive connections are reused (the pool keeps
HTTP_POOL_CONNECTIONS alive: httpcore opens a new connection per request once more are in
flight than it may keep alive). The client's rate limit, retries and cache apply to each request;
one failing does not stop the others.

Stopping: `should_stop` is asked before each request starts; once it says yes, the requests not
yet started come back as cancelled. With `stream=True` each answer is read as a stream
(`on_text(index, text_so_far)` sees it grow) and a stop also ends the requests in flight:

    watcher thread: should_stop() every STOP_POLL_S --yes--> abort every stream in flight
                    (its connection is shut: a read waiting on it returns at once)
    outcome of an aborted request: cancelled, in_flight, partial_text = what had arrived
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from core.llm.cache import CacheMode, CacheOrigin
from core.llm.client import LLMClient, Prompt
from core.llm.stopping import RequestStop
from core.llm.types import GenerationParams, GenerationResult
from core.platform.constants import MAX_BATCH_CONCURRENCY
from core.platform.errors import DraftgateError, InvalidInputError
from core.platform.i18n import N_, Message

STOP_POLL_S = 0.25  # how often a streaming batch asks should_stop while requests are in flight


@dataclass(frozen=True)
class BatchRequest:
    prompt: Prompt
    params: GenerationParams
    cache: CacheMode = "auto"
    origin: CacheOrigin | None = None  # the session and draft a cached answer belongs to


@dataclass(frozen=True)
class BatchOutcome:
    index: int
    result: GenerationResult | None = None
    error: DraftgateError | None = None
    cancelled: bool = False
    in_flight: bool = False  # cancelled while its answer was arriving (stream=True)
    partial_text: str = ""  # what had arrived of an answer cancelled in flight

    @property
    def ok(self) -> bool:
        return self.result is not None


def run_batch(
    client: LLMClient,
    requests: Sequence[BatchRequest],
    *,
    concurrency: int = MAX_BATCH_CONCURRENCY,
    should_stop: Callable[[], bool] | None = None,
    on_outcome: Callable[[BatchOutcome], None] | None = None,
    stream: bool = False,
    on_text: Callable[[int, str], None] | None = None,
    stop_poll_s: float = STOP_POLL_S,
) -> list[BatchOutcome]:
    """Run every request; return their outcomes in the order of `requests`.

    `on_outcome` is called (on a worker thread) as each request ends, e.g. to save its draft;
    `on_text` (with `stream=True`) as each piece of an answer arrives.
    """
    if not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
        raise InvalidInputError(Message(N_('A batch runs 1 to {max_batch_concurrency} requests at once (got {concurrency}).'), max_batch_concurrency=MAX_BATCH_CONCURRENCY, concurrency=concurrency))
    if not requests:
        return []
    stopper = _Stopper(should_stop)

    def run_one(index: int, request: BatchRequest) -> BatchOutcome:
        if stopper.asked():
            outcome = BatchOutcome(index, cancelled=True)
        elif stream:
            outcome = _read_stream(client, index, request, stopper, on_text)
        else:
            try:
                result = client.generate(request.prompt, request.params, cache=request.cache, origin=request.origin)
                outcome = BatchOutcome(index, result=result)
            except DraftgateError as err:
                outcome = BatchOutcome(index, error=err)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    done = threading.Event()
    if stream and should_stop is not None:
        threading.Thread(target=stopper.watch, args=(done, stop_poll_s), name="draftgate-batch-stop", daemon=True).start()
    try:
        workers = min(concurrency, len(requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="draftgate-batch") as pool:
            futures = [pool.submit(run_one, index, request) for index, request in enumerate(requests)]
            return [future.result() for future in futures]
    finally:
        done.set()


def _read_stream(
    client: LLMClient, index: int, request: BatchRequest, stopper: _Stopper,
    on_text: Callable[[int, str], None] | None,
) -> BatchOutcome:
    request_stop = RequestStop()
    with stopper.tracking(request_stop.set):  # a stop reaches the request while it is sent, too
        try:
            answer = client.stream(request.prompt, request.params, cache=request.cache, origin=request.origin,
                                   stop=request_stop)
        except DraftgateError as err:
            if stopper.stopped.is_set():
                return BatchOutcome(index, cancelled=True, in_flight=True)
            return BatchOutcome(index, error=err)
        with answer, stopper.tracking(answer.abort):
            try:
                for _ in answer:
                    if stopper.stopped.is_set():
                        break
                    if on_text is not None:
                        on_text(index, answer.text)
            except DraftgateError as err:
                if not stopper.stopped.is_set():
                    return BatchOutcome(index, error=err)
    if answer.result is not None and not answer.aborted:
        return BatchOutcome(index, result=answer.result)
    return BatchOutcome(index, cancelled=True, in_flight=True, partial_text=answer.text)


class _Stopper:
    """Asks should_stop; once it said yes, every stream in flight is aborted, and so is any
    stream that starts being tracked later."""

    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self._should_stop = should_stop
        self.stopped = threading.Event()
        self._aborts: set[Callable[[], None]] = set()  # of the requests in flight
        self._lock = threading.Lock()

    def asked(self) -> bool:
        """Has a stop been asked for? (Asks should_stop now, unless it said yes already.)"""
        if not self.stopped.is_set() and self._should_stop is not None and self._should_stop():
            self._stop()
        return self.stopped.is_set()

    def watch(self, done: threading.Event, poll_s: float) -> None:
        while not done.wait(poll_s):
            if self.asked():
                return

    @contextmanager
    def tracking(self, abort: Callable[[], None]) -> Iterator[None]:
        """While the block runs, a stop calls `abort` (at once if stopped already)."""
        with self._lock:
            self._aborts.add(abort)
            stopped = self.stopped.is_set()
        if stopped:
            abort()
        try:
            yield
        finally:
            with self._lock:
                self._aborts.discard(abort)

    def _stop(self) -> None:
        with self._lock:
            self.stopped.set()
            aborts = list(self._aborts)
        for abort in aborts:
            abort()
