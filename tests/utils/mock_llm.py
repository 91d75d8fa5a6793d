"""An OpenAI-compatible provider simulated with httpx.MockTransport (for faults and exact text)."""

from __future__ import annotations

import json

import httpx

from core.llm.client import LLMClient
from core.llm.retry import NO_RETRIES
from core.llm.types import ProviderConfig

PROVIDER = ProviderConfig(name="mock", base_url="https://mock.example/v1", model="mock-1", api_style="completions")


def sse_body(pieces: list[str], *, finish_reason: str = "stop", error_after: int | None = None) -> bytes:
    events = []
    for index, piece in enumerate(pieces):
        if error_after is not None and index == error_after:
            events.append("event: error\ndata: " + json.dumps({"error": {"message": "provider fell over"}}) + "\n\n")
            return "".join(events).encode()
        chunk = {"id": "cmpl-1", "model": "mock-1", "choices": [{"index": 0, "text": piece, "finish_reason": None}]}
        events.append(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    last = {
        "id": "cmpl-1", "model": "mock-1",
        "choices": [{"index": 0, "text": "", "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 7, "completion_tokens": len(pieces), "total_tokens": 7 + len(pieces)},
    }
    events.append(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n")
    return "".join(events).encode()


def mock_client(pieces: list[str], *, status: int = 200, error_after: int | None = None, seen: list | None = None) -> LLMClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(json.loads(request.content))
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "no luck"}})
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=sse_body(pieces, error_after=error_after)
        )

    return LLMClient(PROVIDER, http_client=httpx.Client(transport=httpx.MockTransport(handler)), retry=NO_RETRIES)
