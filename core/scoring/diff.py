"""What a draft shares with a reference, for the review page's side-by-side view.

Both texts are cut into the tokens ROUGE compares (one CJK character, or one lowercased
word), the two token sequences are aligned on a longest common subsequence (rapidfuzz's
LCS: an exact one, where difflib's SequenceMatcher treats frequent tokens of long texts as
junk), and each text is returned as consecutive segments (text, matched) that join back to
the original exactly, whitespace and punctuation included.

The text between two tokens (spaces, punctuation) goes with its neighbours: it is marked
unmatched only when the tokens on both sides of it are unmatched, so "The big cat" against
"The cat" marks "big" alone. Punctuation itself is never compared (it is not a token).
"""

from __future__ import annotations

from rapidfuzz.distance import LCSseq

from core.scoring.tokenizer import token_spans

Segments = list[tuple[str, bool]]


def _segments(text: str, spans: list[tuple[int, int, str]], matched: list[bool]) -> Segments:
    if not spans:
        return [(text, False)] if text else []
    pieces: list[tuple[str, bool]] = []
    position = 0
    previous = matched[0]  # the text before the first token goes with it
    for (start, end, _), flag in zip(spans, matched):
        if start > position:
            pieces.append((text[position:start], previous or flag))
        pieces.append((text[start:end], flag))
        position, previous = end, flag
    if position < len(text):
        pieces.append((text[position:], previous))
    merged: Segments = []
    for piece, flag in pieces:
        if merged and merged[-1][1] == flag:
            merged[-1] = (merged[-1][0] + piece, flag)
        else:
            merged.append((piece, flag))
    return merged


def matching_spans(draft: str, reference: str) -> tuple[Segments, Segments]:
    """(draft segments, reference segments); "".join(s for s, _ in segments) is the text."""
    draft_spans, reference_spans = token_spans(draft), token_spans(reference)
    ids: dict[str, int] = {}
    draft_ids = [ids.setdefault(key, len(ids)) for _, _, key in draft_spans]
    reference_ids = [ids.setdefault(key, len(ids)) for _, _, key in reference_spans]
    draft_matched = [False] * len(draft_spans)
    reference_matched = [False] * len(reference_spans)
    if draft_ids and reference_ids:
        for op in LCSseq.opcodes(draft_ids, reference_ids):
            if op.tag == "equal":
                draft_matched[op.src_start:op.src_end] = [True] * (op.src_end - op.src_start)
                reference_matched[op.dest_start:op.dest_end] = [True] * (op.dest_end - op.dest_start)
    return (
        _segments(draft, draft_spans, draft_matched),
        _segments(reference, reference_spans, reference_matched),
    )
