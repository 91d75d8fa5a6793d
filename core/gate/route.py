"""Routing: why a draft is accepted or goes to review. The only writer of Draft.route and of
who is in the review queue.

One builder decides every route, `route_decision`: the draft's scores under the policy's
thresholds and rule (core.gate.rules) and its reference-free checks under theirs
(core.gate.checks; computed for every draft, with references or without), and always to
review an empty draft, a project without references (unless the policy lets the checks alone
decide), a score without tokens and a sensitive word (core.writing.moderation); a preset
answer (core.gate.policies.PRESET_PROVIDER) is scored for the record, never routed by
thresholds. It decides at three moments:

    score_and_route       a completed draft's first routing: its scores, then accepted or into
                          the queue (a draft routed already is left as it is)
    rescore_draft         scored again (references changed): an open item whose draft now
                          passes leaves the queue, an accepted draft that now fails joins it
    apply_policy          a new policy version: open items that now pass leave the queue as
                          "accepted by policy vN", recent accepted drafts that now fail join it;
                          preview_queue_change shows first what it would move, preview_policy
                          counts the recent drafts each policy sends to review

The queue's membership moves only here (the verdicts are core.review's):

    (not in the queue) --join--> open <-> claimed --verdict--> approved | rejected
    open, or its lease ended --leave--> accepted --rejoin--> open

A verdict, an item a reviewer holds (core.review.claims.claimable), and the reasons no
threshold takes back (empty, sensitive words: POLICY_INDEPENDENT_REASONS) keep
an item where it is under a new policy. Scoring computes first, reading only, then writes in
one short transaction: no write lock is held while the metrics are computed. Scoring runs in
the caller's thread; core.gate.rescoring runs it as jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.access.actors import require_actor
from core.gate.checks import check_values
from core.gate.policies import (
    PRESET_PROVIDER,
    PolicySpec,
    add_version,
    commit_version,
    current_policy,
    validate_spec,
)
from core.gate.rules import ANY_BELOW, POLICY_INDEPENDENT_REASONS, RouteDecision, split_values
from core.gate.scores import (
    Values,
    check_text,
    completed_drafts,
    instruction_of,
    project_references,
    recent_scored_drafts,
    score_text,
    scores_by_draft,
    store_scores,
    values_of,
)
from core.platform import audit, constants
from core.platform.db import chunks, saved_id
from core.platform.errors import NotFoundError
from core.platform.models import (
    Draft,
    Project,
    Reference,
    ReviewItem,
    ThresholdPolicy,
    Turn,
    WritingSession,
    utcnow,
)
from core.platform.states import DraftStatus, ReviewState, Route
from core.review.claims import claimable
from core.review.items import BY_POLICY, RESCORED, UNDECIDED, item_for_draft
from core.scoring.checks import CheckReport
from core.writing.moderation import Matcher, active_matcher

LEFT_QUEUE, JOINED_QUEUE, UNCHANGED = "left_queue", "joined_queue", "unchanged"


@dataclass(frozen=True)
class PolicyPreview:
    drafts_considered: int
    to_review_now: int
    to_review_with_new: int


@dataclass(frozen=True)
class QueueChange:
    base_version: int  # the version in force when previewed
    leaving: tuple[int, ...]  # review item ids that would leave the open queue
    joining: tuple[int, ...]  # draft ids that would join it
    claimed_untouched: int  # items a reviewer holds now: never moved by a policy


@dataclass(frozen=True)
class AppliedPolicy:
    policy: ThresholdPolicy
    left: int
    joined: int


def route_decision(
    *,
    text: str,
    provider: str,
    scores: Mapping[str, float | None] | None,
    spec: PolicySpec,
    matcher: Matcher,
    checks: Mapping[str, float | None] | None = None,
    report: CheckReport | None = None,
) -> RouteDecision:
    """Where a draft goes (see the module docstring). `scores` None: the project has no reference;
    `checks`: the checks' values (None: not checked), `report`: the checks just computed."""
    sensitive = matcher.found(text)
    if provider == PRESET_PROVIDER:  # an editor's fixed answer: scored for the record, never threshold-routed
        return PolicySpec({}).decide(text, scores or {}, sensitive)
    return spec.decide(text, scores, sensitive, checks=checks, report=report)


