"""Writing sessions and their turns; the sweep of drafts whose writer died.

    mark_stale_drafts_interrupted   a "generating" draft whose heartbeat (kept by the process
                                    writing it, core.writing.turns.KEEPER; or, where it has none, its
                                    last update) is older than DRAFT_STALE_AFTER_S becomes
                                    "interrupted", keeping its text; drafts a queued or running
                                    job will write are the job's (core.jobs.runner sweeps a dead job and
                                    abandons them). Run at start and by every job runner's heartbeat.
"""

from __future__ import annotations

import gettext
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, update
from sqlalchemy import select as columns
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from core.access.privacy import forget_copies
from core.access.roles import require
from core.llm.types import GenerationParams
from core.platform import audit, constants
from core.platform.db import chunks, saved_id, saved_ids
from core.platform.errors import NotFoundError
from core.platform.i18n import N_, Message, Translator
from core.platform.models import (
    Comment,
    Draft,
    Job,
    Project,
    Provider,
    ReviewItem,
    RubricMark,
    Score,
    SecondReview,
    Turn,
    User,
    WritingSession,
    utcnow,
)
from core.platform.states import DraftStatus, JobStatus, Role
from core.platform.text import check_text
from core.writing.prompts import Exchange

STALE_DRAFT_REASON = N_("The app stopped while this draft was being written.")
MAX_TITLE_LENGTH = 200
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what secrets.token_urlsafe makes, as long as the column


@dataclass(frozen=True)
class DraftView:
    draft: Draft
    scores: dict[str, Score]
    review: ReviewItem | None  # None too when `blind`
    blind: bool = False  # its first decision is hidden from this viewer (core.review.second.first_decision_hidden)


@dataclass(frozen=True)
class TurnView:
    turn: Turn
    drafts: list[DraftView]


def create_session(
    *, session: Session, owner: User, project_id: int, title: str = "", params: GenerationParams | None = None
) -> WritingSession:
    require(owner.role, "write")
    if session.get(Project, project_id) is None:
        raise NotFoundError("No such project.")
    title = _clean_title(title) if title.strip() else ""  # untitled: named where it is shown (shown_title)
    writing_session = WritingSession(
        public_id=secrets.token_urlsafe(12),
        owner_id=saved_id(owner),
        project_id=project_id,
        title=title,
        params=(params or GenerationParams()).validate().to_dict(),
    )
    session.add(writing_session)
    session.commit()
    return writing_session


def list_sessions(
    *, session: Session, owner: User, limit: int | None = None, title_contains: str = "",
) -> list[WritingSession]:
    """The owner's sessions, the most recently used first: at most `limit`, only those whose title
    contains `title_contains` (ignoring case) when it is given."""
    query = select(WritingSession).where(WritingSession.owner_id == owner.id)
    if title_contains.strip():
        query = query.where(func.lower(col(WritingSession.title)).contains(title_contains.strip().lower(), autoescape=True))
    query = query.order_by(col(WritingSession.updated_at).desc(), col(WritingSession.id).desc()).limit(limit)
    return list(session.exec(query))


NOT_OPEN = N_("No writing session with this ID is open to you.")


def _checked_public_id(public_id: str) -> str:
    if not isinstance(public_id, str) or not _PUBLIC_ID.fullmatch(public_id):
        raise NotFoundError(NOT_OPEN)  # a URL's NUL would fail the query
    return public_id


def _may_open(user: User, owner_id: int | None) -> bool:
    """A session is open to its owner, editors and admins."""
    return owner_id == user.id or user.role in (Role.EDITOR, Role.ADMIN)


def get_session(*, session: Session, user: User, public_id: str) -> WritingSession:
    """The session with this public ID, if the user may open it (its owner, editors, admins)."""
    public_id = _checked_public_id(public_id)
    writing_session = session.exec(select(WritingSession).where(WritingSession.public_id == public_id)).first()
    if writing_session is None or not _may_open(user, writing_session.owner_id):
        raise NotFoundError(NOT_OPEN)
    return writing_session


def newest_draft_id(*, session: Session, user: User, public_id: str) -> int:
    """The ID of the newest draft of a session open to the user (0: it has none yet), in one query:
    a page showing an older one has a turn or variant to show that another tab or device started."""
    public_id = _checked_public_id(public_id)
    row = session.exec(
        select(WritingSession.owner_id, func.max(Draft.id))
        .outerjoin(Turn, col(Turn.session_id) == col(WritingSession.id))
        .outerjoin(Draft, col(Draft.turn_id) == col(Turn.id))
        .where(WritingSession.public_id == public_id).group_by(col(WritingSession.id))
    ).first()
    if row is None or not _may_open(user, row[0]):
        raise NotFoundError(NOT_OPEN)
    return row[1] or 0


UNTITLED = N_("Session {when}")  # an untitled session's name: when it began


def shown_title(writing_session: WritingSession, t: Translator | None = None,
                when: Callable[[datetime], str] = lambda moment: f"{moment:%Y-%m-%d %H:%M}") -> str:
    """The session's title, or for an untitled one its name in the language of `t` (English without)."""
    if writing_session.title:
        return writing_session.title
    return Message(UNTITLED, when=when(writing_session.created_at)).render(t or gettext.NullTranslations())


