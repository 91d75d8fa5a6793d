"""The parts of an OpenAI-compatible answer: its first choice, the choice's text, the model.

Read alike from a whole answer (core.llm.client) and from each chunk of a stream
(core.llm.stream). What cannot be read raises UnreadableAnswer, which is no user-facing error:
the caller builds the LLMResponseError it raises from it, with the context it knows (the text a
stream had delivered).

    completions   {"choices": [{"text": "...", "finish_reason": ...}], "model": ..., "usage": ...}
    chat          {"choices": [{"message": {"content": "..."}}]}     a whole answer
                  {"choices": [{"delta": {"content": "..."}}]}       a stream chunk
"""

from __future__ import annotations

from typing import Any

from core.platform.i18n import N_

REASONING_FIELDS = ("reasoning_content", "reasoning")  # deltas of reasoning models before the answer


class UnreadableAnswer(ValueError):
    """The answer's shape is not one these readers know; str(err) says what, for the user."""


def first_choice(data: dict[str, Any]) -> dict[str, Any] | None:
    """The first choice, or None when there are none (e.g. a usage-only chunk)."""
    choices = data.get("choices")
    if not choices:
        return None
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise UnreadableAnswer(N_("The provider's answer has choices that cannot be read."))
    return choices[0]


def choice_text(choice: dict[str, Any], *, chat: bool, streaming: bool) -> str:
    """The choice's text ("" when it holds none)."""
    if chat:
        part = choice.get("delta" if streaming else "message")
        text = part.get("content") if isinstance(part, dict) else None
    else:
        text = choice.get("text")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise UnreadableAnswer(N_("The provider's answer holds text that is not a string."))
    return text


def is_reasoning(choice: dict[str, Any]) -> bool:
    """Does this stream chunk carry a reasoning model's thoughts (no part of the answer)?"""
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return False
    return any(isinstance(delta.get(name), str) and delta[name] for name in REASONING_FIELDS)


def model_of(data: dict[str, Any]) -> str:
    """The model the provider says answered, or ""."""
    model = data.get("model")
    return model if isinstance(model, str) else ""
