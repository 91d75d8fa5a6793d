"""Typed values of the API core: provider, parameters, messages, results."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TypeGuard

from core.platform import constants
from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.platform.text import check_text, storable

# "task": submit, then poll {base_url}/tasks/{id} until done (see core.llm.task)
ApiStyle = Literal["completions", "chat", "task"]
API_STYLES: tuple[ApiStyle, ...] = ("completions", "chat", "task")


def is_api_style(value: str) -> TypeGuard[ApiStyle]:
    return value in API_STYLES


ChatRole = Literal["system", "user", "assistant"]
CHAT_ROLES: tuple[ChatRole, ...] = ("system", "user", "assistant")


def is_chat_role(value: str) -> TypeGuard[ChatRole]:
    return value in CHAT_ROLES


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str  # up to and including /v1, e.g. https://api.openai.com/v1
    model: str
    api_style: ApiStyle = "chat"
    api_key: str = field(default="", repr=False)
    qps_limit: float = 0.0  # requests per second sent to this provider; 0: no limit
    tpm_limit: int = 0  # estimated tokens per minute; 0: no limit
    # fields every request body carries under its own (a server's own sampling controls, such as
    # llama.cpp's repeat_penalty or DRY; "stop" is added to the request's stop sequences)
    extra_body: dict[str, Any] = field(default_factory=dict, hash=False)
    slots: int = 0  # llama.cpp slots: a session's requests go to one slot (id_slot) to reuse its prompt cache

    def __repr__(self) -> str:  # never show the key
        return (
            f"ProviderConfig(name={self.name!r}, base_url={self.base_url!r}, "
            f"model={self.model!r}, api_style={self.api_style!r})"
        )


@dataclass(frozen=True)
class ChatMessage:
    role: ChatRole
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

    def validate(self) -> GenerationParams:
        """Return self, or raise InvalidInputError naming the first bad parameter."""
        _check_range("temperature", self.temperature, 0.0, 2.0)
        _check_range("top_p", self.top_p, 0.0, 1.0)
        _check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        _check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int):
            raise InvalidInputError("max_tokens must be a whole number.")
        if not 1 <= self.max_tokens <= constants.MAX_TOKENS_LIMIT:
            raise InvalidInputError(
                Message(N_('max_tokens must be between 1 and {max_tokens_limit} (got {max_tokens}).'), max_tokens_limit=constants.MAX_TOKENS_LIMIT, max_tokens=self.max_tokens)
            )
        if len(self.stop) > 4 or any(not isinstance(s, str) or not s for s in self.stop):
            raise InvalidInputError("stop takes at most 4 non-empty strings.")
        for sequence in self.stop:
            check_text(sequence, what="A stop sequence", max_chars=constants.STOP_SEQUENCE_MAX_CHARS)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise InvalidInputError("seed must be a whole number or empty.")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}  # (asdict copies deeply: slower)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationParams:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "stop" in known:
            stop = known["stop"] or ()
            if isinstance(stop, str) or not isinstance(stop, (list, tuple)):
                raise InvalidInputError("stop must be a list of strings.")
            known["stop"] = tuple(stop)
        return cls(**known)

    def with_changes(self, **changes: Any) -> GenerationParams:
        return replace(self, **changes)


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidInputError(Message(N_('{name} must be a number between {low:g} and {high:g}.'), name=name, low=low, high=high))
    if not low <= value <= high:
        raise InvalidInputError(Message(N_('{name} must be between {low:g} and {high:g} (got {value:g}).'), name=name, low=low, high=high, value=value))


PRESETS: dict[str, GenerationParams] = {
    "factual": GenerationParams(temperature=0.2, top_p=0.9, frequency_penalty=0.0),
    "balanced": GenerationParams(),  # the defaults
    "creative": GenerationParams(temperature=1.1, top_p=1.0, frequency_penalty=0.5),
}


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_json(cls, raw: object) -> Usage | None:
        """The usage of a provider's JSON (counts that are not whole numbers >= 0 read as 0)."""
        if not isinstance(raw, dict):
            return None

        def count(key: str) -> int:
            value = raw.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

        prompt, completion = count("prompt_tokens"), count("completion_tokens")
        total = count("total_tokens") or prompt + completion
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


# A draft's finish reason as a person reads it (OpenAI's values); any other is shown as the provider gave it.
FINISH_REASONS = {
    "stop": N_("the model finished"), "length": N_("cut off at the max tokens limit"),
    "content_filter": N_("stopped by the provider's content filter"), "tool_calls": N_("the model asked for a tool"),
    "function_call": N_("the model asked for a tool"),
}


@dataclass(frozen=True)
class GenerationResult:
    """A whole answer. Its text fields are made storable when it is made (core.platform.text.storable):
    whatever a provider or a cache entry held, no NUL or lone surrogate gets past here."""

    id: str
    text: str
    finish_reason: str  # "stop", "length", ... or "" when the provider gave none
    usage: Usage
    model: str
    latency_s: float
    cached: bool = False  # True: answered from the response cache, the provider was not called

    def __post_init__(self) -> None:
        for name in ("id", "text", "finish_reason", "model"):
            object.__setattr__(self, name, storable(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationResult:
        return cls(**{**data, "usage": Usage(**data["usage"])})
