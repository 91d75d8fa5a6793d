"""Turn a session's history into what a model reads: a continuation prompt or chat messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.llm.types import ChatMessage

_TOKEN_PATTERN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]|\w+|[^\w\s]")
_CJK_PATTERN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")



class TurnKind(StrEnum):
    """What a turn asks for (stored in Turn.kind)."""

    INSTRUCTION = "instruction"  # the writer's instruction
    CONTINUE = "continue"  # carry on with the previous text


@dataclass(frozen=True)
class Exchange:
    instruction: str
    text: str
    kind: str = TurnKind.INSTRUCTION


def estimate_tokens(text: str) -> int:
    """A cheap upper-side estimate: one token per CJK character, word or punctuation mark."""
    return len(_TOKEN_PATTERN.findall(text))


def trim_history(history: Sequence[Exchange], new_instruction: str, budget_tokens: int) -> list[Exchange]:
    """Keep the most recent exchanges that fit the budget together with the new instruction."""
    remaining = budget_tokens - estimate_tokens(new_instruction)
    kept: list[Exchange] = []
    for exchange in reversed(history):
        cost = estimate_tokens(exchange.instruction) + estimate_tokens(exchange.text) + 4
        if cost > remaining:
            break
        kept.append(exchange)
        remaining -= cost
    return kept[::-1]


def _labels(sample: str) -> tuple[str, str]:
    if _CJK_PATTERN.search(sample):
        return "指令：", "回答："
    return "Instruction: ", "Text: "


def render_completion_prompt(history: Sequence[Exchange], instruction: str, kind: str = TurnKind.INSTRUCTION) -> str:
    """A continuation-style prompt for base models.

    An instruction ends with an open text label; "continue" ends with the previous text itself,
    so the model simply carries on writing it.
    """
    ask, answer = _labels(instruction or "".join(e.instruction for e in history))
    blocks: list[str] = []
    for exchange in history:
        if exchange.kind == TurnKind.CONTINUE and blocks:
            blocks[-1] += exchange.text
        else:
            blocks.append(f"{ask}{exchange.instruction}\n{answer}{exchange.text}")
    if kind == TurnKind.CONTINUE:
        return "\n\n".join(blocks)
    blocks.append(f"{ask}{instruction}\n{answer}")
    return "\n\n".join(blocks)


def render_chat_messages(
    history: Sequence[Exchange], instruction: str, kind: str = TurnKind.INSTRUCTION
) -> list[ChatMessage]:
    messages = [ChatMessage("system", "You are a careful writing assistant. Answer with the requested text only.")]
    for exchange in history:
        messages.append(ChatMessage("user", exchange.instruction))
        messages.append(ChatMessage("assistant", exchange.text))
    if kind == TurnKind.CONTINUE:
        messages.append(ChatMessage("user", "Continue the previous text from where it stops, without repeating it."))
    else:
        messages.append(ChatMessage("user", instruction))
    return messages
