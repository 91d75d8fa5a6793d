"""The review queue's filters as SQL, shared by the list (core.review.queue) and by what opens
or is claimed next (core.review.claims), so that both pick from the same items.

    has_reason(reason)                     the item carries this reason
    on_drafts(query)                       joins what the draft filters read (draft, turn, session)
    draft_filters(language=, writer_id=)   the draft's detected language, the writer of its session
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text, cast
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from core.platform.errors import InvalidInputError
from core.platform.models import Draft, ReviewItem, Turn, WritingSession
from core.scoring.language import LANGUAGES


def has_reason(reason: str) -> ColumnElement[bool]:
    """SQL: the item's reasons (a JSON list of names, stored as text) hold this one."""
    return cast(ReviewItem.reasons, Text).contains(json.dumps(reason), autoescape=True)


def on_drafts(query: Any) -> Any:
    """The query joined with each item's draft, turn and writing session (by their keys)."""
    return (query.join(Draft, col(Draft.id) == ReviewItem.draft_id)
            .join(Turn, col(Turn.id) == Draft.turn_id)
            .join(WritingSession, col(WritingSession.id) == Turn.session_id))


def draft_filters(*, language: str | None = None, writer_id: int | None = None) -> list[ColumnElement[bool]]:
    """SQL on a query joined by on_drafts: the draft is in this language (core.scoring.language's
    names), its session is this writer's."""
    where: list[ColumnElement[bool]] = []
    if language:
        if language not in LANGUAGES:
            raise InvalidInputError(f"A language is one of {', '.join(LANGUAGES)}.")
        where.append(col(Draft.language) == language)
    if writer_id is not None:
        where.append(col(WritingSession.owner_id) == writer_id)
    return where


def wants_drafts(*, language: str | None, writer_id: int | None) -> bool:
    """Whether the draft filters filter anything (a query without them needs no join)."""
    return bool(language) or writer_id is not None
