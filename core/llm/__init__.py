"""The API core: talk to OpenAI-compatible and task-style providers (the embedded model lives in
core.llm.local). One call goes: response cache -> rate limit -> HTTP -> retries.

    client.py     LLMClient: request bodies, cache, whole answers
    transport.py  Transport: send within the rate limit, retry, errors, JSON, the key redacted
    stream.py     CompletionStream: SSE text, idle timeout, deadline, incomplete streams, abort
    task.py       submit-then-poll providers           choices.py   reading an answer's choices
    retry.py      RetryPolicy, Failure, should_retry   sse.py       server-sent events
    ratelimit.py  provider and per-user limits         cache.py     ResponseCache and its stores
    batch.py      run_batch (up to 32 at once)         registry.py  registered providers, keys
    factory.py    build_client from the settings       providers.py checked provider settings
    stopping.py   RequestStop: a Stop from another thread ends a request, even one waiting on a silent provider

Imports go one way (no cycle): client -> stream, task -> transport -> retry, ratelimit.
"""

from core.llm.client import LLMClient
from core.llm.factory import build_client
from core.llm.providers import provider_from_settings, validate_base_url
from core.llm.ratelimit import check_user_rate
from core.llm.retry import NO_RETRIES, RetryPolicy
from core.llm.stream import CompletionStream
from core.llm.transport import Transport
from core.llm.types import PRESETS, ChatMessage, GenerationParams, GenerationResult, ProviderConfig, Usage

__all__ = [
    "ChatMessage",
    "CompletionStream",
    "GenerationParams",
    "GenerationResult",
    "LLMClient",
    "NO_RETRIES",
    "PRESETS",
    "ProviderConfig",
    "RetryPolicy",
    "Transport",
    "Usage",
    "build_client",
    "check_user_rate",
    "provider_from_settings",
    "validate_base_url",
]
