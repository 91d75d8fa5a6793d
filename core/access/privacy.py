"""A user's data: export it as one JSON document, delete it everywhere, and retention.

What belongs to a user, and what deletion does with it:

    User row, sign-in failures for the name            deleted
    SignInSession (their signed-in browsers)            deleted (the export lists them: device
                                                        data, never a token hash)
    WritingSession they own -> Turn -> Draft            deleted, with each draft's Score,
                                                        ReviewItem and Comment (anyone's), and
                                                        the review.* audit events of those items
                                                        (a reviewer's reason quotes the draft):
                                                        target and detail cleared
    Comment they wrote on others' drafts                deleted
    ReviewItem they claimed / decided on others' drafts the claim is released, the decider
                                                        cleared, their reason removed (an
                                                        approved edit stays: it is now the
                                                        writer's draft); its RubricMark rows
                                                        (pass/fail of the editors' items, no
                                                        words of theirs) stay, like the verdict
    RubricMark of their drafts' review items            deleted with the items
    ThresholdPolicy they authored                       kept (project settings), author and
                                                        note (their words) cleared
    Job they own (holds prompts)                        deleted
    ApiKey they own, and the answers stored for it      deleted (the export lists the keys by
    (IdempotencyRecord: copies of their drafts)         name and prefix, never a hash)
    Reference promoted from one of their drafts         deleted
    Preset answer made from one of their drafts         deleted (its answer is their text;
                                                        retention, below, only unlinks it)
    AuditEvent they did, or naming them                 kept as "something happened": actor,
                                                        target and detail cleared
    Response cache (CacheEntry table, Redis)            answers asked for their sessions or drafts
                                                        deleted (by origin, core.llm.cache)

Deleting one session (core.writing.sessions) and retention take the same copies along (forget_copies):
the cached answers and the review events quoting its drafts.

The export holds all of these but the response cache (copies of their drafts' text).
Then one anonymised event `privacy.delete` (counts only) records that a deletion happened.
On SQLite, deleted content is overwritten (PRAGMA secure_delete, see core.platform.db) and the
write-ahead log is checkpointed and truncated, so no copy of the text stays in the files.
On PostgreSQL rows are gone for every query at once; the space is reclaimed by VACUUM.

Retention (DRAFTGATE_RETENTION_DAYS) deletes drafts older than N days the same way, with the
turns and sessions they leave empty and finished jobs of that age. References and preset
answers made from old drafts are project material chosen by editors: retention keeps them.

Tables with a foreign key to user, writingsession, turn or draft must be listed in HANDLED
(a test walks the schema), so a table added later cannot be forgotten here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, CursorResult, case, delete, func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.access.actors import Actor, require_actor
from core.access.passwords import verify_password
from core.access.throttle import USER, user_key
from core.llm.cache import RedisStore, delete_by_origin
from core.llm.ratelimit import redis_client
from core.platform import audit
from core.platform.config import get_settings
from core.platform.db import chunks, saved_ids
from core.platform.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from core.platform.models import (
    ApiKey,
    AuditEvent,
    Comment,
    Draft,
    IdempotencyRecord,
    Job,
    LoginFailure,
    Preset,
    Project,
    Reference,
    ReviewItem,
    RubricMark,
    Score,
    SecondReview,
    SignInSession,
    ThresholdPolicy,
    Turn,
    User,
    WritingSession,
    utcnow,
)
from core.platform.states import JobStatus, Role, SecondState
from core.platform.wording import count
from core.review.claims import held_by, release_all

if TYPE_CHECKING:
    from core.platform.config import Settings

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "draftgate-user-export/1"
DELETED_REASON = "(removed: the reviewer's account was deleted)"

# (table, column) of every foreign key into the user's data, and what deletion does with it.
HANDLED: dict[tuple[str, str], str] = {
    ("writingsession", "owner_id"): "delete",
    ("turn", "session_id"): "delete",
    ("draft", "turn_id"): "delete",
    ("score", "draft_id"): "delete",
    ("reviewitem", "draft_id"): "delete",
    ("comment", "draft_id"): "delete",
    ("comment", "author_id"): "delete",
    ("reviewitem", "claimed_by_id"): "clear",
    ("reviewitem", "decided_by_id"): "clear",
    ("reviewitem", "assigned_to_id"): "clear",  # the drafts go back to nobody's queue in particular
    ("thresholdpolicy", "author_id"): "clear",
    ("secondreview", "reviewer_id"): "clear",  # a claim given back; a verdict kept, its reason cleared
    ("secondreview", "adjudicated_by_id"): "clear",
    ("auditevent", "actor_id"): "anonymise",
    ("job", "owner_id"): "delete",
    ("signinsession", "user_id"): "delete",
    ("apikey", "user_id"): "delete",  # with the idempotency records of the keys (answers they got)
    ("preset", "source_draft_id"): "delete",  # no foreign key: matched by value
    ("cacheentry", "session_id"): "delete",  # no foreign key: the answer's origin
    ("cacheentry", "draft_id"): "delete",
}


@dataclass
class DeletionReport:
    sessions: int = 0
    turns: int = 0
    drafts: int = 0
    scores: int = 0
    review_items: int = 0
    comments: int = 0
    jobs: int = 0
    api_keys: int = 0
    references: int = 0
    presets: int = 0
    cache_entries: int = 0
    audit_events_anonymised: int = 0
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "warnings"}


# -- export ---------------------------------------------------------------------------------


def export_user_data(*, session: Session, user_id: int, actor_id: Actor) -> dict[str, Any]:
    """Everything stored about a user, as plain JSON-ready data (the user themself, or an admin)."""
    user = _target(session, user_id, actor_id)
    sessions = list(
        session.exec(select(WritingSession).where(WritingSession.owner_id == user_id).order_by(col(WritingSession.id)))
    )
    projects = {p.id: p.name for p in session.exec(select(Project))}
    draft_ids = _draft_ids(user_id)
    exported_sessions = []
    for writing_session in sessions:
        turns = list(session.exec(select(Turn).where(Turn.session_id == writing_session.id).order_by(col(Turn.index))))
        exported_turns = []
        for turn in turns:
            drafts = session.exec(select(Draft).where(Draft.turn_id == turn.id).order_by(col(Draft.variant)))
            exported_turns.append({
                "index": turn.index, "kind": turn.kind, "instruction": turn.instruction,
                "created_at": _time(turn.created_at),
                "drafts": [_export_draft(session, draft, user_id) for draft in drafts],
            })
        exported_sessions.append({
            "public_id": writing_session.public_id, "title": writing_session.title,
            "project": projects.get(writing_session.project_id, ""), "params": writing_session.params,
            "created_at": _time(writing_session.created_at), "updated_at": _time(writing_session.updated_at),
            "turns": exported_turns,
        })
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": _time(utcnow()),
        "user": {"username": user.username, "role": user.role, "disabled": user.disabled,
                 "created_at": _time(user.created_at)},
        "sessions": exported_sessions,
        "comments_written": [
            {"draft_id": c.draft_id, "body": c.body, "created_at": _time(c.created_at)}
            for c in session.exec(select(Comment).where(Comment.author_id == user_id).order_by(col(Comment.id)))
        ],
        "review_decisions": [
            {"review_id": r.id, "draft_id": r.draft_id, "state": r.state, "reason": r.decision_reason,
             "edited_text": r.edited_text, "rubric": _marks(session, r.id), "decided_at": _time(r.decided_at)}
            for r in session.exec(select(ReviewItem).where(ReviewItem.decided_by_id == user_id).order_by(col(ReviewItem.id)))
        ],
        "second_reviews": [
            {"second_review_id": r.id, "review_id": r.item_id, "state": r.state, "verdict": r.verdict,
             "reason": r.reason, "decided_at": _time(r.decided_at)}
            for r in session.exec(select(SecondReview).where(SecondReview.reviewer_id == user_id)
                                  .order_by(col(SecondReview.id)))
        ],
        "adjudications": [
            {"second_review_id": r.id, "review_id": r.item_id, "verdict": r.adjudicated_verdict,
             "adjudicated_at": _time(r.adjudicated_at)}
            for r in session.exec(select(SecondReview).where(SecondReview.adjudicated_by_id == user_id)
                                  .order_by(col(SecondReview.id)))
        ],
        "threshold_changes": [
            {"project": projects.get(p.project_id, ""), "version": p.version, "thresholds": p.thresholds,
             "note": p.note, "created_at": _time(p.created_at)}
            for p in session.exec(select(ThresholdPolicy).where(ThresholdPolicy.author_id == user_id))
        ],
        "review_claims": [
            {"review_id": r.id, "draft_id": r.draft_id, "claim_expires_at": _time(r.claim_expires_at)}
            for r in session.exec(
                select(ReviewItem).where(held_by(user_id)).order_by(col(ReviewItem.id))
            )
        ],
        "review_assignments": [
            {"review_id": r.id, "draft_id": r.draft_id, "state": r.state, "assigned_at": _time(r.assigned_at)}
            for r in session.exec(
                select(ReviewItem).where(col(ReviewItem.assigned_to_id) == user.id).order_by(col(ReviewItem.id))
            )
        ],
        "jobs": [
            {"id": j.id, "kind": j.kind, "status": j.status, "error": j.error, "payload": j.payload,
             "created_at": _time(j.created_at)}
            for j in session.exec(select(Job).where(Job.owner_id == user_id).order_by(col(Job.id)))
        ],
        "api_keys": [
            {"name": k.name, "prefix": k.prefix, "project_id": k.project_id, "created_at": _time(k.created_at),
             "expires_at": _time(k.expires_at), "last_used_at": _time(k.last_used_at),
             "revoked_at": _time(k.revoked_at)}
            for k in session.exec(select(ApiKey).where(ApiKey.user_id == user_id).order_by(col(ApiKey.id)))
        ],
        "presets_from_your_drafts": [
            {"project": projects.get(p.project_id, ""), "instruction": p.instruction, "answer": p.answer,
             "draft_id": p.source_draft_id, "created_at": _time(p.created_at)}
            for p in session.exec(
                select(Preset).where(col(Preset.source_draft_id).in_(draft_ids)).order_by(col(Preset.id))
            )
        ],
        "references_from_your_drafts": [
            {"project": projects.get(r.project_id, ""), "text": r.text, "created_at": _time(r.created_at)}
            for r in _promoted_references(session, _draft_texts(session, draft_ids))
        ],
        "sign_ins": [
            {"created_at": _time(s.created_at), "last_seen_at": _time(s.last_seen_at), "address": s.address,
             "user_agent": s.user_agent, "expires_at": _time(s.expires_at), "revoked_at": _time(s.revoked_at),
             "revoked_reason": s.revoked_reason}
            for s in session.exec(select(SignInSession).where(SignInSession.user_id == user_id)
                                  .order_by(col(SignInSession.id)))
        ],
        "failed_sign_ins": [
            _time(f.created_at)
            for f in session.exec(
                select(LoginFailure).where(LoginFailure.scope == USER, LoginFailure.key == user_key(user.username))
                .order_by(col(LoginFailure.id))
            )
        ],
        "audit_events": [
            {"action": e.action, "target": e.target, "detail": e.detail, "created_at": _time(e.created_at)}
            for e in session.exec(
                select(AuditEvent).where(or_(col(AuditEvent.actor_id) == user_id, _naming(user.username)))
                .order_by(col(AuditEvent.id))
            )
        ],
    }
    audit.record(session, actor_id=actor_id, action="privacy.export", target=user.username,
                 sessions=len(exported_sessions))
    session.commit()
    return document


def export_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=str)


def _export_draft(session: Session, draft: Draft, user_id: int) -> dict[str, Any]:
    review = session.exec(select(ReviewItem).where(ReviewItem.draft_id == draft.id)).first()
    return {
        "id": draft.id, "variant": draft.variant, "text": draft.text, "status": draft.status, "error": draft.error,
        "finish_reason": draft.finish_reason, "provider": draft.provider, "model": draft.model,
        "params": draft.params, "prompt_tokens": draft.prompt_tokens, "completion_tokens": draft.completion_tokens,
        "latency_ms": draft.latency_ms, "route": draft.route, "route_reasons": draft.route_reasons,
        "policy_version": draft.policy_version, "language": draft.language, "created_at": _time(draft.created_at),
        "scores": [
            {"metric": s.metric, "value": s.value, "signature": s.signature}
            for s in session.exec(select(Score).where(Score.draft_id == draft.id).order_by(col(Score.id)))
        ],
        "review": None if review is None else {
            "state": review.state, "reasons": review.reasons, "detail": review.reason_detail,
            "decision_reason": review.decision_reason, "edited_text": review.edited_text,
            "rubric": _marks(session, review.id), "decided_at": _time(review.decided_at),
        },
        "comments": [
            {"by_you": c.author_id == user_id, "body": c.body, "created_at": _time(c.created_at)}
            for c in session.exec(select(Comment).where(Comment.draft_id == draft.id).order_by(col(Comment.id)))
        ],
    }


def _marks(session: Session, item_id: int | None) -> dict[str, bool]:
    """The rubric marks recorded with a decision ({item name: passed})."""
    return {name: passed for name, passed in session.exec(
        select(RubricMark.name, RubricMark.passed).where(RubricMark.item_id == item_id).order_by(col(RubricMark.id)))}


# -- deletion -------------------------------------------------------------------------------


def delete_user_data(
    *, session: Session, user_id: int, actor_id: Actor, password: str | None = None,
    settings: Settings | None = None,
) -> DeletionReport:
    """Delete a user's account and all their data (see the module's docstring).

    A user deleting themselves confirms with their password; an admin may delete anyone but
    the last enabled admin.
    """
    user = _target(session, user_id, actor_id)
    if actor_id == user_id and not verify_password(user.password_hash, password or ""):
        raise AuthenticationError("Confirm with your current password.")
    if user.role == Role.ADMIN and not user.disabled:
        from core.access.users import enabled_admin_count

        if enabled_admin_count(session) <= 1:
            raise ConflictError("This is the last admin; make someone else admin first.")
    report = DeletionReport()
    username = user.username
    session_ids = select(col(WritingSession.id)).where(WritingSession.owner_id == user_id)
    draft_ids = _draft_ids(user_id)
    texts = _draft_texts(session, draft_ids)
    forget_copies(session, session_ids=saved_ids(session.exec(session_ids)),
                  draft_ids=saved_ids(session.exec(draft_ids)), settings=settings, report=report)
    report.presets = _count(session.exec(delete(Preset).where(col(Preset.source_draft_id).in_(draft_ids))))

    _delete_drafts(session, draft_ids, report)
    report.turns = _count(session.exec(delete(Turn).where(col(Turn.session_id).in_(session_ids))))
    report.sessions = _count(session.exec(delete(WritingSession).where(col(WritingSession.owner_id) == user_id)))
    report.comments += _count(session.exec(delete(Comment).where(col(Comment.author_id) == user_id)))
    release_all(session=session, user_id=user_id)
    session.exec(update(ReviewItem).where(col(ReviewItem.claimed_by_id) == user_id).values(claimed_by_id=None))
    session.exec(update(ReviewItem).where(col(ReviewItem.assigned_to_id) == user_id)
                 .values(assigned_to_id=None, assigned_at=None))
    session.exec(
        update(ReviewItem).where(col(ReviewItem.decided_by_id) == user_id)
        .values(decided_by_id=None,
                decision_reason=case((col(ReviewItem.decision_reason) == "", ""), else_=DELETED_REASON))
    )
    session.exec(update(SecondReview).where(col(SecondReview.reviewer_id) == user_id,
                                            col(SecondReview.state) == SecondState.CLAIMED)
                 .values(state=SecondState.WAITING, reviewer_id=None, claim_expires_at=None))
    session.exec(update(SecondReview).where(col(SecondReview.reviewer_id) == user_id)
                 .values(reviewer_id=None, reason=case((col(SecondReview.reason) == "", ""), else_=DELETED_REASON)))
    session.exec(update(SecondReview).where(col(SecondReview.adjudicated_by_id) == user_id)
                 .values(adjudicated_by_id=None))
    session.exec(update(ThresholdPolicy).where(col(ThresholdPolicy.author_id) == user_id)
                 .values(author_id=None, note=""))
    report.jobs = _count(session.exec(delete(Job).where(col(Job.owner_id) == user_id)))
    report.api_keys = _delete_api_keys(session, user_id)
    report.references = _delete_promoted_references(session, texts)
    report.audit_events_anonymised += _anonymise_audit(session, user_id, username)
    session.exec(delete(LoginFailure).where(col(LoginFailure.scope) == USER,
                                            col(LoginFailure.key) == user_key(username)))
    session.exec(delete(SignInSession).where(col(SignInSession.user_id) == user_id))
    session.exec(delete(User).where(col(User.id) == user_id))
    audit.record(
        session, actor_id=None if actor_id == user_id else actor_id, action="privacy.delete", target="",
        by="self" if actor_id == user_id else Role.ADMIN, **report.counts(),
    )
    session.commit()
    scrub_storage(session, report)
    return report


# -- retention ------------------------------------------------------------------------------


def apply_retention(
    *, session: Session, days: int, settings: Settings | None = None, now: datetime | None = None,
    actor_id: Actor,
) -> DeletionReport:
    """Delete drafts created more than `days` days ago, like a user deletion does."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidInputError("Retention is a whole number of days, at least 1.")
    require_actor(session, actor_id, "admin")
    cutoff = (now or utcnow()) - timedelta(days=days)
    report = DeletionReport()
    draft_ids = select(col(Draft.id)).where(col(Draft.created_at) < cutoff)
    old_draft_ids = saved_ids(session.exec(draft_ids))
    forget_copies(session, session_ids=(), draft_ids=old_draft_ids, settings=settings, report=report)
    # a preset answer made from an old draft is the editors' now: it stays, without the link
    session.exec(update(Preset).where(col(Preset.source_draft_id).in_(draft_ids)).values(source_draft_id=None))
    _delete_drafts(session, draft_ids, report)
    with_drafts = select(Draft.turn_id).distinct()
    report.turns = _count(session.exec(
        delete(Turn).where(col(Turn.created_at) < cutoff, col(Turn.id).not_in(with_drafts))
    ))
    with_turns = select(Turn.session_id).distinct()
    old_session_ids = list(session.exec(
        select(WritingSession.id).where(col(WritingSession.updated_at) < cutoff, col(WritingSession.id).not_in(with_turns))
    ))
    for chunk in chunks(old_session_ids):
        report.sessions += _count(session.exec(delete(WritingSession).where(col(WritingSession.id).in_(chunk))))
    report.jobs = _count(session.exec(
        delete(Job).where(col(Job.created_at) < cutoff, col(Job.status).in_([s for s in JobStatus if s.finished]))
    ))
    if report.drafts or report.turns or report.sessions or report.jobs:
        audit.record(session, actor_id=actor_id, action="privacy.retention", target="", days=days, **report.counts())
    session.commit()
    if report.drafts or report.turns or report.sessions:
        scrub_storage(session, report)
    return report


