"""The quality gate on a stored draft: score it against its project's references, then route it.

    score_and_route   a completed draft's first routing: its scores, then accepted or into the
                      review queue (a draft already routed is left as it is)
    rescore_draft     score a draft again (references changed) and let its route follow the new
                      scores under the policy in force: an open review item whose draft now
                      passes leaves the queue, an accepted draft that now fails joins it; a
                      reviewer's verdict, and an item a reviewer holds, are never changed

Both run in the caller's thread; core.gate.rescoring runs them as jobs, off a page's thread. Each
computes first, reading only (the scores of at most MAX_SCORED_CHARS of each text), then writes
in one short transaction: no write lock is held while the metrics are computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.platform import constants
from core.writing import moderation
from core.platform.errors import NotFoundError
from core.platform.models import Draft, Reference, Score, ThresholdPolicy, Turn, WritingSession
from core.gate.policies import PRESET_PROVIDER, PolicySpec, current_policy
from core.review.queue import OPEN, item_for_draft, requeue, submit_for_review, withdraw
from core.gate.rules import ACCEPTED, NEEDS_REVIEW, RouteDecision
from core.scoring import ScoreReport, score, split_sentences

LEFT_QUEUE, JOINED_QUEUE, UNCHANGED = "left_queue", "joined_queue", "unchanged"


def project_of(session: Session, draft: Draft) -> int:
    turn = session.get(Turn, draft.turn_id)
    return session.get(WritingSession, turn.session_id).project_id


def project_references(session: Session, project_id: int) -> list[Reference]:
    return list(session.exec(select(Reference).where(Reference.project_id == project_id).order_by(col(Reference.id))))


def score_and_route(*, session: Session, draft_id: int) -> Draft:
    """Score a completed draft against its project's references and route it by the policy in force."""
    draft = _get(session, draft_id)
    if draft.route:  # routed already (e.g. a second scoring job for the same draft)
        return draft
    project_id = project_of(session, draft)
    policy = current_policy(session=session, project_id=project_id)
    references = project_references(session, project_id)
    assessment = _assess(session, draft, references, policy)
    decision = assessment.decision
    _store_scores(session, draft, assessment, references)
    _set_route(draft, decision, policy)
    session.add(draft)
    if decision.route == NEEDS_REVIEW:
        submit_for_review(session=session, draft=draft, project_id=project_id, decision=decision)
    session.commit()
    return draft


def rescore_draft(*, session: Session, draft_id: int, references: Sequence[Reference]) -> str:
    """Replace a completed draft's scores and re-route it (see the module docstring); commits.

    Returns LEFT_QUEUE, JOINED_QUEUE or UNCHANGED (also for a draft deleted meanwhile)."""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.status != "completed":
        return UNCHANGED
    project_id = project_of(session, draft)
    policy = current_policy(session=session, project_id=project_id)
    assessment = _assess(session, draft, references, policy)
    decision = assessment.decision
    item = item_for_draft(session=session, draft_id=draft.id)
    _store_scores(session, draft, assessment, references)
    outcome = UNCHANGED
    if item is None:
        if decision.route == NEEDS_REVIEW and draft.route != NEEDS_REVIEW:
            submit_for_review(session=session, draft=draft, project_id=project_id, decision=decision)
            outcome = JOINED_QUEUE
        _set_route(draft, decision, policy)
        session.add(draft)
    elif decision.route == ACCEPTED:
        reason = f"accepted after re-scoring (policy v{policy.version})"
        if withdraw(session=session, item_id=item.id, policy_version=policy.version, reason=reason):
            outcome = LEFT_QUEUE
    elif requeue(session=session, draft=draft, project_id=project_id, decision=decision,
                 policy_version=policy.version):
        outcome = JOINED_QUEUE
    elif item.state == OPEN:  # stays in the queue: its reasons now tell the new scores
        item.reasons, item.reason_detail = list(decision.reasons), decision.detail
        _set_route(draft, decision, policy)
        session.add_all([item, draft])
    session.commit()
    return outcome


@dataclass(frozen=True)
class _Assessment:
    decision: RouteDecision
    report: ScoreReport | None  # None: nothing to score against, or an empty draft


def _assess(
    session: Session, draft: Draft, references: Sequence[Reference], policy: ThresholdPolicy
) -> _Assessment:
    """Score the draft and decide its route, reading only: nothing is written or locked meanwhile."""
    report, values = None, None
    if references and draft.text.strip():
        candidate = scored_part(draft.text)
        report = score(candidate, [scored_part(r.text) for r in references],
                       lsum=len(split_sentences(candidate)) > 1)
        values = {item.metric: item.value for item in report.scores}
    elif references:
        values = {}
    sensitive = moderation.active_matcher(session=session).found(draft.text)
    if draft.provider == PRESET_PROVIDER:  # an editor's fixed answer: scored for the record, never threshold-routed
        return _Assessment(PolicySpec({}).decide(draft.text, values or {}, sensitive), report)
    return _Assessment(PolicySpec.of(policy).decide(draft.text, values, sensitive), report)


def scored_part(text: str) -> str:
    """What scoring reads of a text: its first MAX_SCORED_CHARS characters."""
    return text[:constants.MAX_SCORED_CHARS]


def _store_scores(session: Session, draft: Draft, assessment: _Assessment, references: Sequence[Reference]) -> None:
    """Replace the draft's scores with the assessment's (the caller commits)."""
    session.exec(delete(Score).where(col(Score.draft_id) == draft.id))
    report = assessment.report
    if report is None:
        return
    draft.language = report.language
    closest = report.closest_reference
    draft.closest_reference_id = None if closest is None else references[closest].id
    reference_ids = [r.id for r in references]
    for item in report.scores:
        session.add(Score(draft_id=draft.id, metric=item.metric, value=item.value,
                          signature=item.signature, reference_ids=reference_ids))


def _set_route(draft: Draft, decision: RouteDecision, policy: ThresholdPolicy) -> None:
    draft.route = decision.route
    draft.route_reasons = list(decision.reasons)
    draft.policy_version = policy.version


def _get(session: Session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFoundError("No such draft.")
    return draft
