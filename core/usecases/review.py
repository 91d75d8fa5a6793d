"""The review queue's actions, for the Review page and (soon) the API: thin, core.review does the work.

    next_item                        the item to open next with the reviewer's filters (reading is free: not claimed)
    claim / claim_next / release     a reviewer takes an item (a lease of DRAFTGATE_CLAIM_LEASE_MINUTES)
    decide                           approve (or edit, then approve) or reject a claimed item
    decide_as_seen                   the same from a decision button: the item is claimed first if need be,
                                     provided it has not changed since the reviewer opened it
    set_rubric / rubric_of / marks_of   a project's rubric (editors), the marks recorded with a decision
    first_decision_hidden            whether a viewer is blind to an item's first decision (a second review)
    comment                          a reviewer's note on a draft, shown to its writer
    promote                          an approved draft becomes a reference, or a preset answer
    queue / queue_counts / writers   the undecided items, filtered and sorted as on the Review page (the
                                     viewer's assigned items first), their counts by reason, the writers
    assign / unassign / reviewer_load  an editor asks a reviewer to decide items (a hint), each reviewer's load
    bulk_decide                      an editor approves or rejects a selection with one reason, item by item
    second reviews                   set_second_review_share, take_second_review, decide_second_review,
                                     adjudicate (an editor, on a disagreement), reviewer_agreement,
                                     agreement_report (the Dashboard's: by name, per project, over time)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlmodel import col, select

from core.access.actors import Actor
from core.access.roles import AREA_ROLES, require
from core.platform.db import open_session, saved_id
from core.platform.models import Comment, Preset, Project, Reference, ReviewItem, SecondReview, User, utcnow
from core.platform.states import ReviewState
from core.review import agreement, assignments, bulk, claims, comments, decisions, items, rubric, second
from core.review.assignments import Load, Outcome
from core.review.queue import QueueEntry, list_queue, reason_counts
from core.runtime import Runtime
from core.writing.presets import preset_from_review

PromoteTo = Literal["reference", "preset"]


def next_item(
    runtime: Runtime, reviewer: User, *, after: int | None = None, project_id: int | None = None,
    reason: str | None = None, language: str | None = None, writer_id: int | None = None,
) -> int | None:
    """The item to open next with these filters: the one the reviewer holds, then those assigned
    to them, then the unassigned, then the rest; not claimed (reading is free)."""
    with open_session(runtime.engine) as db:
        return claims.next_item(session=db, reviewer=reviewer, after=after, project_id=project_id, reason=reason,
                                language=language, writer_id=writer_id)


def claim(runtime: Runtime, reviewer: User, *, item_id: int, seen_version: int | None = None) -> ReviewItem:
    """Take an item for yourself (claiming one you hold renews its lease); with `seen_version`,
    only if it is still as the reviewer saw it."""
    with open_session(runtime.engine) as db:
        return claims.claim(session=db, item_id=item_id, reviewer=reviewer,
                            lease_minutes=runtime.settings.claim_lease_minutes, seen_version=seen_version)


def claim_next(
    runtime: Runtime, reviewer: User, *, project_id: int | None = None, reason: str | None = None,
    language: str | None = None, writer_id: int | None = None,
) -> ReviewItem | None:
    """The next item matching the filters (as next_item), claimed; None when there is none."""
    with open_session(runtime.engine) as db:
        return claims.claim_next(session=db, reviewer=reviewer, project_id=project_id, reason=reason,
                                 language=language, writer_id=writer_id,
                                 lease_minutes=runtime.settings.claim_lease_minutes)


def release(runtime: Runtime, reviewer: User, *, item_id: int) -> None:
    with open_session(runtime.engine) as db:
        claims.release(session=db, item_id=item_id, reviewer=reviewer)


Marks = Mapping[str, bool | None]  # rubric item -> passed (True), failed (False), unmarked (None)


def decide(
    runtime: Runtime, reviewer: User, *, item_id: int, verdict: str, expected_version: int, reason: str = "",
    edited_text: str | None = None, marks: Marks | None = None,
) -> ReviewItem:
    """Approve or reject a claimed item; `expected_version` is the item as the reviewer saw it;
    `marks`: the project's rubric items as the reviewer marked them."""
    with open_session(runtime.engine) as db:
        return decisions.decide(session=db, item_id=item_id, reviewer=reviewer, verdict=verdict, reason=reason,
                                edited_text=edited_text, expected_version=expected_version, marks=marks)


def decide_as_seen(
    runtime: Runtime, reviewer: User, *, item_id: int, seen_version: int, verdict: str, reason: str = "",
    edited_text: str | None = None, marks: Marks | None = None,
) -> ReviewItem:
    """A decision made on an item as the reviewer read it (version `seen_version`): one they hold
    is decided; one nobody holds is claimed, then decided. An incomplete decision (a rejection
    without a reason, a mark of an item not on the rubric) is refused before anything is claimed."""
    decisions.check_decision(verdict=verdict, reason=reason, edited_text=edited_text)
    with open_session(runtime.engine) as db:
        decisions.check_marks_of_item(db, item_id, marks)
        item = items.get_item(session=db, item_id=item_id)
        version = seen_version
        if not (item.state == ReviewState.CLAIMED and item.claimed_by_id == reviewer.id):
            version = claims.claim(session=db, item_id=item_id, reviewer=reviewer, seen_version=seen_version,
                                   lease_minutes=runtime.settings.claim_lease_minutes).version
        return decisions.decide(session=db, item_id=item_id, reviewer=reviewer, verdict=verdict, reason=reason,
                                edited_text=edited_text, expected_version=version, marks=marks)


