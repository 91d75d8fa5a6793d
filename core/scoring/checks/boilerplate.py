"""Answers that are not answers: an echo of the instruction, a stock refusal, assistant filler.

    echo_similarity(draft_tokens, instruction_tokens)  ->  0.0 .. 1.0: the longest common
        token subsequence over the longer of the two; 1.0 when the draft is the instruction
        again, about 0.5 when it is the instruction twice (repetition catches that) or the
        instruction and as much again, near 0 for a real answer that quotes a few of its words
    stock_phrase(text)  ->  ("refusal" | "filler", the phrase as matched) or None

Refusals are looked for at the start of the draft only (its first 200 characters), where a
refusal stands: "I cannot help with that", "抱歉，我无法回答", "申し訳ありませんが", "죄송하지만",
or make up the whole draft ("I cannot.", "Sorry, I can't do that.", "抱歉，我无法。");
an answer that says "I cannot stress enough" or "I can't help but smile" later, or starts
"I cannot recommend this mug enough", is not one. Filler that no answer needs ("As an AI
language model", "作为一个AI", "AIとして", "AI로서", "as of my last knowledge update") is
looked for anywhere. Matching ignores case and is on NFKC-folded text with curly apostrophes
straightened and whitespace runs made one space, so "I’m sorry" and "ＡＩ" match too (the
phrase is returned as so folded).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz.distance import LCSseq

REFUSAL, FILLER = "refusal", "filler"
HEAD_CHARS = 200  # a refusal is looked for in this much of the start of a draft
PHRASES_VERSION = "1"  # raise when the phrase lists change: it is part of the check's signature

_EN_REFUSAL = (
    r"^[\W_]*(?:(?:i'm|i am|we're|we are)\s+(?:so\s+|very\s+|really\s+)?sorry|sorry|i\s+apologi[sz]e"
    r"|unfortunately|i'm\s+afraid|i\s+am\s+afraid)?[,.!]?\s*(?:but\s+)?(?:i|we)\s+"
    r"(?:cannot|can't|can\s+not|won't|will\s+not|am\s+unable\s+to|'m\s+unable\s+to|are\s+unable\s+to"
    r"|am\s+not\s+able\s+to|'m\s+not\s+able\s+to|must\s+decline\s+to|am\s+not\s+allowed\s+to"
    r"|'m\s+not\s+allowed\s+to|do\s+not|don't)\s+"
    r"(?:help(?!\s+but\b)|assist|provide|comply|fulfil|fulfill|create|write|generate|answer|respond|complete"
    r"|do\s+(?:that|this)|engage|produce|support|continue|share|give|offer|discuss)\b"
)
_ZH_REFUSAL = (
    r"^[\W_]*(?:(?:很|非常|十分|真的)?(?:抱歉|对不起|不好意思)[,!。 ]*(?:但是?[, ]*)?)?"
    r"(?:我|作为)(?:目前|暂时)?(?:无法|不能|没办法|没有办法|不可以|不便)"
    r"(?:为你|为您|帮你|帮您|帮助|提供|回答|完成|满足|生成|创作|写|处理|协助|继续|回复|参与|讨论)"
)
_JA_REFUSAL = r"^[\W_]*(?:申し訳(?:ありません|ございません)|すみません)|(?:お答え|お手伝い|対応|回答)(?:でき|いたしかね)ません"
_KO_REFUSAL = r"^[\W_]*(?:죄송하지만|죄송합니다|미안하지만)|(?:도와\s?드릴|답변(?:해\s?드릴|할)|제공할|작성할)\s?수\s?없"
# a draft that is nothing but "I cannot." / "Sorry, I can't do that." / "抱歉，我无法。"
_WHOLE_REFUSAL = re.compile(
    r"^[\W_]*(?:(?:(?:i'm|i\s+am)\s+sorry|sorry)[,.!]?\s*)?(?:but\s+)?i\s+(?:cannot|can't|can\s+not|won't|will\s+not"
    r"|am\s+unable|'m\s+unable|am\s+not\s+able|'m\s+not\s+able)(?:\s+(?:do|help|answer|say|comply)"
    r"(?:\s+(?:that|this|it|with\s+that))?)?[\W_]*$"
    r"|^[\W_]*(?:(?:很|非常)?(?:抱歉|对不起)[,!。 ]*(?:但是?[, ]*)?)?我(?:无法|不能|做不到|办不到)(?:做到|回答|这样做)?[\W_]*$",
    re.IGNORECASE,
)
_REFUSALS = re.compile("|".join(f"(?:{p})" for p in (_EN_REFUSAL, _ZH_REFUSAL, _JA_REFUSAL, _KO_REFUSAL)), re.IGNORECASE)

_FILLERS = re.compile("|".join(f"(?:{p})" for p in (
    r"\bas\s+an?\s+(?:ai|artificial\s+intelligence)(?:\s+language)?\s+(?:model|assistant|chatbot)\b",
    r"\bas\s+a\s+(?:large\s+)?language\s+model\b",
    r"\bi(?:'m|\s+am)\s+(?:just\s+|only\s+)?an?\s+(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model)\b",
    r"\bas\s+of\s+my\s+(?:last\s+)?(?:knowledge|training)\s+(?:update|cutoff|cut-off)\b",
    r"\bmy\s+knowledge\s+cut-?off\b",
    r"作为一?个?(?:ai|人工智能|大?语言模型)",
    r"我(?:只)?是一个(?:ai|人工智能|大?语言模型)",
    r"(?:ai|言語モデル|人工知能)として",
    r"(?:ai|언어\s?모델|인공지능)(?:으로서|로서)",
)), re.IGNORECASE)
# every filler phrase holds one of these (lowercased): the regex runs only on a text that has one
_FILLER_HINTS = ("an ai", "language model", "artificial intelligence", "knowledge", "training cut", "training update",
                 "个ai", "为ai", "一ai", "aiとして", "ai로서", "ai으로서", "人工智能", "语言模型", "言語モデル", "人工知能",
                 "인공지능", "언어")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).split())


def stock_phrase(text: str) -> tuple[str, str] | None:
    """(REFUSAL or FILLER, the matched phrase) for a stock refusal at the start or filler anywhere."""
    head = _folded(text[:HEAD_CHARS * 2])[:HEAD_CHARS]  # NFKC may lengthen or shorten it
    match = _REFUSALS.search(head) or (_WHOLE_REFUSAL.search(head) if len(text) < HEAD_CHARS else None)
    if match:
        return REFUSAL, match.group().strip(" \t\n\"'“”‘’「」*-_#>")
    folded = _folded(text)
    lowered = folded.lower()
    if any(hint in lowered for hint in _FILLER_HINTS):
        match = _FILLERS.search(folded)
        if match:
            return FILLER, match.group()
    return None


def echo_similarity(draft_tokens: Sequence[str], instruction_tokens: Sequence[str]) -> float | None:
    """How much of the longer of the two the other follows (see the module docstring); None: one has no word."""
    if not draft_tokens or not instruction_tokens:
        return None
    common = LCSseq.similarity(list(draft_tokens), list(instruction_tokens))
    return common / max(len(draft_tokens), len(instruction_tokens))
