"""The review queue's actions, for the Review page and (soon) the API: thin, core.review does the work.

    claim / claim_next / release     a reviewer takes an item (a lease of DRAFTGATE_CLAIM_LEASE_MINUTES)
    decide                           approve (or edit, then approve) or reject a claimed item
    comment                          a reviewer's note on a draft, shown to its writer
    promote                          an approved draft becomes a reference, or a preset answer
    queue                            the undecided items, filtered and sorted as on the Review page
"""

from __future__ import annotations

from typing import Literal

from core.access.roles import require
from core.platform.db import open_session
from core.platform.models import Comment, Preset, Reference, ReviewItem, User
from core.review import claims, comments, decisions
from core.review.queue import QueueEntry, list_queue
from core.runtime import Runtime
from core.writing.presets import preset_from_review

PromoteTo = Literal["reference", "preset"]


def claim(runtime: Runtime, reviewer: User, *, item_id: int) -> ReviewItem:
    """Take an item for yourself (claiming one you hold renews its lease)."""
    with open_session(runtime.engine) as db:
        return claims.claim(session=db, item_id=item_id, reviewer=reviewer,
                           lease_minutes=runtime.settings.claim_lease_minutes)


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


def comment(runtime: Runtime, author: User, *, draft_id: int, body: str) -> Comment:
    with open_session(runtime.engine) as db:
        return comments.add_comment(session=db, draft_id=draft_id, author=author, body=body)


def promote(runtime: Runtime, actor: User, *, item_id: int, to: PromoteTo) -> Reference | Preset:
    """An approved item's text becomes a reference of its project, or a preset answer to its instruction."""
    with open_session(runtime.engine) as db:
        if to == "preset":
            return preset_from_review(session=db, item_id=item_id, actor_id=actor.id)
        return decisions.promote_to_reference(session=db, item_id=item_id, actor=actor)


def queue(
    runtime: Runtime, reviewer: User, *, project_id: int | None = None, reason: str | None = None,
    sort: str = "oldest", limit: int = 200,
) -> list[QueueEntry]:
    """The undecided items, as the Review page lists them (reviewers, editors, admins)."""
    require(reviewer.role, "review")
    with open_session(runtime.engine) as db:
        return list_queue(session=db, project_id=project_id, reason=reason, sort=sort, limit=limit)