def set_rubric(runtime: Runtime, actor_id: Actor, *, project_id: int, names: Sequence[str]) -> Project:
    """The project's rubric (item names, in order; empty: none) from now on; past decisions keep their marks."""
    with open_session(runtime.engine) as db:
        return rubric.set_rubric(session=db, project_id=project_id, names=names, actor_id=actor_id)


def rubric_of(runtime: Runtime, user: User, *, project_id: int) -> list[str]:
    """The project's rubric in force (reviewers, editors, admins)."""
    require(user.role, "review")
    with open_session(runtime.engine) as db:
        return rubric.project_rubric(session=db, project_id=project_id)


def marks_of(runtime: Runtime, user: User, *, item_id: int) -> dict[str, bool]:
    """The rubric marks recorded with an item's decision ({name: passed}); none for a viewer blind
    to its first decision (core.review.second.first_decision_hidden)."""
    require(user.role, "review")
    with open_session(runtime.engine) as db:
        if second.first_decision_hidden(session=db, viewer=user, items=[items.get_item(session=db, item_id=item_id)]):
            return {}
        return rubric.marks_of(session=db, item_id=item_id)


def first_decision_hidden(runtime: Runtime, user: User, *, item_id: int) -> bool:
    """Whether the user must not see the item's first decision (its verdict, reason, edit, marks):
    they hold its blind second review, or may still take it."""
    with open_session(runtime.engine) as db:
        return bool(second.first_decision_hidden(session=db, viewer=user,
                                                 items=[items.get_item(session=db, item_id=item_id)]))


def comment(runtime: Runtime, author: User, *, draft_id: int, body: str) -> Comment:
    with open_session(runtime.engine) as db:
        return comments.add_comment(session=db, draft_id=draft_id, author=author, body=body)


def promote(runtime: Runtime, actor: User, *, item_id: int, to: PromoteTo) -> Reference | Preset:
    """An approved item's text becomes a reference of its project, or a preset answer to its instruction."""
    with open_session(runtime.engine) as db:
        if to == "preset":
            return preset_from_review(session=db, item_id=item_id, actor_id=saved_id(actor))
        return decisions.promote_to_reference(session=db, item_id=item_id, actor=actor)


def queue(
    runtime: Runtime, reviewer: User, *, project_id: int | None = None, reason: str | None = None,
    language: str | None = None, writer_id: int | None = None, sort: str = "oldest", metric: str = "chrf",
    older_than_hours: float | None = None, limit: int = 200,
) -> list[QueueEntry]:
    """The undecided items, as the Review page lists them (reviewers, editors, admins): the ones
    assigned to this reviewer first."""
    require(reviewer.role, "review")
    with open_session(runtime.engine) as db:
        return list_queue(session=db, project_id=project_id, reason=reason, language=language, writer_id=writer_id,
                          sort=sort, metric=metric, older_than_hours=older_than_hours, viewer_id=reviewer.id,
                          limit=limit)


def queue_counts(runtime: Runtime, reviewer: User, *, project_id: int | None = None) -> dict[str, int]:
    """How many undecided items carry each reason."""
    require(reviewer.role, "review")
    with open_session(runtime.engine) as db:
        return reason_counts(session=db, project_id=project_id)


def writers(runtime: Runtime, reviewer: User) -> dict[int, str]:
    """{user id: name} of the users who may write, for the queue's writer filter."""
    require(reviewer.role, "review")
    writing = [role.value for role in AREA_ROLES["write"]]
    with open_session(runtime.engine) as db:
        rows = db.exec(select(User.id, User.username).where(col(User.role).in_(writing)).order_by(col(User.username)))
        return {user_id: name for user_id, name in rows if user_id is not None}


def assign(runtime: Runtime, editor: User, *, item_ids: Sequence[int], reviewer_id: int) -> Outcome:
    """Ask a reviewer to decide these items (editors, admins): they come first in that reviewer's queue."""
    with open_session(runtime.engine) as db:
        return assignments.assign(session=db, editor=editor, item_ids=item_ids, reviewer_id=reviewer_id)


def unassign(runtime: Runtime, editor: User, *, item_ids: Sequence[int]) -> Outcome:
    with open_session(runtime.engine) as db:
        return assignments.assign(session=db, editor=editor, item_ids=item_ids, reviewer_id=None)


def reviewer_load(runtime: Runtime, editor: User) -> list[Load]:
    """Each reviewer's undecided assigned items (editors, admins)."""
    with open_session(runtime.engine) as db:
        return assignments.open_load(session=db, viewer=editor)


