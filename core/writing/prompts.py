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
    """The most recent exchanges that fit the budget together with the new instruction, cut at
    a stable place.

    Where the kept exchanges begin moves forward only in steps of about half the budget (the
    anchors: a fixed partition of the history), so turn after turn the prompt starts the same
    and a provider's prompt cache (llama.cpp's) reads only what is new. Each move drops a whole
    step of old turns at once, so the prompt then carries about half the budget or more; when
    no anchor fits (one long exchange), the most recent exchanges that fit are kept.
    """
    remaining = budget_tokens - estimate_tokens(new_instruction)
    costs = [estimate_tokens(e.instruction) + estimate_tokens(e.text) + 4 for e in history]
    suffix = sum(costs)
    for start in _anchors(costs, step=max(1, budget_tokens // 2)):
        if start >= len(history):
            break
        if suffix - sum(costs[:start]) <= remaining:
            return list(history[start:])
    kept = 0
    for cost in reversed(costs):
        if cost > remaining:
            break
        remaining -= cost
        kept += 1
    return list(history[len(history) - kept:])


def _anchors(costs: Sequence[int], *, step: int) -> list[int]:
    """Where a kept history may begin: 0, then after each run of exchanges costing `step` or more."""
    anchors, run = [0], 0
    for index, cost in enumerate(costs):
        run += cost
        if run >= step:
            anchors.append(index + 1)
            run = 0
    return anchors


@dataclass(frozen=True)
class Labels:
    """The words of a continuation prompt around one exchange: {ask}{instruction}{answer}{text}."""

    ask: str
    answer: str


# No label ends in a space: the text a model writes after "Answer:\n" tokenizes the same way when it
# is part of the next turn's prompt, so llama.cpp's prompt cache still holds it (a trailing space
# joins the text's first word into another token, and everything after it is read again).
# A task and its answer, as in a document (bench.embedded_quality: fewer loops and echoes from
# Gemma 3 270M than "Instruction: ... Text: "); core.llm.local stops the embedded model at these labels.
ENGLISH_LABELS = Labels("Task: ", "\n\nAnswer:\n")
CHINESE_LABELS = Labels("题目：", "\n\n正文：\n")
BLOCK_SEPARATOR = "\n\n"


def labels_for(instruction: str) -> Labels:
    return CHINESE_LABELS if _CJK_PATTERN.search(instruction) else ENGLISH_LABELS


def render_completion_prompt(history: Sequence[Exchange], instruction: str, kind: str = TurnKind.INSTRUCTION) -> str:
    """A continuation-style prompt for base models.

    An instruction ends with an open text label; "continue" ends with the previous text itself,
    so the model simply carries on writing it. Each exchange keeps the labels of its own
    instruction's language, so an earlier turn reads the same in every later prompt: the prompt
    of turn n + 1 starts with the prompt of turn n and its answer (a stable prefix, which a
    provider's prompt cache reads once) unless trim_history dropped turns from the front.
    """
    blocks: list[str] = []
    for exchange in history:
        if exchange.kind == TurnKind.CONTINUE and blocks:
            blocks[-1] += exchange.text
        else:
            labels = labels_for(exchange.instruction)
            blocks.append(f"{labels.ask}{exchange.instruction}{labels.answer}{exchange.text}")
    if kind == TurnKind.CONTINUE:
        return BLOCK_SEPARATOR.join(blocks)
    labels = labels_for(instruction)
    blocks.append(f"{labels.ask}{instruction}{labels.answer}")
    return BLOCK_SEPARATOR.join(blocks)


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
