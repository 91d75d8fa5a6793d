"""Second reviews: a project's share of decided items goes blind to a second, different
reviewer; when the two disagree an editor who decided neither adjudicates, and that verdict
is final (ReviewItem.state becomes it).

    decided (core.review.decisions.decide) --sampled(share)--> waiting
    waiting --take_second (a reviewer who did not decide it)--> claimed (a lease, as claims)
    claimed --decide_second--> agreed | disagreed
    disagreed --adjudicate (an editor, neither reviewer)--> adjudicated

Who: never the item's first reviewer nor the draft's writer (who reads its verdict on the Write
page and in their data export), and no admin (they read the audit trail, which holds the verdict).
Blind: what a second reviewer is shown never holds the first verdict, its reason or edited text;
`first_decision_hidden` names the items whose first decision a viewer must not see (they hold
its second review, or may still take it): core.usecases.writing.draft_report and
core.usecases.sessions.session_turns leave their review out (`blind`), in the pages and the API.
The sample is a fixed function of the item's ID (Knuth's multiplicative hash), so a share of
10% sends about one item in ten, evenly, and a test can tell which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, func, select

from core.access.roles import may, require
from core.platform import audit, constants
from core.platform.db import saved_id
from core.platform.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.platform.i18n import N_
from core.platform.models import Draft, Project, ReviewItem, SecondReview, Turn, User, WritingSession, utcnow
from core.platform.states import ReviewState, SecondState
from core.platform.text import check_text
from core.review import daily
from core.review.claims import lease_ended
from core.review.items import VERDICTS

_HASH = 2654435761
_SPACE = 2**32


def sampled(item_id: int, share: float) -> bool:
    """Whether the item goes to a second review under this share (0: none, 1: all)."""
    return share >= 1 or (share > 0 and (item_id * _HASH % _SPACE) / _SPACE < share)


def request_if_sampled(session: Session, item: ReviewItem) -> bool:
    """After a first decision, in its transaction: queue a second review if the project's share picks it."""
    project = session.get(Project, item.project_id)
    item_id = saved_id(item)
    if project is None or not sampled(item_id, project.second_review_share):
        return False
    if session.exec(select(SecondReview.id).where(SecondReview.item_id == item_id)).first() is None:
        session.add(SecondReview(item_id=item_id))
    return True


def may_review_second(role: str) -> bool:
    """Whether this role may do second reviews: reviewers, editors, not admins, who read the audit
    trail, where the first verdict is (the Audit page), so could never review blind."""
    return may(role, "review") and not may(role, "audit")


def first_decision_hidden(*, session: Session, viewer: User, items: list[ReviewItem]) -> set[int]:
    """The IDs of `items` whose first decision `viewer` must not see: the viewer holds (or held)
    its second review, or may still take it (see _takeable: neither its first reviewer nor its
    writer, and a role that may, while it waits or is claimed). The first reviewer, writers,
    admins and editors adjudicating a finished pair see it."""
    ids = [item.id for item in items if item.id is not None and item.decided_by_id != viewer.id]
    if not ids or not may(viewer.role, "review"):
        return set()
    rows = session.exec(select(SecondReview.item_id, SecondReview.state, SecondReview.reviewer_id)
                        .where(col(SecondReview.item_id).in_(ids))).all()
    pending = (SecondState.WAITING, SecondState.CLAIMED)
    mine = {item_id for item_id, state, reviewer_id in rows if reviewer_id == viewer.id}
    takeable = ({item_id for item_id, state, reviewer_id in rows if state in pending} - mine
                if may_review_second(viewer.role) else set())
    return mine | (takeable - _written_by(session, viewer, takeable))


def _written_by(session: Session, viewer: User, item_ids: set[int]) -> set[int]:
    if not item_ids:
        return set()
    rows = session.exec(select(col(ReviewItem.id)).join(Draft, col(Draft.id) == ReviewItem.draft_id)
                        .join(Turn, col(Turn.id) == Draft.turn_id)
                        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
                        .where(col(ReviewItem.id).in_(item_ids), WritingSession.owner_id == viewer.id))
    return {item_id for item_id in rows if item_id is not None}


def set_share(*, session: Session, actor: User, project_id: int, share: float) -> Project:
    require(actor.role, "thresholds")
    if not 0 <= share <= 1:
        raise InvalidInputError("The second review share is a percentage from 0 to 100.")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError("No such project.")
    project.second_review_share = share
    session.add(project)
    audit.record(session, actor_id=actor.id, action="project.second_review_share", target=project.name,
                 share=share)
    session.commit()
    session.refresh(project)
    return project


