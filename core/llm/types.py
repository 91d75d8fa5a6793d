"""Typed values of the API core: provider, parameters, messages, results."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from core import constants
from core.errors import InvalidInputError

ApiStyle = Literal["completions", "chat"]
API_STYLES: tuple[str, ...] = ("completions", "chat")


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str  # up to and including /v1, e.g. https://api.openai.com/v1
    model: str
    api_style: ApiStyle = "chat"
    api_key: str = field(default="", repr=False)

    def __repr__(self) -> str:  # never show the key
        return (
            f"ProviderConfig(name={self.name!r}, base_url={self.base_url!r}, "
            f"model={self.model!r}, api_style={self.api_style!r})"
        )


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 256
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def validate(self) -> "GenerationParams":
        """Return self, or raise InvalidInputError naming the first bad parameter."""
        _check_range("temperature", self.temperature, 0.0, 2.0)
        _check_range("top_p", self.top_p, 0.0, 1.0)
        _check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int):
            raise InvalidInputError("max_tokens must be a whole number.")
        if not 1 <= self.max_tokens <= constants.MAX_TOKENS_LIMIT:
            raise InvalidInputError(
                f"max_tokens must be between 1 and {constants.MAX_TOKENS_LIMIT} (got {self.max_tokens})."
            )
        if len(self.stop) > 4 or any(not isinstance(s, str) or not s for s in self.stop):
            raise InvalidInputError("stop takes at most 4 non-empty strings.")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InvalidInputError("seed must be a whole number or empty.")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GenerationParams":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "stop" in known:
            known["stop"] = tuple(known["stop"] or ())
        return cls(**known)

    def with_changes(self, **changes: Any) -> "GenerationParams":
        return replace(self, **changes)


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidInputError(f"{name} must be a number between {low:g} and {high:g}.")
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low:g} and {high:g} (got {value:g}).")


PRESETS: dict[str, GenerationParams] = {
    "factual": GenerationParams(temperature=0.2, top_p=0.9, frequency_penalty=0.0),
    "balanced": GenerationParams(temperature=0.7, top_p=0.95, frequency_penalty=0.2),
    "creative": GenerationParams(temperature=1.1, top_p=1.0, frequency_penalty=0.5),
}


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class GenerationResult:
    id: str
    text: str
    finish_reason: str  # "stop", "length", ... or "" when the provider gave none
    usage: Usage
    model: str
    latency_s: float