# -- storage --------------------------------------------------------------------------------


def scrub_storage(session: Session, report: DeletionReport | None = None) -> bool:
    """SQLite: fold the write-ahead log into the database and truncate it, so deleted text
    (overwritten in the database by secure_delete) leaves no copy in the log either.
    True when done (or nothing to do); False when readers kept the log busy."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return True
    busy, _, _ = session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    session.commit()
    if busy and report is not None:
        report.warnings.append("The database log could not be truncated now (other readers); it will be at the next checkpoint.")
    return not busy


def _delete_drafts(session: Session, draft_ids: SelectOfScalar[int | None], report: DeletionReport) -> None:
    report.scores += _count(session.exec(delete(Score).where(col(Score.draft_id).in_(draft_ids))))
    report.comments += _count(session.exec(delete(Comment).where(col(Comment.draft_id).in_(draft_ids))))
    item_ids = select(ReviewItem.id).where(col(ReviewItem.draft_id).in_(draft_ids))
    session.exec(delete(SecondReview).where(col(SecondReview.item_id).in_(item_ids)))
    session.exec(delete(RubricMark).where(col(RubricMark.item_id).in_(item_ids)))
    report.review_items += _count(session.exec(delete(ReviewItem).where(col(ReviewItem.draft_id).in_(draft_ids))))
    # the IN subquery reads the draft table itself: materialise it before deleting from it
    ids = list(session.exec(draft_ids))
    for chunk in chunks(ids):
        report.drafts += _count(session.exec(delete(Draft).where(col(Draft.id).in_(chunk))))


def _delete_api_keys(session: Session, user_id: int) -> int:
    """The user's API keys, and the answers stored for their idempotent requests (copies of drafts)."""
    key_ids = select(ApiKey.id).where(ApiKey.user_id == user_id)
    session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.api_key_id).in_(key_ids)))
    return _count(session.exec(delete(ApiKey).where(col(ApiKey.user_id) == user_id)))


