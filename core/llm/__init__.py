"""The API core: talk to OpenAI-compatible and task-style providers (the embedded model lives in
core.llm.local). One call goes: response cache -> rate limit -> HTTP -> retries.

    client.py     LLMClient, CompletionStream        retry.py     RetryPolicy, should_retry
    ratelimit.py  provider and per-user limits       cache.py     ResponseCache and its stores
    batch.py      run_batch (up to 32 at once)       task.py      submit-then-poll providers
    registry.py   registered providers, keys         factory.py   build_client from the settings
"""

from core.llm.client import CompletionStream, LLMClient
from core.llm.factory import build_client
from core.llm.providers import provider_from_settings, validate_base_url
from core.llm.ratelimit import check_user_rate
from core.llm.retry import NO_RETRIES, RetryPolicy
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
    "Usage",
    "build_client",
    "check_user_rate",
    "provider_from_settings",
    "validate_base_url",
]