def stored_decision(*, text: str, provider: str, values: Values, spec: PolicySpec, matcher: Matcher) -> RouteDecision:
    """route_decision on a draft's stored values (reference scores and checks together)."""
    scores, checks = split_values(values)
    return route_decision(text=text, provider=provider, scores=scores, spec=spec, matcher=matcher, checks=checks)


# -- scoring, then routing -----------------------------------------------------------------------


def project_of(session: Session, draft: Draft) -> int:
    turn = session.get_one(Turn, draft.turn_id)
    return session.get_one(WritingSession, turn.session_id).project_id


def _checks(session: Session, draft: Draft, project_id: int, references: Sequence[Reference]) -> CheckReport:
    project = session.get_one(Project, project_id)
    return check_text(draft.text, instruction=instruction_of(session, draft), references=references,
                      language=project.language)


def _draft_in_context(session: Session, draft_id: int) -> tuple[Draft, Turn, WritingSession, Project] | None:
    """The draft, its turn, session and project read in one query: while the caller holds them
    (the session's identity map keeps only weak references), it answers project_of,
    instruction_of and _checks without asking the database again."""
    found = session.exec(
        select(Draft, Turn, WritingSession, Project).join(Turn, col(Turn.id) == Draft.turn_id)
        .join(WritingSession, col(WritingSession.id) == Turn.session_id)
        .join(Project, col(Project.id) == WritingSession.project_id).where(Draft.id == draft_id)
    ).first()
    return None if found is None else (found[0], found[1], found[2], found[3])


def score_and_route(*, session: Session, draft_id: int, matcher: Matcher | None = None) -> Draft:
    """Score a completed draft against its project's references and route it by the policy in
    force (`matcher`: the sensitive words' matcher, if the caller has read it already)."""
    context = _draft_in_context(session, draft_id)
    if context is None:
        raise NotFoundError("No such draft.")
    draft = context[0]
    if draft.route:  # routed already (e.g. a second scoring job for the same draft)
        return draft
    project_id = project_of(session, draft)
    policy = current_policy(session=session, project_id=project_id)
    references = project_references(session, project_id)
    report = score_text(draft.text, references)
    checks = _checks(session, draft, project_id, references)
    decision = _decide(session, draft, values_of(report, references), checks, policy, matcher)
    _route(session, draft, decision, policy.version)  # (first: the draft's changes then go in one UPDATE)
    store_scores(session, draft, report, references, checks)
    if decision.route == Route.NEEDS_REVIEW:
        _join(session, draft, project_id, decision)
    session.commit()
    return draft


def rescore_draft(*, session: Session, draft_id: int, references: Sequence[Reference]) -> str:
    """Replace a completed draft's scores and re-route it (see the module docstring); commits.

    Returns LEFT_QUEUE, JOINED_QUEUE or UNCHANGED (also for a draft deleted meanwhile)."""
    context = _draft_in_context(session, draft_id)
    if context is None or context[0].status != DraftStatus.COMPLETED:
        return UNCHANGED
    draft = context[0]
    project_id = project_of(session, draft)
    policy = current_policy(session=session, project_id=project_id)
    report = score_text(draft.text, references)
    checks = _checks(session, draft, project_id, references)
    decision = _decide(session, draft, values_of(report, references), checks, policy)
    item = item_for_draft(session=session, draft_id=saved_id(draft))
    store_scores(session, draft, report, references, checks)
    outcome = _follow(session, draft, item, project_id, decision, policy.version)
    session.commit()
    return outcome


def _decide(
    session: Session, draft: Draft, scores: Values | None, checks: CheckReport, policy: ThresholdPolicy,
    matcher: Matcher | None = None,
) -> RouteDecision:
    return route_decision(text=draft.text, provider=draft.provider, scores=scores, spec=PolicySpec.of(policy),
                          matcher=active_matcher(session=session) if matcher is None else matcher,
                          checks=check_values(checks),
                          report=checks)


