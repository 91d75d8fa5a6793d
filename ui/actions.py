"""Running a use case (or a core action) from a page: its user message is shown on failure, never a traceback.

    run_use_case(core.usecases.accounts.set_role, actor_id=user.id, username=..., role=...)
        -> Done(its result), or None after st.error showed why it failed
    run_action(core_function, **kwargs)   the same for a core function taking `session=`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import streamlit as st

from core.platform.db import open_session
from core.platform.errors import DraftgateError
from ui import resources
from ui.i18n import error_text
from ui.safe import md

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """A finished action (always true, whatever its value)."""

    value: T


def run_use_case(use_case: Callable[..., T], *args: Any, **kwargs: Any) -> Done[T] | None:
    """use_case(<the app's runtime>, *args, **kwargs): Done(result), or None after showing why it failed."""
    return _shown(lambda: use_case(resources.runtime(), *args, **kwargs))


def run_action(action: Callable[..., T], **kwargs: Any) -> Done[T] | None:
    """action(session=<a database session>, **kwargs): Done(result), or None after showing why it failed."""
    return _shown(lambda: _in_session(action, kwargs))


def _in_session(action: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with open_session(resources.engine()) as db:
        return action(session=db, **kwargs)


def _shown(call: Callable[[], T]) -> Done[T] | None:
    try:
        return Done(call())
    except DraftgateError as err:
        st.error(md(error_text(err)))
        return None


