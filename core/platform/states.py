"""The states things go through, and the roles people have: one enum each, never bare strings.

    Draft           generating -> completed | failed | interrupted | stopped
    Draft.route     pending ("": not routed yet) -> accepted | needs_review
    ReviewItem      open -> claimed -> approved | rejected;  open -> accepted (a policy or new
                    scores let it pass) -> open (a later policy flags it again)
    Job             queued -> running -> succeeded | failed | cancelled

The values are what the database stores (StrEnum: a member equals its string).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WRITER = "writer"
    REVIEWER = "reviewer"
    EDITOR = "editor"
    ADMIN = "admin"


class DraftStatus(StrEnum):
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"  # the writer pressed Stop


class Route(StrEnum):
    PENDING = ""  # not scored and routed yet
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"


class ReviewState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # left the queue: a new policy or new scores let the draft pass


class SecondState(StrEnum):
    """A second review (core.review.second)."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    AGREED = "agreed"
    DISAGREED = "disagreed"  # waits for an editor's adjudication
    ADJUDICATED = "adjudicated"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
