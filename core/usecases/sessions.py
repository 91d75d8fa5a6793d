"""Writing sessions: create, rename, delete, and choose the provider of the next drafts.

The session's turns and drafts are written through core.usecases.writing; a session is opened
by its public ID, which only its owner (and editors, admins) may use.
"""

from __future__ import annotations

from dataclasses import replace

from core.platform.db import open_session
from core.platform.models import User, WritingSession
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
    with open_session(runtime.engine) as db:
        writing_session = sessions.get_session(session=db, user=user, public_id=public_id)
        turns = sessions.list_turns(session=db, writing_session=writing_session)
        reviews = [view.review for turn in turns for view in turn.drafts if view.review is not None]
        hidden = first_decision_hidden(session=db, viewer=user, items=reviews)
        if not hidden:
            return writing_session, turns
        return writing_session, [replace(turn, drafts=[_blinded(view, hidden) for view in turn.drafts]) for turn in turns]


def _blinded(view: sessions.DraftView, hidden: set[int]) -> sessions.DraftView:
    if view.review is None or view.review.id not in hidden:
        return view
    return replace(view, review=None, blind=True)


def open_writing_session(runtime: Runtime, user: User, *, public_id: str) -> WritingSession:
    """The session with this public ID if the user may open it (NotFoundError otherwise)."""
    with open_session(runtime.engine) as db:
        return sessions.get_session(session=db, user=user, public_id=public_id)