def _follow(
    session: Session, draft: Draft, item: ReviewItem | None, project_id: int, decision: RouteDecision, version: int
) -> str:
    """The route and the queue follow a routed draft's new decision; what a reviewer holds or decided stays."""
    if item is None:
        joins = decision.route == Route.NEEDS_REVIEW and draft.route != Route.NEEDS_REVIEW
        if joins:
            _join(session, draft, project_id, decision)
        _route(session, draft, decision, version)
        return JOINED_QUEUE if joins else UNCHANGED
    if decision.route == Route.ACCEPTED:
        left = _leave(session, saved_id(item), version, RESCORED.format(version=version))
        return LEFT_QUEUE if left else UNCHANGED
    if _rejoin(session, draft, item, project_id, decision, version):
        return JOINED_QUEUE
    if item.state == ReviewState.OPEN:  # stays in the queue: its reasons now tell the new scores
        item.reasons, item.reason_detail, item.reason_parts = (list(decision.reasons), decision.detail,
                                                               decision.stored_parts())
        session.add(item)
        _route(session, draft, decision, version)
    return UNCHANGED


# -- a new policy --------------------------------------------------------------------------------


def preview_policy(
    *,
    session: Session,
    project_id: int,
    thresholds: Mapping[str, float | None],
    rule: str = ANY_BELOW,
    weights: Mapping[str, float] | None = None,
    composite_threshold: float | None = None,
    limit: int = constants.POLICY_RECENT_DRAFTS,
) -> PolicyPreview:
    """How many of the recent scored drafts go to review now, and would under the new policy."""
    current = PolicySpec.of(current_policy(session=session, project_id=project_id))
    new = validate_spec(thresholds, rule, weights, composite_threshold)
    rows = recent_scored_drafts(session=session, project_id=project_id, limit=limit)
    texts = _texts(session, [draft_id for draft_id, _ in rows])
    matcher = active_matcher(session=session)

    def to_review(spec: PolicySpec) -> int:
        return sum(
            stored_decision(text=texts[d][0], provider=texts[d][1], values=values, spec=spec, matcher=matcher).route
            == Route.NEEDS_REVIEW
            for d, values in rows
        )

    return PolicyPreview(len(rows), to_review(current), to_review(new))


def preview_queue_change(*, session: Session, project_id: int, spec: PolicySpec) -> QueueChange:
    """What applying `spec` would change in the project's review queue (nothing is written)."""
    change, _ = _queue_change(session, project_id, validate_spec(
        spec.thresholds, spec.rule, spec.weights, spec.composite_threshold))
    return change


def apply_policy(
    *,
    session: Session,
    project_id: int,
    spec: PolicySpec,
    author_id: int,
    note: str = "",
    expected_version: int | None = None,
) -> AppliedPolicy:
    """Save `spec` as the next version and re-route the queue by it, in one transaction, with
    an audit entry. Refused if another version was saved since the preview (expected_version)."""
    spec = validate_spec(spec.thresholds, spec.rule, spec.weights, spec.composite_threshold)
    require_actor(session, author_id, "thresholds")  # before the preview: refuse early, change nothing
    change, joining = _queue_change(session, project_id, spec)
    policy = add_version(session, project_id, spec, author_id, note, expected_version)
    reason = BY_POLICY.format(version=policy.version)
    left = sum(_leave(session, item_id, policy.version, reason) for item_id in change.leaving)
    joined = sum(
        _rejoin(session, session.get_one(Draft, draft_id), item_for_draft(session=session, draft_id=draft_id),
                project_id, joining[draft_id], policy.version)
        for draft_id in change.joining
    )
    audit.record(
        session, actor_id=author_id, action="policy.apply", target=f"project:{project_id}",
        version=policy.version, left_queue=left, joined_queue=joined,
        claimed_untouched=change.claimed_untouched,
    )
    commit_version(session, policy)
    return AppliedPolicy(policy, left, joined)