def _draft_texts(session: Session, draft_ids: SelectOfScalar[int | None]) -> set[str]:
    texts = {text for text in session.exec(select(Draft.text).where(col(Draft.id).in_(draft_ids))) if text}
    texts |= {
        text for text in session.exec(select(ReviewItem.edited_text).where(col(ReviewItem.draft_id).in_(draft_ids)))
        if text
    }
    return texts


def _draft_ids(user_id: int) -> SelectOfScalar[int | None]:
    """A subquery of the IDs of every draft in the user's sessions."""
    session_ids = select(WritingSession.id).where(WritingSession.owner_id == user_id)
    turn_ids = select(Turn.id).where(col(Turn.session_id).in_(session_ids))
    return select(col(Draft.id)).where(col(Draft.turn_id).in_(turn_ids))


def _promoted_references(session: Session, texts: set[str]) -> list[Reference]:
    """References promoted from a draft with one of these texts (they hold no link to the draft)."""
    if not texts:
        return []
    stripped = {text.strip() for text in texts}
    promoted = session.exec(select(Reference).where(Reference.source == "promoted").order_by(col(Reference.id)))
    return [reference for reference in promoted if reference.text in texts or reference.text.strip() in stripped]


def _delete_promoted_references(session: Session, texts: set[str]) -> int:
    doomed = _promoted_references(session, texts)
    for reference in doomed:
        session.delete(reference)
    return len(doomed)