def _takeable(now: datetime, reviewer_id: int):
    """SQL: a second review this reviewer may take: waiting, or claimed with its lease ended, or
    theirs; never one of an item they decided first, nor of a draft they wrote."""
    free = or_(col(SecondReview.state) == SecondState.WAITING,
               and_(col(SecondReview.state) == SecondState.CLAIMED,
                    or_(lease_ended(SecondReview.claim_expires_at, now), col(SecondReview.reviewer_id) == reviewer_id)))
    written = (select(Draft.id).join(Turn, col(Turn.id) == Draft.turn_id)
               .join(WritingSession, col(WritingSession.id) == Turn.session_id)
               .where(col(Draft.id) == ReviewItem.draft_id, WritingSession.owner_id == reviewer_id).exists())
    return and_(free, col(ReviewItem.decided_by_id) != reviewer_id, ~written)


def take_second(
    *, session: Session, reviewer: User, project_id: int | None = None,
    lease_minutes: int = constants.CLAIM_LEASE_MINUTES,
) -> SecondReview | None:
    """Claim the oldest second review this reviewer may do (one they hold comes first); None if
    none. Admins do none (may_review_second)."""
    require(reviewer.role, "review")
    if not may_review_second(reviewer.role):
        raise PermissionDeniedError(N_("Admins read the audit trail, where first verdicts are, so they do no blind "
                                       "second reviews."))
    for _ in range(5):
        now = utcnow()
        query = (select(SecondReview.id, SecondReview.reviewer_id)
                 .join(ReviewItem, col(ReviewItem.id) == SecondReview.item_id)
                 .where(_takeable(now, saved_id(reviewer)))
                 .order_by(col(SecondReview.created_at), col(SecondReview.id)))
        if project_id is not None:
            query = query.where(ReviewItem.project_id == project_id)
        rows = [(second_id, holder) for second_id, holder in session.exec(query.limit(20)) if second_id is not None]
        if not rows:
            return None
        rows.sort(key=lambda row: row[1] != reviewer.id)
        for second_id, _ in rows:
            mine = (select(ReviewItem.id)
                    .where(col(ReviewItem.id) == SecondReview.item_id, _takeable(now, saved_id(reviewer)))
                    .exists())
            result = session.exec(
                update(SecondReview).where(col(SecondReview.id) == second_id, mine).values(
                    state=SecondState.CLAIMED, reviewer_id=reviewer.id,
                    claim_expires_at=now + timedelta(minutes=lease_minutes), version=SecondReview.version + 1,
                )
            )
            if result.rowcount == 1:
                audit.record(session, actor_id=reviewer.id, action="review.second_claim", target=f"second:{second_id}")
                session.commit()
                return _get(session, second_id)
            session.rollback()
    raise ConflictError("Other reviewers are taking second reviews at the same moment; try again.")


def decide_second(
    *, session: Session, reviewer: User, second_id: int, verdict: str, reason: str = "", expected_version: int
) -> SecondReview:
    """The second reviewer's verdict (approve or reject); it agrees or not with the first one."""
    require(reviewer.role, "review")
    if verdict not in VERDICTS:
        raise InvalidInputError(f"A verdict is one of {', '.join(VERDICTS)}.")
    reason = check_text(reason, what="The reason", max_chars=constants.REVIEW_REASON_MAX_CHARS, strip=True)
    if verdict == ReviewState.REJECTED and not reason:
        raise InvalidInputError("Say why the draft is rejected.")
    second = _get(session, second_id)
    item = session.get(ReviewItem, second.item_id)
    outcome = SecondState.AGREED if item is not None and item.state == verdict else SecondState.DISAGREED
    result = session.exec(
        update(SecondReview).where(
            col(SecondReview.id) == second_id, col(SecondReview.state) == SecondState.CLAIMED,
            col(SecondReview.reviewer_id) == reviewer.id, col(SecondReview.version) == expected_version,
        ).values(state=outcome, verdict=verdict, reason=reason, decided_at=utcnow(), claim_expires_at=None,
                 version=SecondReview.version + 1)
    )
    if result.rowcount != 1:
        session.rollback()
        raise ConflictError("This second review is no longer yours to decide; take the next one.")
    audit.record(session, actor_id=reviewer.id, action=f"review.second_{verdict}", target=f"second:{second_id}",
                 outcome=str(outcome))
    session.commit()
    return _get(session, second_id)