def rename_session(*, session: Session, user: User, public_id: str, title: str) -> WritingSession:
    require(user.role, "write")
    writing_session = get_session(session=session, user=user, public_id=public_id)
    writing_session.title = _clean_title(title)
    writing_session.updated_at = utcnow()
    session.add(writing_session)
    session.commit()
    return writing_session


def save_params(
    *, session: Session, user: User, public_id: str, params: GenerationParams, commit: bool = True,
) -> WritingSession:
    """The session's parameters become `params` (nothing is written when they are the same); return
    the session. `commit=False`: the change waits for the caller's commit."""
    require(user.role, "write")
    writing_session = get_session(session=session, user=user, public_id=public_id)
    wanted = params.validate().to_dict()
    if writing_session.params != wanted:
        writing_session.params = wanted
        session.add(writing_session)
        if commit:
            session.commit()
    return writing_session


def touch(*, session: Session, writing_session: WritingSession) -> None:
    """The session was used now: its `updated_at` with its parameters as they are (save_params may
    have changed them), in one UPDATE of the caller's transaction, without the ORM's flush."""
    now = utcnow()
    session.connection().execute(_TOUCH, {"session_id": saved_id(writing_session), "updated_at": now,
                                          "params": writing_session.params})
    set_committed_value(writing_session, "updated_at", now)
    set_committed_value(writing_session, "params", writing_session.params)


_SESSIONS = WritingSession.__table__  # type: ignore[attr-defined]
_TOUCH = (update(_SESSIONS).where(_SESSIONS.c.id == bindparam("session_id"))
          .values(updated_at=bindparam("updated_at"), params=bindparam("params")))


def set_provider(*, session: Session, user: User, public_id: str, provider_name: str) -> None:
    """Choose the provider of a session's next drafts ("" for the default provider)."""
    writing_session = get_session(session=session, user=user, public_id=public_id)
    if provider_name and session.exec(select(Provider).where(Provider.name == provider_name)).first() is None:
        raise NotFoundError(Message(N_('No provider named {provider_name!r}.'), provider_name=provider_name))
    writing_session.provider = provider_name
    session.add(writing_session)
    session.commit()


def delete_session(*, session: Session, user: User, public_id: str) -> None:
    """Delete a session with its turns, drafts, scores, review items (their rubric marks too) and comments, and the copies
    of its text (cached answers, reviewers' reasons in the audit trail: core.access.privacy.forget_copies)."""
    writing_session = get_session(session=session, user=user, public_id=public_id)
    turn_ids = select(Turn.id).where(Turn.session_id == writing_session.id)
    draft_ids = select(col(Draft.id)).where(col(Draft.turn_id).in_(turn_ids))
    forget_copies(session, session_ids=[saved_id(writing_session)], draft_ids=saved_ids(session.exec(draft_ids)))
    item_ids = select(ReviewItem.id).where(col(ReviewItem.draft_id).in_(draft_ids))
    session.exec(delete(SecondReview).where(col(SecondReview.item_id).in_(item_ids)))
    session.exec(delete(RubricMark).where(col(RubricMark.item_id).in_(item_ids)))
    for table in (Score, Comment, ReviewItem):
        session.exec(delete(table).where(col(table.draft_id).in_(draft_ids)))
    session.exec(delete(Draft).where(col(Draft.turn_id).in_(turn_ids)))
    session.exec(delete(Turn).where(col(Turn.session_id) == writing_session.id))
    session.delete(writing_session)
    audit.record(session, actor_id=user.id, action="session.delete", target=f"session:{writing_session.public_id}")
    session.commit()


def list_turns(*, session: Session, writing_session: WritingSession) -> list[TurnView]:
    turns = list(session.exec(select(Turn).where(Turn.session_id == writing_session.id).order_by(col(Turn.index))))
    if not turns:
        return []
    drafts = list(
        session.exec(
            select(Draft).where(col(Draft.turn_id).in_([t.id for t in turns])).order_by(col(Draft.variant))
        )
    )
    draft_ids = [saved_id(d) for d in drafts]
    scores: dict[int, dict[str, Score]] = {d: {} for d in draft_ids}
    for score in session.exec(select(Score).where(col(Score.draft_id).in_(draft_ids))):
        scores[score.draft_id][score.metric] = score
    reviews = {r.draft_id: r for r in session.exec(select(ReviewItem).where(col(ReviewItem.draft_id).in_(draft_ids)))}
    by_turn: dict[int, list[DraftView]] = {saved_id(t): [] for t in turns}
    for draft in drafts:
        draft_id = saved_id(draft)
        by_turn[draft.turn_id].append(DraftView(draft, scores[draft_id], reviews.get(draft_id)))
    return [TurnView(turn, by_turn[saved_id(turn)]) for turn in turns]


def history(*, session: Session, writing_session: WritingSession, before: int | None = None) -> list[Exchange]:
    """The session's turns (those with an index below `before`, if given) as exchanges: each
    turn's instruction and the text of its answer (`answer_of`). One query."""
    return context(session=session, session_id=saved_id(writing_session), before=before).exchanges