def _naming(username: str) -> ColumnElement[bool]:
    """Audit events whose target is the user name (in any case)."""
    return or_(col(AuditEvent.target) == username, func.lower(AuditEvent.target) == username.lower())


def _anonymise_audit(session: Session, user_id: int, username: str) -> int:
    by_user = update(AuditEvent).where(col(AuditEvent.actor_id) == user_id).values(actor_id=None, target="", detail={})
    naming = update(AuditEvent).where(_naming(username)).values(target="", detail={})
    return _count(session.exec(by_user)) + _count(session.exec(naming))


def forget_copies(
    session: Session, *, session_ids: Sequence[int], draft_ids: Sequence[int], settings: Settings | None = None,
    report: DeletionReport | None = None,
) -> DeletionReport:
    """Before these writing sessions and drafts are deleted: remove the copies of their text kept
    elsewhere, namely the response cache's answers (purge_cached_answers) and reviewers' words about
    them in the audit trail (the review.* events of their review items, whose `reason` quotes the
    draft: target and detail cleared, the event kept). Counts go to `report` (a new one if None)."""
    report = report or DeletionReport()
    report.cache_entries += purge_cached_answers(
        session, session_ids=session_ids, draft_ids=draft_ids, settings=settings, report=report
    )
    item_ids = [item_id for chunk in chunks(list(draft_ids))
                for item_id in session.exec(select(ReviewItem.id).where(col(ReviewItem.draft_id).in_(chunk)))]
    for chunk in chunks([f"review:{item_id}" for item_id in item_ids]):
        report.audit_events_anonymised += _count(session.exec(
            update(AuditEvent).where(col(AuditEvent.target).in_(chunk)).values(target="", detail={})
        ))
    return report


