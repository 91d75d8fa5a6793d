"""What a reviewer reads beside a draft: its session's earlier turns, the project's references,
the scores, the comments, the draft's revisions, its sensitive words, and the draft compared
span by span with its closest reference (as scoring read them: MAX_SCORED_CHARS of each).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.gate.policies import PRESET_PROVIDER
from core.gate.scores import project_references, scored_part
from core.platform.errors import NotFoundError
from core.platform.models import Comment, Draft, Reference, ReviewItem, Score, Turn, User, WritingSession
from core.platform.states import ReviewState
from core.review.comments import comments_for
from core.review.items import get_item, item_for_draft
from core.scoring import score
from core.scoring.diff import Segments, matching_spans
from core.writing.moderation import Hit, active_matcher


@dataclass(frozen=True)
class Comparison:
    """A draft beside its closest reference (best ROUGE-L), shared tokens marked."""

    reference: Reference
    draft_segments: Segments
    reference_segments: Segments


@dataclass(frozen=True)
class Revision:
    label: str
    text: str
    author: str
    at: datetime | None


@dataclass(frozen=True)
class ReviewContext:
    item: ReviewItem
    draft: Draft
    turn: Turn
    writing_session: WritingSession
    earlier_turns: list[tuple[Turn, str]]
    references: list[Reference]
    scores: list[Score]
    comments: list[tuple[Comment, str]]
    comparison: Comparison | None = None
    sensitive_hits: tuple[Hit, ...] = ()
    revisions: tuple[Revision, ...] = ()
    writer: str = ""  # the user name of the session's owner
    claimed_by: str = ""  # the user name of whoever holds the item ("": nobody)
    assigned_to: str = ""  # the user name of the reviewer an editor assigned it to ("": nobody)


def review_context(*, session: Session, item_id: int) -> ReviewContext:
    item = get_item(session=session, item_id=item_id)
    draft = session.get_one(Draft, item.draft_id)
    turn = session.get_one(Turn, draft.turn_id)
    references = project_references(session, item.project_id)
    writing_session = session.get_one(WritingSession, turn.session_id)
    owner = session.get(User, writing_session.owner_id)
    holder = session.get(User, item.claimed_by_id) if item.claimed_by_id else None
    assignee = session.get(User, item.assigned_to_id) if item.assigned_to_id else None
    return ReviewContext(
        item, draft, turn, writing_session, _earlier_turns(session, turn), references,
        list(session.exec(select(Score).where(Score.draft_id == item.draft_id))),
        comments_for(session=session, draft_id=item.draft_id),
        comparison=compare_with_closest(draft.text, references, draft.closest_reference_id),
        sensitive_hits=tuple(active_matcher(session=session).scan(draft.text)),
        revisions=draft_revisions(session=session, draft_id=item.draft_id),
        writer=owner.username if owner else "",
        claimed_by=holder.username if holder and item.state == ReviewState.CLAIMED else "",
        assigned_to=assignee.username if assignee else "",
    )


def _earlier_turns(session: Session, turn: Turn) -> list[tuple[Turn, str]]:
    """The session's turns before this one, each with its first draft's text."""
    earlier = session.exec(
        select(Turn).where(Turn.session_id == turn.session_id, col(Turn.index) < turn.index).order_by(col(Turn.index))
    )
    turns = []
    for earlier_turn in earlier:
        first = session.exec(select(Draft).where(Draft.turn_id == earlier_turn.id).order_by(col(Draft.variant))).first()
        turns.append((earlier_turn, first.text if first else ""))
    return turns


def draft_revisions(*, session: Session, draft_id: int) -> tuple[Revision, ...]:
    """The draft's texts in order: the model's (or the preset's), then a reviewer's edit if any."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFoundError("No such draft.")
    source = "preset answer" if draft.provider == PRESET_PROVIDER else f"model {draft.model or '?'}"
    revisions = [Revision("Draft as written", draft.text, source, draft.created_at)]
    item = item_for_draft(session=session, draft_id=draft_id)
    if item is not None and item.edited_text is not None:
        editor = session.get(User, item.decided_by_id) if item.decided_by_id else None
        revisions.append(Revision("Edited and approved", item.edited_text, editor.username if editor else "a reviewer",
                                  item.decided_at))
    return tuple(revisions)


def compare_with_closest(text: str, references: list[Reference], closest_id: int | None = None) -> Comparison | None:
    """The draft beside its closest reference, or None without references or comparable tokens.

    `closest_id`: the closest reference found when the draft was scored (Draft.closest_reference_id),
    so the page need not score the draft again; without it (or if it is gone) the draft is scored."""
    if not references or not text.strip():
        return None
    reference = next((r for r in references if r.id == closest_id), None)
    if reference is None:
        report = score(scored_part(text), [scored_part(r.text) for r in references])
        if report.closest_reference is None:
            return None
        reference = references[report.closest_reference]
    draft_part, reference_part = scored_part(text), scored_part(reference.text)
    draft_segments, reference_segments = matching_spans(draft_part, reference_part)
    return Comparison(reference, _with_rest(draft_segments, text[len(draft_part):]),
                      _with_rest(reference_segments, reference.text[len(reference_part):]))


def _with_rest(segments: Segments, rest: str) -> Segments:
    """The segments, then what scoring did not read of the text, unmarked."""
    return [*segments, (rest, False)] if rest else segments


def mark_segments(segments: Segments, hits: Iterable[Hit]) -> list[tuple[str, bool, bool]]:
    """Cut (text, matched) segments further at the sensitive-word hits: (text, matched, sensitive)."""
    flagged: set[int] = set()
    for hit in hits:
        flagged.update(range(hit.start, hit.end))
    pieces: list[tuple[str, bool, bool]] = []
    position = 0
    for text, matched in segments:
        for offset, char in enumerate(text):
            key = (matched, position + offset in flagged)
            if pieces and pieces[-1][1:] == key:
                pieces[-1] = (pieces[-1][0] + char, *key)
            else:
                pieces.append((char, *key))
        position += len(text)
    return pieces

