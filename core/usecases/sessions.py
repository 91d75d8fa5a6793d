"""Writing sessions: create, rename, delete, and choose the provider of the next drafts.

The session's turns and drafts are written through core.usecases.writing; a session is opened
by its public ID, which only its owner (and editors, admins) may use.
"""

from __future__ import annotations

from dataclasses import replace

from core.platform.db import open_session, saved_id
from core.platform.models import Comment, User, WritingSession
from core.review.comments import comments_for_drafts
from core.review.second import first_decision_hidden
from core.runtime import Runtime
from core.writing import sessions
from core.writing.sessions import shown_title as shown_title  # the name of an untitled session, for the edge


def create_session(runtime: Runtime, owner: User, *, project_id: int, title: str = "") -> WritingSession:
    """A new session in the project ("" title: untitled, named by its start), with the default parameters."""
    with open_session(runtime.engine) as db:
        return sessions.create_session(session=db, owner=owner, project_id=project_id, title=title)


def rename_session(runtime: Runtime, user: User, *, public_id: str, title: str) -> WritingSession:
    with open_session(runtime.engine) as db:
        return sessions.rename_session(session=db, user=user, public_id=public_id, title=title)


def delete_session(runtime: Runtime, user: User, *, public_id: str) -> None:
    """The session with its turns, drafts, scores, reviews, comments and the copies of its text."""
    with open_session(runtime.engine) as db:
        sessions.delete_session(session=db, user=user, public_id=public_id)


def choose_provider(runtime: Runtime, user: User, *, public_id: str, provider_name: str) -> None:
    """The provider of the session's next drafts: "" for the default, else a registered one's name."""
    with open_session(runtime.engine) as db:
        sessions.set_provider(session=db, user=user, public_id=public_id, provider_name=provider_name)


def session_turns(runtime: Runtime, user: User, *, public_id: str) -> tuple[WritingSession, list[sessions.TurnView]]:
    """A session open to the user (its owner, editors, admins) with its turns, drafts, scores and reviews."""
    writing_session, turns, _ = session_page(runtime, user, public_id=public_id)
    return writing_session, turns


Comments = dict[int, list[tuple[Comment, str]]]  # draft id -> (comment, author's name), oldest first


def session_page(runtime: Runtime, user: User, *, public_id: str
                 ) -> tuple[WritingSession, list[sessions.TurnView], Comments]:
    """The session as the Write page shows it: its turns (as session_turns) and its drafts'
    comments. Where the user must not see a draft's first decision (core.review.second: they may
    take its blind second review) its review is left out, and its first reviewer's comments,
    which may say the verdict."""
    with open_session(runtime.engine) as db:
        writing_session = sessions.get_session(session=db, user=user, public_id=public_id)
        turns = sessions.list_turns(session=db, writing_session=writing_session)
        comments = comments_for_drafts(session=db, draft_ids=[saved_id(view.draft) for turn in turns for view in turn.drafts])
        reviews = [view.review for turn in turns for view in turn.drafts if view.review is not None]
        hidden = first_decision_hidden(session=db, viewer=user, items=reviews)
    if not hidden:
        return writing_session, turns, comments
    for review in reviews:
        if review.id in hidden and review.draft_id in comments:
            comments[review.draft_id] = [(c, name) for c, name in comments[review.draft_id]
                                         if c.author_id != review.decided_by_id]
    blinded = [replace(turn, drafts=[_blinded(view, hidden) for view in turn.drafts]) for turn in turns]
    return writing_session, blinded, comments


def newest_draft(runtime: Runtime, user: User, *, public_id: str) -> int:
    """The ID of the session's newest draft (0: none), one small query: a page compares it with
    the newest it shows to notice a turn started in another tab or on another device."""
    with open_session(runtime.engine) as db:
        return sessions.newest_draft_id(session=db, user=user, public_id=public_id)


def _blinded(view: sessions.DraftView, hidden: set[int]) -> sessions.DraftView:
    if view.review is None or view.review.id not in hidden:
        return view
    return replace(view, review=None, blind=True)


def open_writing_session(runtime: Runtime, user: User, *, public_id: str) -> WritingSession:
    """The session with this public ID if the user may open it (NotFoundError otherwise)."""
    with open_session(runtime.engine) as db:
        return sessions.get_session(session=db, user=user, public_id=public_id)