def purge_cached_answers(
    session: Session, *, session_ids: Sequence[int], draft_ids: Sequence[int], settings: Settings | None = None,
    report: DeletionReport | None = None,
) -> int:
    """Delete the response cache's answers asked for these writing sessions or drafts: the
    CacheEntry rows in the caller's transaction, and the Redis entries at once when Redis is
    configured (`settings`, default: read now). The count deleted; a Redis failure is a warning
    (in `report`), never a failed deletion: its entries expire on their own."""
    removed = delete_by_origin(session, session_ids=session_ids, draft_ids=draft_ids)
    settings = settings or get_settings()
    if not settings.redis_url or not (session_ids or draft_ids):
        return removed
    client = redis_client(settings.redis_url)
    try:
        removed += RedisStore(client).purge_origins(session_ids=session_ids, draft_ids=draft_ids)
    except RedisError as err:
        logger.warning("could not purge the Redis response cache: %s", err)
        if report is not None:
            report.warnings.append(f"The Redis response cache could not be purged ({err}); its entries expire on their own.")
    finally:
        client.close()
    return removed


def _target(session: Session, user_id: int, actor_id: Actor) -> User:
    """The user whose data is asked for: the actor themself, anyone for an admin or the system (None)."""
    if actor_id != user_id:
        require_actor(session, actor_id, "admin")
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such user.")
    return user


def _count(result: CursorResult[Any]) -> int:
    return max(result.rowcount or 0, 0)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


SUMMARY_NOUNS = (("sessions", "session", None), ("turns", "turn", None), ("drafts", "draft", None),
                 ("comments", "comment", None), ("review_items", "review item", None), ("jobs", "job", None),
                 ("api_keys", "API key", None),
                 ("cache_entries", "cache entry", "cache entries"))


def summary(report: DeletionReport) -> str:
    """One line for a page or the command line."""
    counts = report.counts()
    parts = [count(counts[key], one, many) for key, one, many in SUMMARY_NOUNS if counts[key]]
    return ", ".join(parts) or "nothing"
