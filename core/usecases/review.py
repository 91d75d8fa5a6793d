"""The review queue's actions, for the Review page and (soon) the API: thin, core.review does the work.

    next_item                        the item to open next with the reviewer's filters (reading is free: not claimed)
    claim / claim_next / release     a reviewer takes an item (a lease of DRAFTGATE_CLAIM_LEASE_MINUTES)
    decide                           approve (or edit, then approve) or reject a claimed item
    decide_as_seen                   the same from a decision button: the item is claimed first if need be,
                                     provided it has not changed since the reviewer opened it
    comment                          a reviewer's note on a draft, shown to its writer
    promote                          an approved draft becomes a reference, or a preset answer
    queue                            the undecided items, filtered and sorted as on the Review page
    second reviews                   set_second_review_share, take_second_review, decide_second_review,
                                     adjudicate (an editor, on a disagreement), reviewer_agreement
"""

from __future__ import annotations

from typing import Literal

from core.access.roles import require
from core.platform.db import open_session, saved_id
from core.platform.models import Comment, Preset, Project, Reference, ReviewItem, SecondReview, User
from core.platform.states import ReviewState
from core.review import agreement, claims, comments, decisions, items, second
from core.review.queue import QueueEntry, list_queue
from core.runtime import Runtime
from core.writing.presets import preset_from_review

PromoteTo = Literal["reference", "preset"]


def next_item(
    runtime: Runtime, reviewer: User, *, after: int | None = None, project_id: int | None = None,
    reason: str | None = None,
) -> int | None:
    with open_session(runtime.engine) as db:
        return claims.next_item(session=db, reviewer=reviewer, after=after, project_id=project_id, reason=reason)


def claim(runtime: Runtime, reviewer: User, *, item_id: int, seen_version: int | None = None) -> ReviewItem:
    """Take an item for yourself (claiming one you hold renews its lease); with `seen_version`,
    only if it is still as the reviewer saw it."""
    with open_session(runtime.engine) as db:
        return claims.claim(session=db, item_id=item_id, reviewer=reviewer,
                            lease_minutes=runtime.settings.claim_lease_minutes, seen_version=seen_version)


def claim_next(
    runtime: Runtime, reviewer: User, *, project_id: int | None = None, reason: str | None = None
) -> ReviewItem | None:
    """The oldest unclaimed item matching the filters, claimed; None when there is none."""
    with open_session(runtime.engine) as db:
        return claims.claim_next(session=db, reviewer=reviewer, project_id=project_id, reason=reason,
                                lease_minutes=runtime.settings.claim_lease_minutes)


def release(runtime: Runtime, reviewer: User, *, item_id: int) -> None:
    with open_session(runtime.engine) as db:
        claims.release(session=db, item_id=item_id, reviewer=reviewer)


def decide(
    runtime: Runtime, reviewer: User, *, item_id: int, verdict: str, expected_version: int, reason: str = "",
    edited_text: str | None = None,
) -> ReviewItem:
    """Approve or reject a claimed item; `expected_version` is the item as the reviewer saw it."""
    with open_session(runtime.engine) as db:
        return decisions.decide(session=db, item_id=item_id, reviewer=reviewer, verdict=verdict, reason=reason,
                            edited_text=edited_text, expected_version=expected_version)


def decide_as_seen(
    runtime: Runtime, reviewer: User, *, item_id: int, seen_version: int, verdict: str, reason: str = "",
    edited_text: str | None = None,
) -> ReviewItem:
    """A decision made on an item as the reviewer read it (version `seen_version`): one they hold
    is decided; one nobody holds is claimed, then decided. An incomplete decision (a rejection
    without a reason) is refused before anything is claimed."""
    decisions.check_decision(verdict=verdict, reason=reason, edited_text=edited_text)
    with open_session(runtime.engine) as db:
        item = items.get_item(session=db, item_id=item_id)
        version = seen_version
        if not (item.state == ReviewState.CLAIMED and item.claimed_by_id == reviewer.id):
            version = claims.claim(session=db, item_id=item_id, reviewer=reviewer, seen_version=seen_version,
                                   lease_minutes=runtime.settings.claim_lease_minutes).version
        return decisions.decide(session=db, item_id=item_id, reviewer=reviewer, verdict=verdict, reason=reason,
                                edited_text=edited_text, expected_version=version)


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
    sort: str = "oldest", limit: int = 200,
) -> list[QueueEntry]:
    """The undecided items, as the Review page lists them (reviewers, editors, admins)."""
    require(reviewer.role, "review")
    with open_session(runtime.engine) as db:
        return list_queue(session=db, project_id=project_id, reason=reason, sort=sort, limit=limit)


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
    """How far first and second reviewers agree (percent, Cohen's kappa, Krippendorff's alpha)."""
    with open_session(runtime.engine) as db:
        decisions = second.paired_decisions(session=db, viewer=editor, project_id=project_id)
    return agreement.agreement(decisions)