def _queue_change(session: Session, project_id: int, spec: PolicySpec) -> tuple[QueueChange, dict[int, RouteDecision]]:
    """The change `spec` would make, and the decisions of the drafts that would join."""
    base = current_policy(session=session, project_id=project_id).version
    now = utcnow()
    undecided = session.exec(
        select(ReviewItem, claimable(now).label("free"))
        .where(ReviewItem.project_id == project_id, col(ReviewItem.state).in_(UNDECIDED))
        .order_by(col(ReviewItem.id))
    ).all()
    movable = [item for item, free in undecided if free and not set(item.reasons) & POLICY_INDEPENDENT_REASONS]
    staying = _decisions(session, [item.draft_id for item in movable], spec)
    leaving = tuple(saved_id(item) for item in movable
                    if item.draft_id in staying and staying[item.draft_id].route == Route.ACCEPTED)

    since = now - timedelta(days=constants.REROUTE_RECENT_DAYS)
    accepted = list(session.exec(
        completed_drafts(project_id)
        .join(ReviewItem, col(ReviewItem.draft_id) == Draft.id, isouter=True)
        .where(Draft.route == Route.ACCEPTED, col(Draft.created_at) >= since,
               col(ReviewItem.id).is_(None) | (ReviewItem.state == ReviewState.ACCEPTED))
    ))
    joining = {d: decision for d, decision in _decisions(session, accepted, spec).items()
               if decision.route == Route.NEEDS_REVIEW}
    held = sum(not free for _, free in undecided)
    return QueueChange(base, leaving, tuple(d for d in accepted if d in joining), held), joining


def _decisions(session: Session, draft_ids: Sequence[int], spec: PolicySpec) -> dict[int, RouteDecision]:
    """The decisions under `spec` of those drafts that have stored scores (the others are left alone)."""
    scores = scores_by_draft(session, draft_ids)
    texts = _texts(session, [d for d in draft_ids if scores[d]])
    matcher = active_matcher(session=session)
    return {d: stored_decision(text=text, provider=provider, values=scores[d], spec=spec, matcher=matcher)
            for d, (text, provider) in texts.items()}


def _texts(session: Session, draft_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """{draft id: (text, provider)}."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in chunks(draft_ids):
        query = select(Draft.id, Draft.text, Draft.provider).where(col(Draft.id).in_(chunk))
        out.update((draft_id, (text, provider)) for draft_id, text, provider in session.exec(query)
                   if draft_id is not None)
    return out


# -- the only writes of Draft.route and of the queue's membership (in the caller's transaction) --


def _route(session: Session, draft: Draft, decision: RouteDecision, version: int) -> None:
    draft.route, draft.route_reasons, draft.policy_version = decision.route, list(decision.reasons), version
    session.add(draft)


def _join(session: Session, draft: Draft, project_id: int, decision: RouteDecision) -> None:
    """The draft enters the queue, open."""
    session.add(ReviewItem(draft_id=saved_id(draft), project_id=project_id, state=ReviewState.OPEN,
                           reasons=list(decision.reasons), reason_detail=decision.detail,
                           reason_parts=decision.stored_parts()))


def _leave(session: Session, item_id: int, version: int, reason: str) -> bool:
    """An open item (or one whose lease ended) leaves the queue, its draft accepted; False if a
    reviewer took it meanwhile."""
    now = utcnow()
    result = session.exec(
        update(ReviewItem)
        .where(col(ReviewItem.id) == item_id, claimable(now))
        .values(state=ReviewState.ACCEPTED, decision_reason=reason, decided_at=now, claimed_by_id=None,
                claim_expires_at=None, version=ReviewItem.version + 1)
    )
    if result.rowcount != 1:
        return False
    item = session.get_one(ReviewItem, item_id)
    session.refresh(item)
    _route(session, session.get_one(Draft, item.draft_id), RouteDecision(Route.ACCEPTED), version)
    return True


def _rejoin(
    session: Session, draft: Draft, item: ReviewItem | None, project_id: int, decision: RouteDecision, version: int
) -> bool:
    """An accepted draft the decision flags joins the queue (again, if it had left it); True if it joined."""
    if decision.route != Route.NEEDS_REVIEW:
        return False
    if item is None:
        _join(session, draft, project_id, decision)
    else:
        result = session.exec(
            update(ReviewItem)
            .where(col(ReviewItem.id) == item.id, col(ReviewItem.state) == ReviewState.ACCEPTED)
            .values(state=ReviewState.OPEN, reasons=list(decision.reasons), reason_detail=decision.detail,
                    reason_parts=decision.stored_parts(),
                    decided_at=None, decision_reason="", version=ReviewItem.version + 1)
        )
        if result.rowcount != 1:
            return False
    _route(session, draft, decision, version)
    return True