def bulk_decide(
    runtime: Runtime, editor: User, *, seen: Mapping[int, int], verdict: str, reason: str = ""
) -> Outcome:
    """Approve or reject several items ({item id: the version the editor saw}) with one reason;
    items someone else holds or that changed meanwhile are skipped, each with why."""
    with open_session(runtime.engine) as db:
        return bulk.decide_many(session=db, editor=editor, seen=seen, verdict=verdict, reason=reason,
                                lease_minutes=runtime.settings.claim_lease_minutes)


# -- second reviews and agreement (core.review.second, core.review.agreement) -------------------


def set_second_review_share(runtime: Runtime, editor: User, *, project_id: int, share: float) -> Project:
    """The share (0-1) of a project's decided items that go blind to a second reviewer."""
    with open_session(runtime.engine) as db:
        return second.set_share(session=db, actor=editor, project_id=project_id, share=share)


def take_second_review(runtime: Runtime, reviewer: User, *, project_id: int | None = None) -> SecondReview | None:
    with open_session(runtime.engine) as db:
        return second.take_second(session=db, reviewer=reviewer, project_id=project_id,
                                  lease_minutes=runtime.settings.claim_lease_minutes)


def decide_second_review(
    runtime: Runtime, reviewer: User, *, second_id: int, verdict: str, reason: str = "", expected_version: int
) -> SecondReview:
    with open_session(runtime.engine) as db:
        return second.decide_second(session=db, reviewer=reviewer, second_id=second_id, verdict=verdict,
                                    reason=reason, expected_version=expected_version)


def adjudicate(runtime: Runtime, editor: User, *, second_id: int, verdict: str, reason: str = "") -> SecondReview:
    with open_session(runtime.engine) as db:
        return second.adjudicate(session=db, editor=editor, second_id=second_id, verdict=verdict, reason=reason)


def reviewer_agreement(runtime: Runtime, editor: User, *, project_id: int | None = None) -> agreement.Agreement:
    """How far first and second reviewers agree (percent, Cohen's kappa, Krippendorff's alpha), all time."""
    with open_session(runtime.engine) as db:
        counts = second.paired_counts(session=db, viewer=editor, project_id=project_id)
    return agreement.agreement_of_pairs(_combinations(counts))


@dataclass(frozen=True)
class NamedPair:
    first: str  # the reviewers' display names (user names), in the pair's order
    second: str
    figures: agreement.PairAgreement


@dataclass(frozen=True)
class AgreementReport:
    """The Dashboard's agreement between reviewers over a period: the chosen projects together
    (`overall`, its pairs by name), each project alone, and each week (or month) of the period."""

    overall: agreement.Agreement
    pairs: list[NamedPair]
    projects: list[tuple[str, agreement.Agreement]]  # (project name, its figures), projects with items
    periods: list[tuple[str, agreement.Agreement]]  # (first day, ISO), oldest first; weeks, months beyond 90 days
    by_month: bool


def agreement_report(
    runtime: Runtime, editor: User, *, project_id: int | None = None, days: int = 30, now: datetime | None = None
) -> AgreementReport:
    """Agreement of the items whose second review was decided in the last `days` days (editors, admins)."""
    since = (now or utcnow()) - timedelta(days=days)
    with open_session(runtime.engine) as db:
        counts = second.paired_counts(session=db, viewer=editor, project_id=project_id, since=since)
        reviewer_ids = {i for c in counts for i in (c.first_id, c.second_id)}
        names: dict[Hashable, str] = {i: name for i, name in db.exec(  # Result.keys() would mislead dict()
            select(User.id, User.username).where(col(User.id).in_(reviewer_ids)))}
        project_names = {i: name for i, name in db.exec(select(Project.id, Project.name))}
    overall = agreement.agreement_of_pairs(_combinations(counts))
    by_month = days > 90
    by_project, by_period = defaultdict(list), defaultdict(list)
    for count in counts:
        by_project[project_names.get(count.project_id, str(count.project_id))].append(count)
        by_period[_period_start(count.day, by_month)].append(count)
    return AgreementReport(
        overall=overall,
        pairs=[NamedPair(names.get(a, str(a)), names.get(b, str(b)), pair) for pair in overall.pairs
               for a, b in [pair.reviewers]],
        projects=[(name, agreement.agreement_of_pairs(_combinations(rows), by_pair=False))
                  for name, rows in sorted(by_project.items())],
        periods=[(start, agreement.agreement_of_pairs(_combinations(rows), by_pair=False))
                 for start, rows in sorted(by_period.items())],
        by_month=by_month,
    )


def _combinations(counts: Sequence[second.PairedCount]) -> agreement.PairCounts:
    combined: dict[tuple[Hashable, str, Hashable, str], int] = defaultdict(int)
    for c in counts:
        combined[(c.first_id, c.first_verdict, c.second_id, c.second_verdict)] += c.items
    return combined


def _period_start(day: str, by_month: bool) -> str:
    moment = date.fromisoformat(day)
    return (moment.replace(day=1) if by_month else moment - timedelta(days=moment.weekday())).isoformat()