@dataclass(frozen=True)
class Context:
    """What a turn reads of the turns before it (history), and which of their drafts are still being written."""

    exchanges: list[Exchange]
    being_written: list[int]  # draft ids, oldest first


def context(*, session: Session, session_id: int, before: int | None = None) -> Context:
    """history() of the session `session_id`, with the ids of those turns' drafts still being
    written (a turn waits for them: core.writing.generation). One query."""
    if before is None:
        rows: Iterable[Any] = session.connection().execute(_HISTORY, {"session_id": session_id})
    else:
        rows = session.connection().execute(_HISTORY_BEFORE, {"session_id": session_id, "before": before})
    turns: dict[int, tuple[str, str, list[_Answer]]] = {}
    being_written = []
    for turn_id, instruction, kind, draft_id, status, variant, text, edited_text in rows:
        _, _, drafts = turns.setdefault(turn_id, (instruction, kind, []))
        if text is not None:
            drafts.append(_Answer(status, variant, text, edited_text))
        if status == DraftStatus.GENERATING:
            being_written.append(draft_id)
    exchanges = []
    for instruction, kind, drafts in turns.values():
        text = _newest_answer(drafts)
        if text.strip():
            exchanges.append(Exchange(instruction, text, kind))
    return Context(exchanges, sorted(being_written))


_HISTORY = (  # (SQLAlchemy's select: SQLModel's takes at most four columns)
    columns(col(Turn.id), col(Turn.instruction), col(Turn.kind), col(Draft.id), col(Draft.status), col(Draft.variant),
            col(Draft.text), col(ReviewItem.edited_text))
    .outerjoin(Draft, col(Draft.turn_id) == col(Turn.id))
    .outerjoin(ReviewItem, col(ReviewItem.draft_id) == col(Draft.id))
    .where(col(Turn.session_id) == bindparam("session_id")).order_by(col(Turn.index), col(Draft.variant))
)
_HISTORY_BEFORE = _HISTORY.where(col(Turn.index) < bindparam("before"))


def answer_of(view: TurnView) -> str:
    """What later turns read as a turn's answer: its newest completed draft (the highest variant,
    so a regenerated answer replaces the earlier one), else its newest draft with any text (a
    partial answer); a reviewer's edited text where there is one."""
    return _newest_answer([_Answer(d.draft.status, d.draft.variant, d.draft.text,
                                   d.review.edited_text if d.review is not None else None) for d in view.drafts])


@dataclass(frozen=True)
class _Answer:
    status: str
    variant: int
    text: str
    edited_text: str | None


def _newest_answer(drafts: list[_Answer]) -> str:
    completed = [d for d in drafts if d.status == DraftStatus.COMPLETED]
    candidates = completed or [d for d in drafts if d.text.strip()]
    if not candidates:
        return ""
    newest = max(candidates, key=lambda d: d.variant)
    return newest.edited_text or newest.text


def mark_stale_drafts_interrupted(
    *, session: Session, stale_after_s: float = constants.DRAFT_STALE_AFTER_S, now: datetime | None = None
) -> int:
    """Drafts left "generating" by a process that died become "interrupted" (see the module
    docstring), their text kept; returns how many. `now` is for tests."""
    cutoff = (now or utcnow()) - timedelta(seconds=stale_after_s)
    stale = and_(
        col(Draft.status) == DraftStatus.GENERATING,
        or_(col(Draft.heartbeat_at) < cutoff, and_(col(Draft.heartbeat_at).is_(None), col(Draft.updated_at) < cutoff)),
    )
    candidates = set(saved_ids(session.exec(select(col(Draft.id)).where(stale))))
    swept = 0
    if candidates:
        dead = sorted(candidates - _drafts_of_unfinished_jobs(session))
        for chunk in chunks(dead):
            result = session.exec(
                update(Draft).where(col(Draft.id).in_(chunk), stale)
                .values(status=DraftStatus.INTERRUPTED, error=STALE_DRAFT_REASON, updated_at=utcnow())
            )
            swept += result.rowcount
    session.commit()
    return swept


def sessions_being_written(*, session: Session, owner_id: int) -> set[int]:
    """The ids of the owner's writing sessions with a draft being written (the sessions list marks them)."""
    return set(session.exec(
        select(Turn.session_id).distinct()
        .join(Draft, col(Draft.turn_id) == col(Turn.id))
        .join(WritingSession, col(WritingSession.id) == col(Turn.session_id))
        .where(WritingSession.owner_id == owner_id, Draft.status == DraftStatus.GENERATING)
    ))


def _drafts_of_unfinished_jobs(session: Session) -> set[int]:
    """The drafts queued or running jobs will write (payload "draft_ids", as core.writing.variants has)."""
    payloads = session.exec(select(Job.payload).where(col(Job.status).in_((JobStatus.QUEUED, JobStatus.RUNNING))))
    return {draft_id for payload in payloads for draft_id in payload.get("draft_ids", ())}


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    return check_text(title, what="The session title", max_chars=MAX_TITLE_LENGTH, required=True)
