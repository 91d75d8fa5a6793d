"""Comments on a draft by reviewers and editors; its writer reads them on the Write page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from core.access.roles import require
from core.platform import constants
from core.platform.db import chunks, saved_id
from core.platform.errors import NotFoundError
from core.platform.models import Comment, Draft, User
from core.platform.text import check_text


def add_comment(*, session: Session, draft_id: int, author: User, body: str) -> Comment:
    """A reviewer's (or editor's) comment on a draft; its writer sees it on the Write page."""
    require(author.role, "review")
    body = check_text(body, what="A comment", max_chars=constants.COMMENT_MAX_CHARS, required=True, strip=True)
    if session.get(Draft, draft_id) is None:
        raise NotFoundError("No such draft.")
    comment = Comment(draft_id=draft_id, author_id=saved_id(author), body=body)
    session.add(comment)
    session.commit()
    return comment


def comments_for(*, session: Session, draft_id: int) -> list[tuple[Comment, str]]:
    return comments_for_drafts(session=session, draft_ids=[draft_id]).get(draft_id, [])


def comments_for_drafts(*, session: Session, draft_ids: Iterable[int]) -> dict[int, list[tuple[Comment, str]]]:
    """{draft id: [(comment, author's user name), ...] oldest first} for the drafts that have comments."""
    ids = list(draft_ids)
    out: dict[int, list[tuple[Comment, str]]] = {}
    for chunk in chunks(ids):
        query = (
            select(Comment, User.username)
            .join(User, col(User.id) == Comment.author_id)
            .where(col(Comment.draft_id).in_(chunk))
            .order_by(col(Comment.id))
        )
        for comment, username in session.exec(query):
            out.setdefault(comment.draft_id, []).append((comment, username))
    return out
