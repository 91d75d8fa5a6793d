"""Sentence splitting without NLTK, for Chinese and Latin-script text alike (used by ROUGE-Lsum)."""

from __future__ import annotations

import re

_CLOSERS = "\"'”’」』）》〉】〕)]}"
# A run of Chinese sentence punctuation ends a sentence wherever it stands; Latin . ! ? only
# when followed by whitespace or the end (so 3.14, e.g.x and example.com stay whole).
_SENTENCE_END = re.compile(
    f"[。！？；｡…]+[{re.escape(_CLOSERS)}]*|[.!?]+[{re.escape(_CLOSERS)}]*(?=\\s|$)"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, stripped, empty ones dropped, punctuation kept with its sentence.

    Splits at every line break and after 。！？；… (any run, with closing quotes or brackets)
    and after . ! ? followed by whitespace or the end. Abbreviations such as "Mr. Smith" are
    split too: there is no abbreviation list.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        for match in _SENTENCE_END.finditer(line):
            sentences.append(line[start:match.end()])
            start = match.end()
        sentences.append(line[start:])
    return [s for s in (part.strip() for part in sentences) if s]