def adjudicate(*, session: Session, editor: User, second_id: int, verdict: str, reason: str = "") -> SecondReview:
    """An editor's final verdict on an item whose two reviewers disagreed (neither of them may)."""
    require(editor.role, "thresholds")
    if verdict not in VERDICTS:
        raise InvalidInputError(f"A verdict is one of {', '.join(VERDICTS)}.")
    reason = check_text(reason, what="The reason", max_chars=constants.REVIEW_REASON_MAX_CHARS, strip=True)
    second = _get(session, second_id)
    item = session.get(ReviewItem, second.item_id)
    if item is None or second.state != SecondState.DISAGREED:
        raise ConflictError("This item does not wait for adjudication.")
    if editor.id in (item.decided_by_id, second.reviewer_id):
        raise ConflictError("An item is adjudicated by an editor who reviewed it neither time.")
    now = utcnow()
    result = session.exec(
        update(SecondReview).where(col(SecondReview.id) == second_id, col(SecondReview.state) == SecondState.DISAGREED)
        .values(state=SecondState.ADJUDICATED, adjudicated_by_id=editor.id, adjudicated_verdict=verdict,
                adjudicated_at=now, version=SecondReview.version + 1)
    )
    if result.rowcount != 1:
        session.rollback()
        raise ConflictError("Another editor adjudicated this item a moment ago.")
    session.exec(update(ReviewItem).where(col(ReviewItem.id) == item.id)
                 .values(state=ReviewState(verdict), version=ReviewItem.version + 1))
    audit.record(session, actor_id=editor.id, action="review.adjudicate", target=f"review:{item.id}",
                 verdict=verdict, reason=reason, first=item.state, second=second.verdict)
    session.commit()
    return _get(session, second_id)


@dataclass(frozen=True)
class Disagreement:
    second: SecondReview
    item: ReviewItem
    first_reviewer: str
    second_reviewer: str


def disagreements(*, session: Session, limit: int = 50) -> list[Disagreement]:
    """Items waiting for an editor's adjudication, oldest first, with both reviewers' names."""
    rows = session.exec(
        select(SecondReview, ReviewItem).join(ReviewItem, col(ReviewItem.id) == SecondReview.item_id)
        .where(SecondReview.state == SecondState.DISAGREED).order_by(col(SecondReview.decided_at)).limit(limit)
    ).all()
    ids = {i for second, item in rows for i in (item.decided_by_id, second.reviewer_id) if i is not None}
    names = {u.id: u.username for u in session.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}
    return [Disagreement(second, item, names.get(item.decided_by_id or 0, "a deleted account"),
                         names.get(second.reviewer_id or 0, "a deleted account")) for second, item in rows]


@dataclass(frozen=True)
class PairedCount:
    """How many items of a project, whose second review was decided on `day`, had these two verdicts."""

    project_id: int
    day: str  # the UTC day the second verdict was given, "2026-05-17"
    first_id: int
    first_verdict: str  # "edited" for an approval after an edit (core.review.agreement)
    second_id: int
    second_verdict: str
    items: int


def paired_counts(
    *, session: Session, viewer: User, project_id: int | None = None, since: datetime | None = None
) -> list[PairedCount]:
    """Both verdicts of the items that had a second review (decided since `since`), counted per
    project, day and combination of reviewers and verdicts by one GROUP BY: a row per
    combination, however many items. Items of deleted reviewers are left out. For editors and
    admins (the Dashboard)."""
    require(viewer.role, "dashboard")
    edited = and_(col(ReviewItem.edited_text).is_not(None), col(ReviewItem.edited_text) != "")
    day = daily.utc_day(session, SecondReview.decided_at)
    keys = (ReviewItem.project_id, day, ReviewItem.decided_by_id, ReviewItem.state, edited, SecondReview.reviewer_id,
            SecondReview.verdict, SecondReview.adjudicated_verdict)
    query = (select(*keys, func.count())  # type: ignore[call-overload]  # typed for at most 4 columns
             .join(ReviewItem, col(ReviewItem.id) == SecondReview.item_id)
             .where(col(SecondReview.state).in_([SecondState.AGREED, SecondState.DISAGREED, SecondState.ADJUDICATED]),
                    col(ReviewItem.decided_by_id).is_not(None), col(SecondReview.reviewer_id).is_not(None))
             .group_by(*keys))
    if project_id is not None:
        query = query.where(ReviewItem.project_id == project_id)
    if since is not None:
        query = query.where(col(SecondReview.decided_at) >= since)
    counts = []
    for project, decided_on, first_id, state, was_edited, second_id, second_verdict, adjudicated, n in session.exec(query):
        first_verdict = _first_verdict(state, adjudicated, second_verdict)
        counts.append(PairedCount(project, daily.iso_day(decided_on), first_id,
                                  "edited" if was_edited and first_verdict == ReviewState.APPROVED else first_verdict,
                                  second_id, second_verdict, n))
    return counts


def _first_verdict(state: str, adjudicated: str, second_verdict: str) -> str:
    """The first reviewer's verdict: the item's state, unless an adjudication replaced it (then,
    the two having disagreed, it was the other verdict than the second reviewer's)."""
    if not adjudicated:
        return state
    return ReviewState.REJECTED if second_verdict == ReviewState.APPROVED else ReviewState.APPROVED


def _get(session: Session, second_id: int) -> SecondReview:
    second = session.get(SecondReview, second_id)
    if second is None:
        raise NotFoundError("No such second review.")
    session.refresh(second)
    return second
