"""Batches: many requests to one provider at once, each with its own result or error.

At most `concurrency` requests (up to MAX_BATCH_CONCURRENCY) are in flight together, on threads
sharing the client's connection pool, whose keep-alive connections are reused (the pool keeps
HTTP_POOL_CONNECTIONS alive: httpcore opens a new connection per request once more are in
flight than it may keep alive). The client's rate limit, retries and cache apply to each request;
one failing does not stop the others. `should_stop` is asked before each request starts: once
it says yes, the requests not yet started come back as cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from core.constants import MAX_BATCH_CONCURRENCY
from core.errors import DraftgateError, InvalidInputError
from core.llm.cache import CacheMode, CacheOrigin
from core.llm.client import LLMClient, Prompt
from core.llm.types import GenerationParams, GenerationResult


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
) -> list[BatchOutcome]:
    """Run every request; return their outcomes in the order of `requests`.

    `on_outcome` is called (on a worker thread) as each request ends, e.g. to save its draft.
    """
    if not 1 <= concurrency <= MAX_BATCH_CONCURRENCY:
        raise InvalidInputError(f"A batch runs 1 to {MAX_BATCH_CONCURRENCY} requests at once (got {concurrency}).")
    if not requests:
        return []

    def run_one(index: int, request: BatchRequest) -> BatchOutcome:
        if should_stop is not None and should_stop():
            outcome = BatchOutcome(index, cancelled=True)
        else:
            try:
                result = client.generate(request.prompt, request.params, cache=request.cache, origin=request.origin)
                outcome = BatchOutcome(index, result=result)
            except DraftgateError as err:
                outcome = BatchOutcome(index, error=err)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    workers = min(concurrency, len(requests))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="draftgate-batch") as pool:
        futures = [pool.submit(run_one, index, request) for index, request in enumerate(requests)]
        return [future.result() for future in futures]
